"""Writing files the safe way: private, atomic, never outside the folder they belong in."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import hashlib
import os
import re
import shutil
import stat
import tempfile
import threading
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from anyascii import anyascii

from musforms.errors import MusformsError
from musforms.i18n import _

FILE_MODE = 0o600
DIR_MODE = 0o700

_TRANSLIT = {"æ": "ae", "ø": "oe", "å": "aa", "Æ": "Ae", "Ø": "Oe", "Å": "Aa", "ß": "ss"}


def slug(text: str, limit: int = 60) -> str:
    """A readable, safe file-name part: ``Søren Ærø`` → ``soeren-aeroe``, ``Мария Иванова``
    → ``mariya-ivanova``, ``王小明`` → ``wangxiaoming``; never empty.

    Danish letters are written the Danish way; every other script is transliterated by
    anyascii (``Νίκος`` → ``nikos``), so a name in any script gives a name one can tell apart.
    Names that come out the same (``Lærke``, ``Laerke``) still get one file each: the file
    name starts with the employee id."""
    return _file_part(anyascii(_danish(text)), limit)


def earlier_slug(text: str, limit: int = 60) -> str:
    """:func:`slug` as it was before other scripts were transliterated (``Мария`` → ``x``):
    the name of files earlier runs wrote, for those that must find them (purge)."""
    return _file_part(_danish(text), limit)


def _danish(text: str) -> str:
    for src, dst in _TRANSLIT.items():
        text = text.replace(src, dst)
    return text


def _file_part(text: str, limit: int) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return text[:limit].strip("-") or "x"


@functools.lru_cache(maxsize=1 << 16)  # asked for many times over per employee in a run
def id_slug(employee_id: str, limit: int = 40) -> str:
    """An employee id as a file-name part, one file per id: ``1042`` stays ``1042``; an id
    that would be changed (``../../x``, ``..``, ``Anne/Marie``) gets a short digest of the
    id, so two ids never share a file.

    Ids are not transliterated: the response file of an id (``responses/<id>.json``) keeps
    the name earlier runs gave it."""
    part = _file_part(_danish(employee_id), limit)
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
        raise MusformsError(_("unsafe file name {name!r}").format(name=name))
    target = folder / name
    # A plain name in a folder stays in it unless it is a link: only then is it followed
    # (one lstat per name instead of resolving every part of both paths).
    if os.path.islink(target) and target.resolve().parent != folder.resolve():
        raise MusformsError(_("unsafe file name {name!r}").format(name=name))
    return target


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one step.

    A crash or error leaves the earlier file untouched. The result is mode 0600. The temporary
    file is named as musforms' own (:data:`PARTIAL_PREFIX`) and held by this process while it
    is written, so that a run killed halfway leaves a file the next run (or ``musforms
    purge``) knows it may remove, while a file another run is writing is left alone.
    """
    private_dir(path.parent)
    try:
        tmp_path, held = _held_file(path.parent, f"{PARTIAL_PREFIX}{_name_part(path.name)}.")
    except OSError as exc:
        exc.filename = str(path)  # the file being written, not its temporary twin
        raise
    tmp = str(tmp_path)
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
        os.close(held)


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable by the owner only."""
    with atomic_writer(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


# --- temporary files and scratch folders, and what a killed run leaves of them -----------------
#
# Everything musforms writes holds personal data, its temporary files too: a half-written
# responses.json, the scratch databases of a run (names, e-mail addresses, agreements),
# openpyxl's sheets on their way into agreements.xlsx. They go where the run's output goes: a
# results or forms folder's private space (TMP_FOLDER, mode 0700), or beside their target, not
# into the shared temporary folder; commands that write no folder keep using TMPDIR.
#
# Each is held by the process that made it, with an flock on it, for as long as it is in use.
# A process that dies, however it dies, lets go of it; so whatever is found under one of
# musforms' names, owned by this user and held by no process, was left by a run that did not
# finish, and may go. What another process is writing at the same moment is held, and stays.

TMP_FOLDER = ".musforms-tmp"  # a results or forms folder's private temporary space
CACHE_FOLDER = ".musforms-cache"  # a results folder's private caches, kept between runs
SCRATCH_PREFIX = "musforms-scratch-"  # a run's scratch folder, in that space or in TMPDIR
PARTIAL_PREFIX = ".musforms-partial-"  # a file being written by atomic_writer, beside its target
PARTIAL_SUFFIX = ".tmp"
_NAME_PART = 100  # bytes of the target's name in a partial file's name: the whole stays < 255

# What atomic_writer named its temporary files before they had a prefix of their own:
# ".<target>.<8 characters of tempfile's>.tmp", for a target of a kind musforms writes.
_LEGACY_PARTIAL = re.compile(r"\.(?P<target>.+)\.[a-z0-9_]{8}\.tmp")
_WRITTEN_SUFFIXES = frozenset({".json", ".pdf", ".docx", ".xlsx", ".csv", ".ics", ".yaml"})

_TRIES = 20  # attempts at making a held file or folder while another run sweeps the same place

_space: Path | None = None  # where scratch folders go (see scratch_space); None: TMPDIR
_tempdir_lock = threading.RLock()
_swept_tmpdirs: set[str] = set()


def _name_part(name: str) -> str:
    """The start of ``name``, to name a temporary file by (a file name is at most 255 bytes;
    a character cut in two is left out)."""
    return os.fsencode(name)[:_NAME_PART].decode("utf-8", "ignore")


def is_partial(name: str) -> bool:
    """Whether ``name`` is the name of a temporary file of :func:`atomic_writer`'s."""
    if name.startswith(PARTIAL_PREFIX) and name.endswith(PARTIAL_SUFFIX):
        return True
    legacy = _LEGACY_PARTIAL.fullmatch(name)
    return legacy is not None and Path(legacy["target"]).suffix in _WRITTEN_SUFFIXES


