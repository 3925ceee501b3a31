"""The PDF pair: a fillable AcroForm writer and a reader that returns what was typed."""

from musforms.formats import Format, Probe


def _detect(probe: Probe) -> bool:
    # Viewers accept a header anywhere in the first KiB; so does the reader.
    return b"%PDF-" in probe.head[:1024]


FORMAT = Format(
    name="pdf",
    title="PDF",
    suffixes=(".pdf",),
    detect=_detect,
    reader="musforms.pdf.reader:read_pdf",
    writer="musforms.pdf.writer:PdfFormWriter",
)
