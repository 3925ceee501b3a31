"""The outputs keep what they gather from a round in a scratch database, not in memory: the
files come out as they did from lists, the scratch folder is private and goes afterwards, and
memory stays the same for a large round as for a small one."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import multiprocessing
import stat
import tempfile
import tracemalloc
import zipfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from icalendar import Calendar
from openpyxl import load_workbook

from musforms.cli import cli
from musforms.files import TMP_FOLDER, scratch_space
from musforms.formdata import question_set_digest
from musforms.manifest import (
    Manifest,
    ManifestForm,
    ManifestQuestionSet,
    archive_question_set,
    save_manifest,
)
from musforms.models import Employee, Organisation, QuestionSet
from musforms.outputs import rewrite_followup, write_outputs
from musforms.outputs.calendar import calendar_bytes
from musforms.outputs.followup import csv_text, followup_lines, open_agreements
from musforms.outputs.minutes import INDEX, _Index
from musforms.outputs.spool import PAGE, AgreementSpool, spool_db
from musforms.outputs.views import AgreementRow, QuestionSets, agreement_rows
from musforms.pool import OrderedPool
from musforms.response import Response, ResponseQuestionSet, Responses
from tests.conftest import EVERY_TYPE
from tests.outputs_data import TODAY, responses, results_folder
from tests.test_outputs_minutes import docx_text

NOW = dt.datetime(2027, 1, 20, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def sample(every_type: QuestionSet) -> list[Response]:
    return responses(every_type)


@pytest.fixture
def scratch_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary folder of its own, to see what the outputs leave there."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


# --- the scratch folder ----------------------------------------------------------------------


def test_scratch_folder_is_private_and_goes_afterwards(
    tmp_path: Path, sample: list[Response], scratch_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the outputs are written the agreements wait in a folder only this user can
    open; it is gone when write_outputs, rewrite_followup and `musforms followup` are done.
    write_outputs keeps it in the results folder's private space, not in TMPDIR; so does
    rewrite_followup as purge runs it (it is purge that names the space)."""
    modes: list[int] = []
    add = AgreementSpool.add
    watched = [scratch_tmp]

    def watching(self: AgreementSpool, rows: Any) -> None:
        for folder in watched:
            modes.extend(stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir())
        add(self, rows)

    monkeypatch.setattr(AgreementSpool, "add", watching)
    out = results_folder(tmp_path, sample)
    watched.append(out / TMP_FOLDER)
    write_outputs(out, sample, None, Organisation(), today=TODAY)
    assert modes and set(modes) == {0o700}
    assert list(scratch_tmp.iterdir()) == []
    assert not (out / TMP_FOLDER).exists()

    modes.clear()
    with scratch_space(out):
        rewrite_followup(out, sample[1:])
    assert modes and set(modes) == {0o700}
    assert list(scratch_tmp.iterdir()) == []
    assert not (out / TMP_FOLDER).exists()

    watched.pop()

    modes.clear()
    result = CliRunner().invoke(cli, ["followup", str(out), "--today", "2027-01-20"])
    assert result.exit_code == 0, result.output
    assert modes and set(modes) == {0o700}
    assert list(scratch_tmp.iterdir()) == []


def test_scratch_folder_goes_on_an_error(
    tmp_path: Path, sample: list[Response], scratch_tmp: Path
) -> None:
    """A response that cannot be read stops the outputs; the scratch folder goes all the same."""

    passes = 0

    def failing(on_pass: int) -> Iterator[Response]:
        nonlocal passes
        passes += 1
        yield sample[0]
        if passes == on_pass:
            raise RuntimeError("response 1043 cannot be read")
        yield from sample[1:]

    for on_pass in (1, 2):  # while gathering the follow-up list; while drafting the minutes
        passes = 0
        with pytest.raises(RuntimeError, match="1043"):
            write_outputs(
                tmp_path, Responses(partial(failing, on_pass)), None, Organisation(), today=TODAY
            )
        assert passes == on_pass
        assert list(scratch_tmp.iterdir()) == []


