"""How much one returned file may cost to read: one set of bounds, given to every reader.

collect makes one :class:`Limits` from its options and hands it to every reader and every
source of files, so a bound HR raises on the command line is the bound each reader keeps.
Sizes are in MB of 1,000,000 bytes everywhere (in ``--help`` and in every message).
"""

from __future__ import annotations

from dataclasses import dataclass

MB = 1_000_000


def mb(size: int) -> str:
    """A size as HR reads it: ``52 MB`` (rounded up, so a file just over a limit never
    shows as equal to it)."""
    return f"{-(-size // MB)} MB"


@dataclass(frozen=True)
class Limits:
    """Bounds on reading one returned file; past any of them the file is refused as unsafe."""

    max_bytes: int = 50 * MB  # the file itself
    seconds: int = 60  # time spent reading it
    pages: int = 100  # a returned form has a handful
    fields: int = 20_000  # PDF widgets, Word or ODT controls
    zip_entries: int = 2000  # parts of a .docx / .odt package
    zip_part_bytes: int = 64 * MB  # one part, unpacked
    zip_total_bytes: int = 256 * MB  # all parts, unpacked
    zip_ratio: int = 200  # unpacked / packed, for parts over 1 MB
    stream_bytes: int = 8 * MB  # one decoded PDF stream
    memory_bytes: int = 256 * MB  # what reading one file may add to the process's memory

    def too_large(self, size: int) -> str | None:
        """Why a file of ``size`` bytes is refused, or None when it may be read."""
        if size <= self.max_bytes:
            return None
        return (
            f"the file is {mb(size)}, more than the {mb(self.max_bytes)} a returned form may "
            "be (--max-size); ask for the form alone, without attachments or scanned pages"
        )


DEFAULT_LIMITS = Limits()
