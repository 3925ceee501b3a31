"""The Word pair: a writer of fillable .docx forms (content controls) and their reader."""

from musforms.formats import Format, Probe


def _detect(probe: Probe) -> bool:
    if not probe.is_zip or probe.opendocument() is not None:
        return False
    names = probe.zip_names()
    if any(n.startswith(("xl/", "ppt/")) for n in names):
        return False  # an Excel or PowerPoint file
    return "[Content_Types].xml" in names or any(n.startswith("word/") for n in names)


FORMAT = Format(
    name="docx",
    title="Word",
    suffixes=(".docx", ".docm", ".dotx"),
    detect=_detect,
    reader="musforms.docx.reader:read_docx",
    writer="musforms.docx.writer:DocxFormWriter",
)