def test_followup_error_reaches_the_user(tmp_path: Path, sample: list[Response]) -> None:
    """The follow-up list is written beside the minutes; what stops it stops the run."""
    (tmp_path / "agreements.xlsx").mkdir()  # cannot be replaced by a file
    with pytest.raises(OSError):
        write_outputs(tmp_path, sample, None, Organisation(), today=TODAY)


def _round(sample: list[Response], n: int) -> list[Response]:
    """``n`` employees like Søren, each with an agreement of their own."""
    soeren = sample[0]
    return [
        soeren.model_copy(
            update={
                "employee": soeren.employee.model_copy(
                    update={"id": str(5000 + i), "department": f"Afdeling {i % 3}"}
                ),
                "form": soeren.form.model_copy(update={"form_id": f"F{i:011d}"}),
                "agreements": [soeren.agreements[0].model_copy(update={"what": f"Aftale {i}"})],
            }
        )
        for i in range(n)
    ]


def test_followup_written_beside_the_drafts_is_the_same(
    tmp_path: Path, sample: list[Response]
) -> None:
    """In a round large enough for drafting processes, one of them writes the follow-up list
    and the calendar; the files are those written here without any."""
    from musforms.outputs.minutes import POOL_THRESHOLD

    many = _round(sample, POOL_THRESHOLD + 8)
    one, two = tmp_path / "one", tmp_path / "two"
    for out, workers in ((one, 1), (two, 2)):
        paths = write_outputs(
            out, many, None, Organisation(), by_department=True, today=TODAY, now=NOW,
            workers=workers,
        )  # fmt: skip
        assert paths.agreements == len(many) + sum(len(r.previous_agreements) for r in many)
    for name in ("agreements.csv", "followup.ics"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    with (
        zipfile.ZipFile(one / "agreements.xlsx") as a,
        zipfile.ZipFile(two / "agreements.xlsx") as b,
    ):
        assert a.namelist() == b.namelist()
        for name in a.namelist():
            if name != "docProps/core.xml":  # the moment it was saved
                assert a.read(name) == b.read(name), name
    assert f"Aftale {len(many) - 1}" in (two / "agreements.csv").read_text(encoding="utf-8-sig")


def test_followup_error_beside_the_drafts_reaches_the_user(
    tmp_path: Path, sample: list[Response], scratch_tmp: Path
) -> None:
    from musforms.outputs.minutes import POOL_THRESHOLD

    (tmp_path / "followup.ics").mkdir()  # cannot be replaced by a file
    with pytest.raises(OSError):
        write_outputs(tmp_path, _round(sample, POOL_THRESHOLD + 8), None, Organisation(), workers=2)
    assert list(scratch_tmp.iterdir()) == []


def test_long_followup_written_by_processes_of_its_own_when_nothing_is_drafted(
    tmp_path: Path, sample: list[Response], scratch_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long follow-up list is written by processes of its own from the start, beside the
    minutes, also when no draft is to be made (a morning's re-run): the same files as written
    here, and an error there reaches the user."""
    import musforms.outputs as outputs

    monkeypatch.setattr(outputs, "FOLLOWUP_PROCESS_ROWS", 1)
    one, two = tmp_path / "one", tmp_path / "two"
    for out, workers in ((one, 1), (two, 2)):
        write_outputs(out, sample, None, Organisation(), today=TODAY, now=NOW, workers=workers)
        assert write_outputs(
            out, sample, None, Organisation(), today=TODAY, now=NOW, workers=workers
        ).minutes == len(sample)  # the second time, every draft as it was
    for name in ("agreements.csv", "followup.ics"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    with (
        zipfile.ZipFile(one / "agreements.xlsx") as a,
        zipfile.ZipFile(two / "agreements.xlsx") as b,
    ):
        for name in a.namelist():
            if name != "docProps/core.xml":
                assert a.read(name) == b.read(name), name
    (two / "followup.ics").unlink()
    (two / "followup.ics").mkdir()  # cannot be replaced by a file
    with pytest.raises(OSError):
        write_outputs(two, sample, None, Organisation(), today=TODAY, now=NOW, workers=2)
    # Python's own folder for the process server, if it started it here, is not ours.
    assert [p for p in scratch_tmp.iterdir() if not p.name.startswith("pymp-")] == []


def test_responses_must_allow_two_passes(tmp_path: Path, sample: list[Response]) -> None:
    with pytest.raises(TypeError, match="twice"):
        write_outputs(tmp_path, iter(sample), None, Organisation(), today=TODAY)


# --- the same files as from lists --------------------------------------------------------------


def test_xlsx_sheets_from_the_spool(tmp_path: Path, sample: list[Response]) -> None:
    """A sheet per department, written row by row from the spool: each keeps its frozen
    header, a filter over exactly its own rows, the column widths and real dates, and holds
    its department's agreements in the order of the responses."""
    write_outputs(tmp_path, sample, None, Organisation(), by_department=True, today=TODAY)
    wb = load_workbook(tmp_path / "agreements.xlsx")
    rows = agreement_rows(sample)
    assert wb.sheetnames == ["IT", "Økonomi"]
    for ws in wb.worksheets:
        expected = [(r.employee_id, r.what) for r in rows if r.department == ws.title]
        body = list(ws.iter_rows(min_row=2))
        assert [(row[0].value, str(row[4].value).removeprefix("'")) for row in body] == expected
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == f"A1:L{len(expected) + 1}"
        assert ws.column_dimensions["E"].width == 50
        dated = [row[6] for row in body if row[6].value is not None]
        assert dated
        for cell in dated:
            assert isinstance(cell.value, dt.datetime)
            assert cell.number_format == "dd-mm-yyyy"


def test_csv_streamed_as_csv_text_gives_it(tmp_path: Path, sample: list[Response]) -> None:
    """agreements.csv, written a row at a time, is the text csv_text gives for the same rows,
    with the byte-order mark first."""
    write_outputs(tmp_path, sample, None, Organisation(), today=TODAY)
    expected = csv_text(agreement_rows(sample), "da").encode("utf-8-sig")
    assert (tmp_path / "agreements.csv").read_bytes() == expected
    text = expected.decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))) == 1 + 9


