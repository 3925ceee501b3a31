"""Writing files the safe way: private, atomic, never outside the folder they belong in."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import stat
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from musforms.errors import MusformsError

FILE_MODE = 0o600
DIR_MODE = 0o700

_TRANSLIT = {"æ": "ae", "ø": "oe", "å": "aa", "Æ": "Ae", "Ø": "Oe", "Å": "Aa", "ß": "ss"}


def slug(text: str, limit: int = 60) -> str:
    """A readable, safe file-name part: ``Søren Ærø`` → ``soeren-aeroe``; never empty."""
    for src, dst in _TRANSLIT.items():
        text = text.replace(src, dst)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return text[:limit].strip("-") or "x"


def id_slug(employee_id: str, limit: int = 40) -> str:
    """An employee id as a file-name part, one file per id: ``1042`` stays ``1042``; an id
    that :func:`slug` would change (``../../x``, ``..``, ``Anne/Marie``) gets a short digest
    of the id, so two ids never share a file."""
    part = slug(employee_id, limit)
    if part == employee_id:
        return part
    tag = hashlib.sha256(employee_id.encode("utf-8")).hexdigest()[:8]
    return f"{part[: max(1, limit - 9)].strip('-') or 'x'}-{tag}"


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents it creates) readable by the owner only."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        d.mkdir(mode=DIR_MODE, exist_ok=True)
        os.chmod(d, DIR_MODE)
    return path


def private_folder(path: Path) -> str | None:
    """``path`` made as :func:`private_dir` makes it; a folder that is already there and open
    to other users (any group or other permission bit, e.g. 0777 or 0755) is made its owner's
    alone (0700) first. What HR should know about it, or None: the folder made private, with
    its old and new mode, or that it could not be (a disk that keeps no modes, a folder of
    another user)."""
    existed = path.is_dir()
    private_dir(path)
    if not existed or os.name != "posix":
        return None
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & 0o077:
        return None
    with contextlib.suppress(OSError):
        os.chmod(path, DIR_MODE)
    now = stat.S_IMODE(path.stat().st_mode)
    if now & 0o077:
        return (
            f"the folder {path} is open to other users (mode {mode:04o}) and could not be "
            "made private: check who can read it, or use a folder of your own"
        )
    return (
        f"the folder {path} was open to other users; musforms made it yours alone "
        f"(mode {mode:04o} → {now:04o})"
    )


def private_folders(folder: Path, *subfolders: str) -> list[str]:
    """:func:`private_folder` for ``folder`` and for those of its ``subfolders`` that exist:
    what HR should know about them."""
    said = [private_folder(folder)]
    said += [private_folder(folder / name) for name in subfolders if (folder / name).is_dir()]
    return [s for s in said if s is not None]


def inside(folder: Path, name: str) -> Path:
    """``folder/name``, refusing any name that would land outside ``folder``."""
    if not name or "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        raise MusformsError(f"unsafe file name {name!r}")
    target = folder / name
    # A plain name in a folder stays in it unless it is a link: only then is it followed
    # (one lstat per name instead of resolving every part of both paths).
    if target.is_symlink() and target.resolve().parent != folder.resolve():
        raise MusformsError(f"unsafe file name {name!r}")
    return target


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one step.

    A crash or error leaves the earlier file untouched. The result is mode 0600.
    """
    private_dir(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        exc.filename = str(path)  # the file being written, not its temporary twin
        raise
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, FILE_MODE)
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    except OSError as exc:
        if exc.filename == tmp or (exc.errno in (errno.ENOSPC, errno.EDQUOT) and not exc.filename):
            exc.filename = str(path)  # the file being written (a write names none at all)
        raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable by the owner only."""
    with atomic_writer(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def scratch_folder() -> Iterator[Path]:
    """A private temporary folder (mode 0700, under ``TMPDIR``) for a run's working files,
    removed afterwards whatever happens."""
    folder = Path(tempfile.mkdtemp(prefix="musforms-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
