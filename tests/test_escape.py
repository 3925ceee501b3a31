"""No escape: whatever the roster says, every file lands inside its output folder; links in the
returned folder are not followed out of it; spreadsheet cells never become formulas."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from musforms.collect import collect
from musforms.generate import generate
from musforms.manifest import load_manifest
from tests.clients.pdf import fill_pdfium
from tests.trust_data import answers, make_round, write_config

pytestmark = pytest.mark.realclient

# Ids and names that try to leave the folder, and cells that try to become formulas.
ROSTER = (
    "id;name;department;manager;meeting_date\r\n"
    "../../x;../../etc/passwd;=1+1;@SUM(A1);14-01-2027\r\n"
    "..;Anne/Marie;+IT;-Bo;15-01-2027\r\n"
    "/tmp/abs;C:\\Windows\\evil;Økonomi;Åse;16-01-2027\r\n"
    '7;=HYPERLINK("http://example.invalid","klik");\tTab;Åse;17-01-2027\r\n'
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


@pytest.fixture(scope="module")
def hostile_round(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("escape") / "a" / "b"
    root.mkdir(parents=True)
    questions, roster = write_config(root, ROSTER)
    generate(questions, roster, root / "forms", "2026", key_file=root / "key")
    inbox = root / "returned"
    inbox.mkdir()
    for n, form in enumerate(load_manifest(root / "forms").forms):
        values = {
            **answers("svar", previous=False),
            "aftaler__1__what": "=cmd|' /C calc'!A0",
            "aftaler__1__owner": "@owner",
            "aftaler__2__what": "+kursus",
            "aftaler__2__owner": "-ejer",
        }
        fill_pdfium(root / "forms" / form.files["pdf"], inbox / f"{n}.pdf", values)
    result = collect([inbox], root / "forms", root / "results", key_file=root / "key")
    assert [e.status for e in result.report().files] == ["ok"] * 4, result.report().files
    return root


def test_roster_cannot_place_files_outside_the_output_folder(hostile_round: Path) -> None:
    """Protects against a roster (edited by anyone, or exported oddly) writing or overwriting
    files elsewhere: ids and names like '../../x', '..', 'Anne/Marie', absolute and Windows
    paths give forms, responses and minutes inside their folders only, with safe names."""
    root = hostile_round
    everything = _files(root.parents[1])
    allowed = (root / "forms", root / "results", root / "returned", root / "config")
    for path in everything:
        resolved = path.resolve()
        assert any(resolved.is_relative_to(a.resolve()) for a in allowed) or path in (
            root / "key",
            root / "roster.csv",
            root,
            root.parent,
            *allowed,
        ), path
    forms = sorted(p.name for p in (root / "forms").iterdir() if p.suffix in (".pdf", ".docx"))
    assert len(forms) == 8
    responses = sorted(p.name for p in (root / "results" / "responses").iterdir())
    minutes = sorted(p.name for p in (root / "results" / "minutes").glob("*.docx"))
    assert len(responses) == 4 and len(minutes) == 4
    for name in forms + responses + minutes:
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]*\.(pdf|docx|json)", name), name
    assert "7.json" in responses  # an id that is already a safe name stays as it is
    for path in (root / "results").rglob("*"):
        assert ".." not in path.relative_to(root / "results").parts
    assert not Path("/tmp/abs").exists() and not Path("/tmp/abs.json").exists()


def test_responses_of_ids_with_the_same_safe_name_do_not_overwrite(hostile_round: Path) -> None:
    """'../../x' and '..' must not share one response file: every returned employee keeps
    their own answers."""
    import json

    report = json.loads((hostile_round / "results" / "report.json").read_text(encoding="utf-8"))
    responses = json.loads((hostile_round / "results" / "responses.json").read_text("utf-8"))
    assert sorted(r["employee"]["id"] for r in responses) == sorted(report["returned"])
    assert len(report["returned"]) == 4


def test_spreadsheet_cells_are_never_formulas(hostile_round: Path) -> None:
    """Protects whoever opens the follow-up list in Excel from formula injection: names,
    departments, leaders and agreements starting with = + - @ or a tab are stored as text
    with a leading apostrophe, in the XLSX and in the CSV."""
    wb = load_workbook(hostile_round / "results" / "agreements.xlsx")
    seen = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} is a formula"
                if isinstance(cell.value, str):
                    seen += 1
                    assert not cell.value.startswith(FORMULA_START), (cell.coordinate, cell.value)
    assert seen
    text = (hostile_round / "results" / "agreements.csv").read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    cells = [c for row in rows for c in row]
    for cell in cells:
        assert not cell.startswith(FORMULA_START), cell
    for wanted in ("'=cmd|' /C calc'!A0", "'@owner", "'+kursus", "'-ejer", "'=1+1", "'@SUM(A1)"):
        assert wanted in cells, wanted


def test_links_in_the_returned_folder_are_not_followed(tmp_path: Path) -> None:
    """Protects against reading (and filing as answers) files outside the folder HR pointed
    at: a link to a genuine form elsewhere, a link to a folder elsewhere holding one, and a
    link loop are each reported as a link, and nothing outside is collected."""
    r = make_round(tmp_path / "round", previous=False, key_file=tmp_path / "key")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    fill_pdfium(r.form("1043", "pdf"), outside / "ida.pdf", answers("udenfor", previous=False))
    inbox = tmp_path / "returned"
    inbox.mkdir()
    fill_pdfium(r.form("1042", "pdf"), inbox / "søren.pdf", answers("indenfor", previous=False))
    (inbox / "link-til-fil.pdf").symlink_to(outside / "ida.pdf")
    (inbox / "link-til-mappe").symlink_to(outside, target_is_directory=True)
    (inbox / "løkke").symlink_to(inbox, target_is_directory=True)
    (inbox / "a.pdf").symlink_to(inbox / "b.pdf")
    (inbox / "b.pdf").symlink_to(inbox / "a.pdf")

    out = tmp_path / "results"
    result = collect([inbox], r.forms, out, key_file=r.key_file)
    status = {Path(e.file).name: e for e in result.report().files}
    assert status["søren.pdf"].status == "ok"
    for name in ("link-til-fil.pdf", "link-til-mappe", "løkke", "a.pdf", "b.pdf"):
        assert status[name].status == "unreadable", name
        assert status[name].reason == "a link to another place; links are not followed"
    assert len(result.report().files) == 6
    assert result.report().returned == ["1042"]
    assert "udenfor" not in (out / "responses.json").read_text(encoding="utf-8")


def test_id_slug_is_one_file_per_id() -> None:
    """Ids that are already safe names stay as they are; ids that slug would change keep
    distinct names, so '../../x' and '..' never share (and overwrite) one file."""
    from musforms.files import id_slug

    assert id_slug("1042") == "1042"
    assert id_slug("ab-12") == "ab-12"
    ids = ["../../x", "..", "x-", "X", "Anne/Marie", "anne-marie/", "/tmp/abs", "a" * 80]
    names = [id_slug(i) for i in ids]
    assert len(set(names)) == len(ids), names
    for name in names:
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", name), name