def test_calendar_is_what_the_whole_calendar_gives(tmp_path: Path, sample: list[Response]) -> None:
    """followup.ics, written an event at a time from the spool, is byte for byte what
    icalendar gives for a calendar holding every event: the due dates in the order of the
    rows, then the check-ins in the order of the responses."""
    write_outputs(tmp_path, sample, None, Organisation(), today=TODAY, now=NOW)
    data = (tmp_path / "followup.ics").read_bytes()
    assert Calendar.from_ical(data).to_ical() == data
    assert data == calendar_bytes(sample, agreement_rows(sample), now=NOW)
    uids = [str(ev["UID"]) for ev in Calendar.from_ical(data).walk("VEVENT")]
    assert uids == [
        "AAAABBBBCCCC-agr-1@musforms",
        "AAAABBBBCCCC-agr-3@musforms",
        "DDDDEEEEFFFF-agr-1@musforms",
        "DDDDEEEEFFFF-agr-2@musforms",
        "AAAABBBBCCCC-checkin@musforms",
        "GGGGHHHHJJJJ-checkin@musforms",
    ]


def test_spool_reads_back_page_after_page() -> None:
    """More rows than one page: every row comes back once, in the order added, all together,
    by leader, by department and by form."""
    row = agreement_rows(responses(QuestionSet.model_validate(EVERY_TYPE)))[0]
    many = [
        AgreementRow(**{**row.__dict__, "number": i, "leader": f"L{i % 3}", "form_id": f"F{i % 2}"})
        for i in range(2 * PAGE + 7)
    ]
    with AgreementSpool.of(many) as spool:
        assert [r.number for r in spool.rows()] == list(range(len(many)))
        assert spool.leaders() == ["L0", "L1", "L2"]
        assert [r.number for r in spool.of_leader("L1")] == list(range(1, len(many), 3))
        assert [r.number for r in spool.of_form("F0")] == list(range(0, len(many), 2))
        assert spool.count_in_department(row.department) == len(many)
        assert list(spool.rows())[5] == many[5]


