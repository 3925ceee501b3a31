"""Files are written privately and atomically, and names never leave their folder."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from musforms.errors import MusformsError
from musforms.files import (
    PARTIAL_PREFIX,
    SCRATCH_PREFIX,
    TMP_FOLDER,
    atomic_writer,
    find_leftovers,
    inside,
    is_partial,
    remove_leftovers,
    scratch_folder,
    scratch_space,
    slug,
    write_text,
)


def test_slug_is_readable_and_safe() -> None:
    assert slug("Søren Ærø") == "soeren-aeroe"
    assert slug("../../x") == "x"
    assert slug("Anne/Marie") == "anne-marie"
    assert slug("Zoë Ñúñez") == "zoe-nunez"
    assert slug("////") == "x"


@pytest.mark.parametrize("name", ["../x", "a/b", "..", "", "a\\b"])
def test_inside_refuses_names_that_leave_the_folder(tmp_path: Path, name: str) -> None:
    with pytest.raises(MusformsError):
        inside(tmp_path, name)


def test_inside_refuses_a_link_that_leaves_the_folder(tmp_path: Path) -> None:
    folder, elsewhere = tmp_path / "results", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    (folder / "out.json").symlink_to(elsewhere / "out.json")
    (folder / "here.json").symlink_to(folder / "other.json")
    with pytest.raises(MusformsError):
        inside(folder, "out.json")
    assert inside(folder, "here.json") == folder / "here.json"
    assert inside(folder, "new.json") == folder / "new.json"


def test_written_files_are_private(tmp_path: Path) -> None:
    target = tmp_path / "new" / "deeper" / "r.json"
    write_text(target, "{}")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(target.parent.parent.stat().st_mode) == 0o700


def test_a_failed_write_keeps_the_earlier_file(tmp_path: Path) -> None:
    """An error halfway leaves the old content and no temporary file behind."""
    target = tmp_path / "report.json"
    write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_writer(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


# --- what killed runs leave, and what is left alone --------------------------------------------

WRITING = """
    import sys
    from pathlib import Path
    from musforms.files import atomic_writer, scratch_folder, scratch_space

    target = Path(sys.argv[1])
    if sys.argv[2] == "file":
        with atomic_writer(target) as tmp:
            tmp.write_text("halvt skrevet")
            print(tmp, flush=True)
            sys.stdin.read()  # until the test lets go
    else:
        with scratch_space(target), scratch_folder() as folder:
            (folder / "issued.sqlite").write_text("navne")
            print(folder, flush=True)
            sys.stdin.read()