def _hold(fd: int, path: Path) -> bool:
    """Hold ``fd``, just made at ``path``: whether it is still what ``path`` names once held
    (a sweep may have taken it between its making and the lock)."""
    fcntl.flock(fd, fcntl.LOCK_EX)
    return _names(path, fd)


def _names(path: Path, fd: int) -> bool:
    try:
        now = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    held = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)


def _held_file(folder: Path, prefix: str) -> tuple[Path, int]:
    """A new empty file (mode 0600) in ``folder``, and the descriptor that holds it."""
    for _i in range(_TRIES):
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=PARTIAL_SUFFIX, dir=folder)
        if _hold(fd, Path(name)):
            return Path(name), fd
        os.close(fd)
    raise MusformsError(_("could not make a temporary file in {folder}").format(folder=folder))


def _held_folder(root: Path, *, private: bool) -> tuple[Path, int]:
    """A new private folder in ``root``, and the descriptor that holds it."""
    for _i in range(_TRIES):
        try:
            if private:
                _private_space(root)
            name = tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=root)
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except FileNotFoundError:  # another run removed the space or swept the folder: again
            continue
        if _hold(fd, Path(name)):
            return Path(name), fd
        os.close(fd)
    raise MusformsError(_("could not make a temporary folder in {root}").format(root=root))


def _private_space(space: Path) -> None:
    """``space`` as a folder of this user's that only they can open (made if need be)."""
    private_dir(space)
    st = os.stat(space, follow_symlinks=False)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise MusformsError(
            _("{space} is not a folder of musforms': move it away").format(space=space)
        )
    if stat.S_IMODE(st.st_mode) != DIR_MODE:
        os.chmod(space, DIR_MODE)


def _take_if_stale(path: Path, *, folder: bool) -> int | None:
    """A descriptor holding ``path`` when it is this user's, of the kind expected (a folder or
    a plain file, not a link) and held by no live process; else None."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | (os.O_DIRECTORY if folder else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        kind = stat.S_ISDIR(st.st_mode) if folder else stat.S_ISREG(st.st_mode)
        if kind and st.st_uid == os.getuid():
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if _names(path, fd):
                return fd
    except OSError:
        pass
    os.close(fd)
    return None


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as it:
            return list(it)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return []


def _candidates(folder: Path) -> Iterator[tuple[Path, bool]]:
    """What a killed run may have left in ``folder``, as (path, is a folder): scratch folders
    in its private space, and atomic_writer's temporary files in it and in its folders
    (responses, minutes, question_sets: musforms writes no deeper)."""
    for entry in _entries(folder / TMP_FOLDER):
        if entry.name.startswith(SCRATCH_PREFIX):
            yield Path(entry.path), entry.is_dir(follow_symlinks=False)
    subfolders = []
    for entry in _entries(folder):
        if entry.is_dir(follow_symlinks=False):
            if entry.name != TMP_FOLDER:
                subfolders.append(entry.path)
        elif is_partial(entry.name):
            yield Path(entry.path), False
    for sub in subfolders:
        for entry in _entries(Path(sub)):
            if is_partial(entry.name) and not entry.is_dir(follow_symlinks=False):
                yield Path(entry.path), False


def find_leftovers(folder: Path) -> list[Path]:
    """The temporary files and scratch folders that runs killed halfway left in ``folder``
    (a results or forms folder): musforms' own, held by no process."""
    found = []
    for path, is_folder in _candidates(folder):
        fd = _take_if_stale(path, folder=is_folder)
        if fd is not None:
            os.close(fd)
            found.append(path)
    return found


