"""One musforms command at a time writes into a folder.

Every command that writes into a results or forms folder (collect, purge, minutes,
generate) holds that folder's lock while it works: a second command refuses at once with a
line saying who holds it, instead of both writing and the last one winning. The lock is an
``flock`` on ``.musforms.lock`` in the folder; the system lets go of it when its process
ends in any way, so a killed run never leaves a folder locked.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from musforms.errors import MusformsError
from musforms.files import FILE_MODE, private_dir
from musforms.i18n import _

LOCK_FILE = ".musforms.lock"


class FolderBusyError(MusformsError):
    """Raised when another musforms command is writing into the same folder."""


@contextlib.contextmanager
def folder_lock(folder: Path, command: str) -> Iterator[None]:
    """Hold ``folder``'s lock while ``command`` (e.g. "collect") writes into it."""
    private_dir(folder)
    path = folder / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
    except OSError as exc:
        if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise
        raise MusformsError(
            _(
                "cannot write into {folder}: {strerror}. musforms {command} "
                "stopped before it changed anything there. Fix the cause (the "
                "folder's permissions, a disk read-only or not there), then run "
                "{command} again"
            ).format(folder=folder, strerror=exc.strerror, command=command)
        ) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another run"
            raise FolderBusyError(
                _(
                    "{folder} is in use by another musforms command ({holder}); wait "
                    "until it has finished, then run {command} again"
                ).format(folder=folder, holder=holder, command=command)
            ) from None
        now = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")
        note = f"'musforms {command}', process {os.getpid()}, started {now}".encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, note, 0)
        yield
    finally:
        os.close(fd)
