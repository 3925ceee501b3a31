"""OpenDocument text: a Word form that was saved as .odt (LibreOffice), read back; no writer."""

from musforms.formats import Format, Probe

TEXT_MEDIA_TYPE = "application/vnd.oasis.opendocument.text"


def _detect(probe: Probe) -> bool:
    media = probe.opendocument()
    if media is not None:
        return media == TEXT_MEDIA_TYPE
    # A package re-zipped by another tool may no longer store "mimetype" first; its parts
    # still say what it is, and the reader checks the media type they name.
    names = probe.zip_names()
    return "content.xml" in names and "META-INF/manifest.xml" in names


FORMAT = Format(
    name="odt",
    title="OpenDocument",
    suffixes=(".odt",),
    detect=_detect,
    reader="musforms.odt.reader:read_odt",
)