def remove_leftovers(folder: Path) -> list[Path]:
    """Remove what :func:`find_leftovers` finds in ``folder``; what was removed."""
    removed = []
    for path, is_folder in _candidates(folder):
        if _remove_if_stale(path, folder=is_folder):
            removed.append(path)
    return removed


def _remove_if_stale(path: Path, *, folder: bool) -> bool:
    fd = _take_if_stale(path, folder=folder)
    if fd is None:
        return False
    try:
        # Removed while held, so that no run takes it for its own meanwhile.
        if folder:
            shutil.rmtree(path)
        else:
            path.unlink()
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _sweep_tmpdir(tmp: str) -> None:
    """Scratch folders that killed runs left in TMPDIR, once per process: only those of this
    version's making (SCRATCH_PREFIX), whose holding says whether a run still uses them."""
    if tmp in _swept_tmpdirs:
        return
    _swept_tmpdirs.add(tmp)
    for entry in _entries(Path(tmp)):
        if entry.name.startswith(SCRATCH_PREFIX) and entry.is_dir(follow_symlinks=False):
            _remove_if_stale(Path(entry.path), folder=True)


_last_space: Path | None = None


def last_space() -> Path | None:
    """The private space of the latest run in this process (still set after it stopped, so
    an error can be told against the disk its scratch files were on)."""
    return _last_space


def current_space() -> Path | None:
    """Where this process makes its scratch folders now (None: in TMPDIR)."""
    return _space


def use_space(space: Path | None) -> None:
    """Make scratch folders in ``space`` from now on: for a worker process, that works for a
    run whose space is ``space``."""
    global _space
    _space = space


@contextlib.contextmanager
def scratch_space(folder: Path, *, sweep: bool = True) -> Iterator[Path]:
    """Let the scratch folders of a run that writes into ``folder`` go into its private space
    (``folder/.musforms-tmp``), after removing what killed runs left there and in ``folder``
    (``sweep``; else the caller does, with :func:`remove_leftovers`, once it holds the
    folder's lock).

    The space is removed when the run is done and it is empty; so is ``folder`` (and the
    folders above it that were made for it) if nothing was written into it."""
    global _space
    made = _missing(folder)
    space = folder.absolute() / TMP_FOLDER  # its databases are opened by URI, from workers too
    if sweep:
        remove_leftovers(folder)
    global _last_space
    earlier, _space = _space, space
    _last_space = space
    try:
        yield space
    finally:
        _space = earlier
        with contextlib.suppress(OSError):
            space.rmdir()
        for empty in made:
            try:
                empty.rmdir()
            except OSError:
                break


def _missing(folder: Path) -> list[Path]:
    """``folder`` and those above it that do not exist, deepest first."""
    missing = []
    p = folder
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    return missing


@contextlib.contextmanager
def scratch_folder() -> Iterator[Path]:
    """A private temporary folder (mode 0700) for a run's working files, removed afterwards
    whatever happens: in the run's private space (see :func:`scratch_space`), else in
    ``TMPDIR``. It is held while in use; a killed run's is removed by the next."""
    space = _space
    if space is None:
        root = tempfile.gettempdir()
        _sweep_tmpdir(root)
        folder, held = _held_folder(Path(root), private=False)
    else:
        folder, held = _held_folder(space, private=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.close(held)


@contextlib.contextmanager
def library_temp_files() -> Iterator[Path]:
    """What a library writes with :mod:`tempfile` meanwhile (openpyxl: each sheet until the
    workbook is saved) goes into a scratch folder of the run's, gone afterwards whatever
    happens, instead of into TMPDIR where a failed write would leave it."""
    with scratch_folder() as folder, _tempdir_lock:
        earlier = tempfile.tempdir
        tempfile.tempdir = str(folder)
        try:
            yield folder
        finally:
            tempfile.tempdir = earlier
