"""What reading returned files needs (the key, the issued forms, the limits) and what reading
one file gives."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from musforms.collect.cache import ReadCache, Row
from musforms.files import scratch_folder
from musforms.limits import DEFAULT_LIMITS, Limits
from musforms.manifest import MANIFEST, iter_manifest_forms, manifest_head
from musforms.models import FormKind
from musforms.report import FileEntry
from musforms.response import Response
from musforms.workdb import IssuedIndex


@dataclass(frozen=True)
class Context:
    """What reading one file needs; sent once to each worker process.

    The issued forms stay on disk in ``index`` (see musforms.workdb): a worker looks up the
    form a file claims to be, and nothing of the round is copied into each process.
    """

    key: bytes
    index: IssuedIndex
    forms_dir: Path
    limits: Limits = DEFAULT_LIMITS
    cache: ReadCache | None = None  # what earlier runs read (musforms.collect.cache)
    # The kind of form this pass collects; a signed form of another kind is left to the
    # pass for its kind (FileResult.elsewhere), not reported here.
    kind: FormKind = "preparation"

    @property
    def cycle(self) -> str:
        return self.index.cycle


@contextlib.contextmanager
def open_context(
    key: bytes,
    forms_dir: Path,
    *,
    roster: Path | None = None,
    limits: Limits = DEFAULT_LIMITS,
    cache: ReadCache | None = None,
    kind: FormKind = "preparation",
    elsewhere: Sequence[Path] = (),
) -> Iterator[Context]:
    """The context for reading files returned for the forms in ``forms_dir``, with its index
    of issued forms in a private temporary folder that is removed afterwards. ``elsewhere``:
    the forms folders of the round's forms of another kind (its conclusion forms), which
    passes of their own collect."""
    head = manifest_head(forms_dir)
    roster_ids: Iterable[str] | None = None
    if roster is not None:
        from musforms.roster import load_roster

        roster_ids = [e.id for e in load_roster(roster)]
    with scratch_folder() as scratch:
        others = (
            f.form_id for folder in elsewhere if (folder / MANIFEST).is_file()
            for f in iter_manifest_forms(folder)
        )  # fmt: skip
        index = IssuedIndex.build(
            scratch / "issued.sqlite", head.cycle, iter_manifest_forms(forms_dir), roster_ids,
            others,
        )  # fmt: skip
        del roster_ids
        try:
            yield Context(key, index, forms_dir, limits, cache, kind)
        finally:
            index.close()


@dataclass
class FileResult:
    entry: FileEntry
    response: Response | None = None
    text: str | None = None  # the response as its file holds it, made where it was read
    # Whether the file's signed identity verified with the key in use (None: it has none).
    key_ok: bool | None = None
    # What the cache this run leaves keeps of it (musforms.collect.cache): (table, key, JSON).
    rows: list[Row] = field(default_factory=list)
    cached: bool = False  # what the file gives came from the cache, not from reading it
    # A signed form of another kind than the pass collects (a conclusion among preparations):
    # not put on record by this pass, but handed to the pass of its kind.
    elsewhere: bool = False

    def shipped(self) -> FileResult:
        """What a worker sends back: the response as text only, cheaper to pass between
        processes than the model, and serialised on the worker's core."""
        return FileResult(
            self.entry, None, self.text, self.key_ok, self.rows, self.cached, self.elsewhere
        )