"""


@contextlib.contextmanager
def _another_run(target: Path, kind: str) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """Another process, writing ``target`` (kind "file") or with a scratch folder in the
    private space of the folder ``target`` (kind "folder"), until its stdin closes."""
    run = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(WRITING), str(target), kind],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert run.stdin is not None and run.stdout is not None
    try:
        yield run, Path(run.stdout.readline().strip())
    finally:
        if run.poll() is None:
            run.kill()
        run.wait()
        run.stdin.close()
        run.stdout.close()


def test_what_another_process_is_writing_is_left_alone(tmp_path: Path) -> None:
    """A file another run is writing at this moment is not a leftover; once that run is
    killed, it is."""
    target = tmp_path / "responses.json"
    with _another_run(target, "file") as (run, partial):
        assert partial.parent == tmp_path and is_partial(partial.name)
        assert find_leftovers(tmp_path) == [] and remove_leftovers(tmp_path) == []
        with scratch_space(tmp_path):
            pass
        assert partial.read_text() == "halvt skrevet"
        run.kill()
        run.wait()
        assert find_leftovers(tmp_path) == [partial]
        assert remove_leftovers(tmp_path) == [partial]
    assert list(tmp_path.iterdir()) == []


def test_a_write_another_process_finishes_while_this_one_sweeps_lands(tmp_path: Path) -> None:
    target = tmp_path / "responses.json"
    with _another_run(target, "file") as (run, _):
        assert remove_leftovers(tmp_path) == []
        assert run.stdin is not None
        run.stdin.close()
        assert run.wait() == 0
    assert target.read_text() == "halvt skrevet"
    assert [p.name for p in tmp_path.iterdir()] == ["responses.json"]


def test_a_scratch_folder_another_process_uses_is_left_alone(tmp_path: Path) -> None:
    results = tmp_path / "results"
    with _another_run(results, "folder") as (run, folder):
        assert folder.parent == results / TMP_FOLDER
        assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o700
        assert find_leftovers(results) == []
        with scratch_space(results), scratch_folder() as mine:
            assert mine.parent == folder.parent
        assert (folder / "issued.sqlite").read_text() == "navne"
        run.kill()
        run.wait()
        assert find_leftovers(results) == [folder]
        with scratch_space(results):
            assert not folder.exists()
    assert not (results / TMP_FOLDER).exists()


def test_only_musforms_own_leftovers_are_removed(tmp_path: Path) -> None:
    """Only musforms' names, plain files and folders, the folder and one level below it; never
    a link (nor what it points to), nor a name that is not musforms'."""
    results, elsewhere = tmp_path / "results", tmp_path / "elsewhere"
    (results / "responses" / "deeper").mkdir(parents=True)
    (results / TMP_FOLDER / f"{SCRATCH_PREFIX}dead").mkdir(parents=True)
    (results / TMP_FOLDER / f"{SCRATCH_PREFIX}dead" / "ledger.sqlite").write_text("x")
    (elsewhere / "folder").mkdir(parents=True)
    (elsewhere / "folder" / "keep.txt").write_text("keep")
    (elsewhere / "keep.json").write_text("keep")
    ours = [
        results / f"{PARTIAL_PREFIX}responses.json.abcd1234.tmp",
        results / ".report.json.k3j_5h6g.tmp",  # as musforms named them before
        results / "responses" / ".1042.json.abcdefgh.tmp",
        results / "responses" / f"{PARTIAL_PREFIX}1043.json.abcdefgh.tmp",
    ]
    for path in ours:
        path.write_text("halvt")
    kept = [
        results / "notes.tmp",
        results / ".responses.json.bak",
        results / ".notes.txt.abcdefgh.tmp",  # not a kind of file musforms writes
        results / "musforms-partial-x.json.abcdefgh.tmp",  # no leading dot
        results / "responses" / "deeper" / f"{PARTIAL_PREFIX}x.json.abcdefgh.tmp",
        results / TMP_FOLDER / "notes.txt",
    ]
    for path in kept:
        path.write_text("keep")
    (results / f"{PARTIAL_PREFIX}dir.json.abcdefgh.tmp").mkdir()
    kept.append(results / f"{PARTIAL_PREFIX}dir.json.abcdefgh.tmp")
    links = {
        results / f"{PARTIAL_PREFIX}link.json.abcdefgh.tmp": elsewhere / "keep.json",
        results / TMP_FOLDER / f"{SCRATCH_PREFIX}link": elsewhere / "folder",
    }
    for link, target in links.items():
        link.symlink_to(target)
    removed = remove_leftovers(results)
    assert sorted(removed) == sorted([*ours, results / TMP_FOLDER / f"{SCRATCH_PREFIX}dead"])
    assert all(p.exists() for p in kept)
    assert all(link.is_symlink() for link in links)
    assert (elsewhere / "keep.json").read_text() == "keep"
    assert (elsewhere / "folder" / "keep.txt").read_text() == "keep"


def test_stale_scratch_folders_in_tmpdir_go_with_the_next_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command that writes into no folder keeps its scratch in TMPDIR; what a killed one
    left there goes when the next one makes its own, unless it is another version's (whose
    use cannot be told) or not a folder."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    (tmp / f"{SCRATCH_PREFIX}dead").mkdir()
    (tmp / f"{SCRATCH_PREFIX}dead" / "outputs.sqlite").write_text("navne")
    (tmp / "musforms-abcdefgh").mkdir()  # made by an earlier version
    (tmp / f"{SCRATCH_PREFIX}file").write_text("keep")
    with scratch_folder() as folder:
        assert folder.parent == tmp
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert sorted(p.name for p in tmp.iterdir()) == ["musforms-abcdefgh", f"{SCRATCH_PREFIX}file"]


def test_the_private_space_must_be_a_folder_of_musforms(tmp_path: Path) -> None:
    results, elsewhere = tmp_path / "results", tmp_path / "elsewhere"
    results.mkdir()
    elsewhere.mkdir()
    (results / TMP_FOLDER).symlink_to(elsewhere)
    with (
        pytest.raises(MusformsError, match="not a folder of musforms"),
        scratch_space(results),
        scratch_folder(),
    ):
        pass
    assert list(elsewhere.iterdir()) == []


def test_a_long_name_gets_a_temporary_file_all_the_same(tmp_path: Path) -> None:
    """A file name is at most 255 bytes; the temporary file's name holds the start of its
    target's, cut by bytes, so a target of 245 bytes (€ is three) still gets one."""
    target = tmp_path / ("€" * 80 + ".json")
    with atomic_writer(target) as tmp:
        assert is_partial(tmp.name) and len(os.fsencode(tmp.name)) < 255
        tmp.write_text("{}")
    assert target.read_text() == "{}"
