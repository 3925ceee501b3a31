"""What a job changed in a folder before it stopped, so that it can say exactly that.

Every file musforms writes is replaced whole or not at all (``musforms.files.atomic_writer``),
so a job that stops part way (a full disk, a folder it may not write, Ctrl-C) leaves each of
its files either as it was or as this run made it. A :class:`Written` notes how a job's files
stood before it began, and counts the files of a kind it wrote (responses, minutes drafts);
when the job stops, :meth:`Written.told` puts on the exception what was updated and what was
not (:class:`Stopped`), for the command line to say.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from musforms.i18n import _, ngettext

Identity = tuple[int, int, int, int] | None

_ATTRIBUTE = "musforms_stopped"


def identity(path: Path) -> Identity:
    """A file as it is on disk now, or None when there is none: a file replaced since has
    another inode (and mostly another size and time)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass(frozen=True)
class Stopped:
    """What a job had done when it stopped: ``state`` says what was updated and what was not,
    ``changed`` whether anything was, ``again`` what to run to finish the job."""

    state: str
    changed: bool
    again: str


def tell(exc: BaseException, stopped: Stopped) -> None:
    """Put on ``exc`` what the job it stopped had done (the outermost job says it last)."""
    setattr(exc, _ATTRIBUTE, stopped)


def stopped(exc: BaseException) -> Stopped | None:
    """What the job that ``exc`` stopped had done, if it said."""
    found = getattr(exc, _ATTRIBUTE, None)
    return found if isinstance(found, Stopped) else None


@dataclass
class _File:
    name: str
    before: Identity


@dataclass
class _Kind:
    """Files of one kind a job writes many of: how many it wrote, and what the ones it did
    not write are called (None: nothing to say about them)."""

    key: str
    done_text: tuple[str, str]  # singular and plural, with {n}
    rest: str | None
    rest_without: str | None  # when none were written
    had: bool
    count: int = 0
    finished: bool = False


class Written:
    """What ``job`` changed in ``folder`` so far; ``again``: what to run to finish it."""

    def __init__(self, folder: Path, job: str, again: str) -> None:
        self.folder = folder
        self.job = job
        self.again = again
        self._items: list[_File | _Kind] = []

    def files(self, *names: str) -> None:
        """Watch these files of the folder: each is updated once it is not as it is now."""
        known = {item.name for item in self._items if isinstance(item, _File)}
        self._items += [_File(n, identity(self.folder / n)) for n in names if n not in known]

    def kind(
        self,
        key: str,
        subfolder: str,
        done_text: tuple[str, str],
        rest: str | None = None,
        rest_without: str | None = None,
    ) -> None:
        """Count files of a kind, in ``subfolder``: ``done_text`` says those written (``{n}``
        of them; singular and plural, marked by i18n.Nn_), ``rest`` those not (``rest_without`` when
        none were)."""
        if any(isinstance(item, _Kind) and item.key == key for item in self._items):
            return
        try:
            with os.scandir(self.folder / subfolder) as entries:
                had = any(not e.name.startswith(".") for e in entries)
        except OSError:
            had = False
        self._items.append(_Kind(key, done_text, rest, rest_without, had))

    def count(self, key: str, n: int = 1) -> None:
        self._kind(key).count += n

    def finished(self, key: str) -> None:
        """Every file of the kind that needed writing is written."""
        self._kind(key).finished = True

    def _kind(self, key: str) -> _Kind:
        for item in self._items:
            if isinstance(item, _Kind) and item.key == key:
                return item
        raise KeyError(key)

    def stopped(self) -> Stopped:
        updated: list[str] = []
        kept: list[str] = []
        absent: list[str] = []
        for item in self._items:
            if isinstance(item, _File):
                now = identity(self.folder / item.name)
                if now != item.before:
                    updated.append(item.name)
                elif now is not None:
                    kept.append(item.name)
                else:
                    absent.append(item.name)
                continue
            if item.count:
                done = ngettext(*item.done_text, item.count)
                updated.append(done.format(n=item.count))
            if item.finished:
                continue
            rest = item.rest if item.count else item.rest_without
            if rest is not None:
                (kept if item.had else absent).append(_(rest))
        where = self.folder
        if not updated:
            said = _("{job} stopped before it changed anything in {where}.").format(
                job=self.job, where=where
            )
            return Stopped(said, False, self.again)
        parts = [
            _("{job} stopped part way. Already updated in {where}: {updated}.").format(
                job=self.job, where=where, updated=_and(updated)
            )
        ]
        if kept:
            parts.append(_("Still as they were before this run: {kept}.").format(kept=_and(kept)))
        if absent:
            parts.append(_("Not written yet: {absent}.").format(absent=_and(absent)))
        return Stopped(" ".join(parts), True, self.again)

    @contextlib.contextmanager
    def told(self) -> Iterator[Written]:
        """On any exception, say on it what was done (:func:`stopped`), and let it go on."""
        try:
            yield self
        except BaseException as exc:
            tell(exc, self.stopped())
            raise


def _and(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return _("{items} and {last}").format(items=", ".join(items[:-1]), last=items[-1])
