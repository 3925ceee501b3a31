"""Files are written privately and atomically, and names never leave their folder."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from musforms.errors import MusformsError
from musforms.files import atomic_writer, inside, slug, write_text


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