def test_leaders_alike_but_for_case_keep_the_order_they_came_in(sample: list[Response]) -> None:
    """Two leaders whose names differ only in case are two groups, in the order their first
    agreements came, as sorting a list of groups would leave them."""
    rows = agreement_rows(sample)
    renamed = [
        AgreementRow(**{**r.__dict__, "leader": "bo berg" if r.employee_id == "1042" else r.leader})
        for r in rows
    ]
    assert [g.leader for g in open_agreements(renamed, TODAY)] == ["bo berg", "Bo Berg"]
    backwards = [*renamed[len(rows) - 2 :], *renamed[: len(rows) - 2]]
    assert [g.leader for g in open_agreements(backwards, TODAY)] == ["Bo Berg", "bo berg"]


def test_followup_command_prints_what_followup_lines_gives(
    tmp_path: Path, sample: list[Response]
) -> None:
    """The listing printed a line at a time is the listing followup_lines gives."""
    out = results_folder(tmp_path, sample)
    result = CliRunner().invoke(cli, ["followup", str(out), "--today", "2027-01-20"])
    assert result.exit_code == 0, result.output
    expected = followup_lines(open_agreements(agreement_rows(sample), TODAY))
    assert result.output == "\n".join(expected) + "\n"
    assert "" in expected  # a blank line between leaders


# --- the minutes' index ------------------------------------------------------------------------


def test_index_is_written_as_json_dumps_writes_it(tmp_path: Path) -> None:
    """.index.json is the text json.dumps(index, indent=0, sort_keys=True) gives, written a
    name at a time: names sorted as Python sorts them, escapes as json writes them."""
    names = {
        "b.docx": "1" * 64,
        "a.docx": "2" * 64,
        "Åse.docx": "3",
        "z.docx": '"quoted"',
        "é\u2028.docx": "4",
        "A.docx": "5",
    }
    path = tmp_path / INDEX
    with spool_db(in_memory=True) as db:
        index = _Index(db, path)
        assert list(index.names()) == []
        index.save(path)
        assert path.read_text(encoding="utf-8") == "{}\n"
        for name, fingerprint in names.items():
            index.set(name, fingerprint)
        index.save(path)
    assert path.read_text(encoding="utf-8") == json.dumps(names, indent=0, sort_keys=True) + "\n"
    with spool_db(in_memory=True) as db:
        again = _Index(db, path)
        assert list(again.names()) == sorted(names)
        assert again.get("Åse.docx") == "3" and again.get("none.docx") is None


@pytest.mark.parametrize("damaged", [b"{not json", b'["a", "b"]', b'{"a.docx": "1", ', b"\xff"])
def test_damaged_index_means_every_draft_again(
    tmp_path: Path, sample: list[Response], damaged: bytes
) -> None:
    """A damaged or odd .index.json is no error: every draft is made again, and the index is
    whole afterwards."""
    write_outputs(tmp_path, sample, None, Organisation(), today=TODAY)
    minutes = tmp_path / "minutes"
    inodes = {p.name: p.stat().st_ino for p in minutes.glob("*.docx")}
    (minutes / INDEX).write_bytes(damaged)
    write_outputs(tmp_path, sample, None, Organisation(), today=TODAY)
    assert {p.name: p.stat().st_ino for p in minutes.glob("*.docx")}.keys() == inodes.keys()
    for path in minutes.glob("*.docx"):
        assert path.stat().st_ino != inodes[path.name], path.name
    index = json.loads((minutes / INDEX).read_text(encoding="utf-8"))
    assert sorted(index) == sorted(inodes)


# --- the manifest, a form at a time ------------------------------------------------------------


