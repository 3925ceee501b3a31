"""A full disk, whatever exception it comes as, and which disk it is.

Writing on a full disk raises OSError (``ENOSPC``, or ``EDQUOT`` over a quota), but not
always: the scratch databases raise sqlite3.OperationalError ("database or disk is full"),
and openpyxl's write-only sheets, which wait in the temporary folder while agreements.xlsx
is made, raise lxml's SerialisationError (``IO_ENOSPC``). :func:`no_space` finds the full
disk behind any of them, as an OSError that names the file or folder and pickles (so that a
worker process can send it back: lxml's errors cannot be pickled, and would come back as a
TypeError that says nothing).
"""

from __future__ import annotations

import errno
import os
import sqlite3
import tempfile
from pathlib import Path

FULL = (errno.ENOSPC, errno.EDQUOT)
# What the temporary files of a run are called in the temporary folder: the scratch folders
# (musforms.files.scratch_folder), openpyxl's sheets, Python's own.
_TEMPORARY = ("musforms-", "openpyxl.", "tmp")


def no_space(exc: BaseException) -> OSError | None:
    """The full disk behind ``exc`` (or behind what caused it), else None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in FULL:
            return current
        if isinstance(current, sqlite3.Error) and _sqlite_full(current):
            # A scratch database lives in the run's private space beside its results or
            # forms (musforms.files.scratch_space), else in the temporary folder.
            from musforms.files import last_space

            space = last_space()
            if space is not None:
                return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(space))
            return in_temporary_folder()
        if type(current).__name__ == "SerialisationError" and "ENOSPC" in str(current):
            # lxml writes files only for openpyxl's write-only sheets, in the temporary
            # folder; forms and minutes are serialised in memory.
            return in_temporary_folder()
        current = current.__cause__ or current.__context__
    return None


def _sqlite_full(exc: sqlite3.Error) -> bool:
    return getattr(
        exc, "sqlite_errorname", None
    ) == "SQLITE_FULL" or "database or disk is full" in str(exc)


def in_temporary_folder() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), temporary_folder())


def temporary_folder() -> str:
    """The temporary folder musforms works in: ``TMPDIR``, else the system's."""
    return tempfile.gettempdir()


def is_temporary(filename: str | os.PathLike[str] | None) -> bool:
    """Whether a file named in an error is one of a run's temporary files (or their folder)."""
    if filename is None:
        return False
    folder = Path(temporary_folder())
    path = Path(os.fsdecode(filename))
    if path == folder:
        return True
    try:
        first = path.relative_to(folder).parts[0]
    except (ValueError, IndexError):
        return False
    return first.startswith(_TEMPORARY)


def raise_if_full(exc: BaseException) -> None:
    """When ``exc`` is a full disk in another guise, raise it as the OSError :func:`no_space`
    finds (which pickles, so a worker process can send it back); else return, for the caller
    to raise ``exc`` as it is."""
    full = no_space(exc)
    if full is not None and full is not exc:
        raise full from None
