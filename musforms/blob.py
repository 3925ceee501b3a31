"""A returned file held in memory: a mail attachment, read where it was found and never
written to disk.

Readers take a :data:`Source`, a file on disk (a ``Path``) or a :class:`Blob`. A blob
answers the few things a reader asks of a file (its name for messages, its size, its
bytes); its name is what the sender called it, shown as text and never used as a path.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO


@dataclass(frozen=True)
class _Size:
    st_size: int


@dataclass(frozen=True)
class Blob:
    """A file's bytes and the name it came with (an attachment's file name, as text)."""

    name: str
    data: bytes

    @property
    def suffix(self) -> str:
        """The name's ending (``.pdf``), as a ``Path`` gives it, for the messages that say
        what a file claimed to be."""
        base = self.name.replace("\\", "/").rpartition("/")[2]
        stem, dot, ending = base.rpartition(".")
        return f".{ending}" if dot and stem and ending else ""

    def stat(self) -> _Size:
        return _Size(len(self.data))

    def open(self, mode: str = "rb") -> BinaryIO:
        if mode != "rb":
            raise ValueError("a file held in memory is only read")
        return io.BytesIO(self.data)

    def read_bytes(self) -> bytes:
        return self.data


Source = Path | Blob


def as_stream(source: Source) -> str | BinaryIO:
    """What a library that opens a file (zipfile) is given: the path of a file on disk, the
    bytes of one in memory."""
    if isinstance(source, Blob):
        return io.BytesIO(source.data)
    return os.fspath(source)