def _forms_folder(tmp_path: Path, qs: QuestionSet, sample: list[Response]) -> Path:
    """A forms folder whose manifest issued Søren's form in English and Ida's with a
    question set that is not there."""
    forms = tmp_path / "forms"
    forms.mkdir()
    source = tmp_path / "questions.yaml"
    source.write_text(yaml.safe_dump(EVERY_TYPE, allow_unicode=True), encoding="utf-8")
    digest = question_set_digest(qs)
    archive_question_set(forms, source, digest)
    issued = []
    for r, language, form_digest in zip(
        sample, ["en", "da", "da"], [digest, "sha256:" + "0" * 64, digest], strict=True
    ):
        e = r.employee
        issued.append(
            ManifestForm(
                form_id=r.form.form_id,
                employee_id=e.id,
                files={"pdf": f"{e.id}.pdf"},
                employee=Employee(id=e.id, name=e.name, meeting_date=e.meeting_date),
                question_set_digest=form_digest,
                language=language,
            )
        )
    head = ManifestQuestionSet(id=qs.id, version=qs.version, digest=digest)
    save_manifest(forms, Manifest(cycle="2026", question_set=head, forms=issued))
    return forms


def test_question_set_and_language_by_form_from_the_manifest(
    tmp_path: Path, sample: list[Response], every_type: QuestionSet
) -> None:
    """Each form is looked up in the manifest: its question set (even when the response names
    a version that is not around) and the language it was issued in; a form whose set is
    missing falls back on the version the response names, and one not issued at all on
    the organisation's language."""
    forms = _forms_folder(tmp_path, every_type, sample)
    elsewhere = ResponseQuestionSet(id=every_type.id, version="1999.9")
    soeren = sample[0].model_copy(
        update={"form": sample[0].form.model_copy(update={"question_set": elsewhere})}
    )
    stranger = sample[2].model_copy(
        update={"form": sample[2].form.model_copy(update={"form_id": "ZZZZZZZZZZZZ"})}
    )
    with spool_db(in_memory=True) as db:
        sets = QuestionSets.from_forms(forms, db=db)
        assert sets.for_response(soeren) == every_type
        assert sets.language(soeren, "da") == "en"
        assert sets.for_response(sample[1]) == every_type  # by the version it names
        assert sets.language(sample[1], "en") == "da"
        assert sets.language(stranger, "en") == "en"
        assert sets.for_response(stranger) == every_type

    paths = write_outputs(tmp_path / "out", [soeren, *sample[1:]], forms, Organisation())
    assert paths.notes == []
    text = docx_text(tmp_path / "out" / "minutes" / "1042-soeren-aeroe.docx")
    assert "What went well?" in text


# --- memory ------------------------------------------------------------------------------------


def _peaks(soeren: Response, out: Path, sizes: tuple[int, ...]) -> list[int]:
    """The most memory write_outputs takes for a round of each of ``sizes`` employees like
    ``soeren``, measured in a process of its own (see below); the first is a warm-up."""
    OrderedPool.put = lambda self, chunk: iter(())  # type: ignore[method-assign]

    def round_of(n: int) -> Iterator[Response]:
        for i in range(n):
            yield soeren.model_copy(
                update={
                    "employee": soeren.employee.model_copy(
                        update={"id": str(10000 + i), "department": f"Afdeling {i % 7}"}
                    ),
                    "form": soeren.form.model_copy(update={"form_id": f"F{i:011d}"}),
                }
            )

    def peak(n: int) -> int:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        write_outputs(
            out / str(n),
            Responses(lambda: round_of(n)),
            None,
            Organisation(),
            by_department=True,
            now=NOW,
        )
        return tracemalloc.get_traced_memory()[1] - before

    tracemalloc.start()
    try:
        return [peak(n) for n in sizes]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_memory_does_not_grow_with_the_round(tmp_path: Path, sample: list[Response]) -> None:
    """Going through the responses, the minutes' index, the follow-up list and the calendar
    hold no more memory for 1,500 employees than for 150 (the drafts themselves are left
    out: each is made in a worker process, the same for every employee).

    Measured in a fresh process: tracemalloc counts every thread's allocations, and threads
    that earlier tests left running in this one (a library's, a server's) would be counted
    too, more of them the longer the larger round takes."""
    soeren = sample[0].model_copy(
        update={"agreements": sample[0].agreements[:1], "previous_agreements": []}
    )
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as measure:
        _, small, large = measure.submit(_peaks, soeren, tmp_path, (20, 150, 1500)).result()
    assert large - small < 512 * 1024, (small, large)
    rows = (tmp_path / "1500" / "agreements.csv").read_bytes().count(b"\r\n")
    assert rows == 1 + 1500
