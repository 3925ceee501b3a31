"""The contract every registered format keeps, run over ``musforms.formats.all_formats()``.

A format added to the registry is held to all of it at once: a form issued for an employee
and filled in that format's real client (tests/contract_fillers.py) comes back through
collect with every answer exactly as typed; its identity verifies with the key and another
key is refused; the reader keeps the limits it is given; hostile files raise only musforms'
own errors; and detection knows the format's files by their content alone.

Adding a format: give it a filler in ``FILLERS`` (tests/contract_fillers.py) and the limits
its reader honours in ``LIMITS`` below. A format without either fails here, by design.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from musforms import fieldnames as fn
from musforms import formats
from musforms.collect import collect, response_path
from musforms.errors import FormReadError, IdentityError, KeyFileError, NotMusformsError
from musforms.formats import Format, Issued, Probe
from musforms.formdata import make_form_data, question_set_digest
from musforms.identity import load_key, verify
from musforms.limits import Limits, mb
from musforms.manifest import (
    Manifest,
    ManifestForm,
    ManifestQuestionSet,
    archive_question_set,
    save_manifest,
    save_organisation,
)
from musforms.models import (
    Agreement,
    Employee,
    FormData,
    Organisation,
    PreviousAgreement,
    QuestionSet,
    RawForm,
)
from musforms.questionset import load_question_set
from tests.clients.pdf import Values
from tests.clients.word import stop_libreoffice
from tests.conftest import DANISH, EVERY_TYPE, LONG, MULTILINE
from tests.contract_fillers import FILLERS

FORMATS = formats.all_formats()
CYCLE = "2026"
CREATED = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)

# Which of musforms.limits.Limits each format's reader is documented to honour, beyond
# max_bytes (which every reader keeps and test_max_bytes checks). Each is checked on the
# filled sample with the bound in TIGHT, which every form of any format exceeds. The time
# limit (seconds) is kept by collect around every reader, not by the readers; stream_bytes,
# memory_bytes and zip_ratio need crafted files and are tested in test_hostile.py.
LIMITS: dict[str, tuple[str, ...]] = {
    "pdf": ("fields", "pages"),
    "docx": ("fields", "zip_entries", "zip_part_bytes", "zip_total_bytes"),
    "odt": ("fields", "zip_entries", "zip_part_bytes", "zip_total_bytes"),
}
TIGHT: dict[str, int] = {
    "fields": 1,  # a form has dozens of fields
    "pages": 1,  # the sample form has several pages
    "zip_entries": 1,  # a package has several parts
    "zip_part_bytes": 64,  # the main part alone is kilobytes
    "zip_total_bytes": 1000,
}
# Contract points that do not hold today, each with why, by (format, point): the point is a
# limit's name, "round-trip" or "hostile". Strict, so a fix shows at once.
# Contract points a format does not hold yet, each with why: marked xfail(strict=True), so
# the day it holds, the suite says to take it off this list. None today.
KNOWN_FAILURES: dict[tuple[str, str], str] = {}

POLISH_CYRILLIC = "Zażółć gęślą jaźń — Съешь же ещё этих мягких французских булок"
LONG_ANSWER = LONG + " Slut på den lange tekst: æøå ÆØÅ."  # over 2,000 characters

FULL, SPARSE = "1042", "1043"
EMPLOYEES = {
    FULL: Employee(
        id=FULL,
        name="Søren Ærø",
        department="Økonomi",
        manager="Åse Østergård",
        meeting_date=dt.date(2027, 1, 14),
    ),
    SPARSE: Employee(id=SPARSE, name="Ida Holm", department="IT", manager="Bo Berg"),
}
PREVIOUS = {
    # The first with the status and comment a check-in gave it, shown under it on the form;
    # the second given none at the check-in. SPARSE's form is one of a round without check-ins.
    FULL: [
        PreviousAgreement(
            what="Kursus i Excel",
            owner="Søren",
            due=dt.date(2026, 6, 1),
            status="in_progress",
            comment="Halvvejs — æøå, ŻÓŁW\nmangler eksamen",
        ),
        Agreement(what="Mentorordning", owner="Åse", due=None),
    ],
    SPARSE: [Agreement(what="Læse op på GDPR", owner="Ida", due=dt.date(2026, 9, 1))],
}
# What each employee types, by field name (as the real clients take it).
TYPED: dict[str, Values] = {
    FULL: {
        "lykkedes": MULTILINE,
        "titel": DANISH,
        "arbejdsmaengde": "4",
        "fokus": "personlig",
        "fokus_flere__faglig": True,
        "fokus_flere__samarbejde": False,
        "fokus_flere__balance": True,
        "kursus": True,
        "startdato": "15-01-2027",
        "aftaler__1__what": LONG_ANSWER,
        "aftaler__1__owner": "Søren (og Åse)",
        "aftaler__1__due": "1/3 2027",
        "aftaler__2__what": POLISH_CYRILLIC,
        "aftaler__2__owner": "Дмитрий Łukasiewicz",
        "aftaler__3__what": "Sparring hver anden uge",
        "aftaler__3__due": "15.6.2027",
        "prev_status__1": "done",
        "prev_comment__1": "Gennemført i juni.\n\nGik godt.",
        "prev_status__2": "in_progress",
        "prev_comment__2": "Halvvejs — Привет, część!",
    },
    # Little answered: the box stays unticked, last year's agreement without a status.
    SPARSE: {"lykkedes": "Kort svar.", "kursus": False},
}
# What the response JSON must hold for it (DESIGN.md, "Response JSON").
EXPECTED: dict[str, dict[str, Any]] = {
    FULL: {
        "answers": {
            "lykkedes": MULTILINE,
            "titel": DANISH,
            "arbejdsmaengde": 4,
            "fokus": "personlig",
            "fokus_flere": ["faglig", "balance"],
            "kursus": True,
            "startdato": "2027-01-15",
        },
        "agreements": [
            {"what": LONG_ANSWER, "owner": "Søren (og Åse)", "due": "2027-03-01"},
            {"what": POLISH_CYRILLIC, "owner": "Дмитрий Łukasiewicz", "due": None},
            {"what": "Sparring hver anden uge", "owner": None, "due": "2027-06-15"},
        ],
        "previous_agreements": [
            {
                "what": "Kursus i Excel",
                "owner": "Søren",
                "due": "2026-06-01",
                "status": "done",
                "comment": "Gennemført i juni.\n\nGik godt.",
            },
            {
                "what": "Mentorordning",
                "owner": "Åse",
                "due": None,
                "status": "in_progress",
                "comment": "Halvvejs — Привет, część!",
            },
        ],
    },
    SPARSE: {
        "answers": {"lykkedes": "Kort svar.", "fokus_flere": [], "kursus": False},
        "agreements": [],
        "previous_agreements": [
            {
                "what": "Læse op på GDPR",
                "owner": "Ida",
                "due": "2026-09-01",
                "status": None,
                "comment": None,
            }
        ],
    },
}


# --- the round and its filled samples ---------------------------------------------------------


@dataclass(frozen=True)
class Round:
    """The forms folder generate would write for EMPLOYEES, with every writable format."""

    forms: Path
    key_file: Path
    key: bytes
    question_set: QuestionSet
    issued: dict[str, FormData]  # by employee id
    blanks: dict[str, dict[str, Path]]  # employee id → format name → blank form


def issue_round(root: Path) -> Round:
    """Issue each employee's form the way generate does: signed form data, one file per
    writable format from the registry's writers, and the manifest collect reads."""
    key_file = root / "key"
    key = load_key(key_file, create=True)
    questions = root / "questions.yaml"
    questions.write_text(yaml.safe_dump(EVERY_TYPE, allow_unicode=True), encoding="utf-8")
    qs = load_question_set(questions)
    digest = question_set_digest(qs)
    forms = root / "forms"
    forms.mkdir()
    organisation = Organisation()
    issued: dict[str, FormData] = {}
    blanks: dict[str, dict[str, Path]] = {}
    entries = []
    for eid, employee in EMPLOYEES.items():
        form = make_form_data(
            qs, employee, key=key, cycle=CYCLE, previous=PREVIOUS[eid], qs_digest=digest
        )
        issued[eid], blanks[eid] = form, {}
        for fmt in formats.writable():
            path = forms / f"{eid}-blank{fmt.suffix}"
            writer = fmt.new_writer(qs, form.lang, organisation, created=CREATED)
            path.write_bytes(writer.render(form))
            blanks[eid][fmt.name] = path
        entries.append(
            ManifestForm(
                form_id=form.identity.form_id,
                employee_id=eid,
                files={name: path.name for name, path in blanks[eid].items()},
                employee=employee,
                question_set_digest=digest,
                language=form.lang,
                previous_agreements=PREVIOUS[eid],
            )
        )
    archive_question_set(forms, questions, digest)
    save_organisation(forms, organisation)
    head = ManifestQuestionSet(id=qs.id, version=qs.version, digest=digest)
    save_manifest(forms, Manifest(cycle=CYCLE, question_set=head, forms=entries))
    return Round(forms, key_file, key, qs, issued, blanks)


class Samples:
    """Each format's filled files and their collected results, made once per session on
    first use (a real client is slow to start), kept for every test after."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._round: Round | None = None
        self._filled: dict[str, dict[str, Path]] = {}
        self._collected: dict[str, Path] = {}
        self._failed: dict[str, str] = {}

    @property
    def round(self) -> Round:
        if self._round is None:
            self._round = issue_round(self.root / "round")
        return self._round

    def filled(self, fmt: Format) -> dict[str, Path]:
        """The returned file of each employee, filled in ``fmt``'s client."""
        if fmt.name in self._failed:
            pytest.fail(self._failed[fmt.name], pytrace=False)
        if fmt.name not in self._filled:
            filler = FILLERS.get(fmt.name)
            if filler is None:
                self._failed[fmt.name] = no_filler(fmt)
                pytest.fail(self._failed[fmt.name], pytrace=False)
            folder = self.root / "filled" / fmt.name
            folder.mkdir(parents=True)
            files = {}
            try:
                for eid, values in TYPED.items():
                    dst = folder / f"returned-{eid}{fmt.suffix}"
                    filler(self.round.blanks[eid], dst, values)
                    files[eid] = dst
            except Exception as exc:
                self._failed[fmt.name] = f"filling a {fmt.title} form failed: {exc}"
                raise
            self._filled[fmt.name] = files
        return self._filled[fmt.name]

    def collected(self, fmt: Format) -> Path:
        """The results folder of collecting every employee's ``fmt`` return."""
        if fmt.name not in self._collected:
            out = self.root / "results" / fmt.name
            r = self.round
            collect(list(self.filled(fmt).values()), r.forms, out, key_file=r.key_file, workers=1)
            self._collected[fmt.name] = out
        return self._collected[fmt.name]

    def resolve(self, raw: RawForm) -> Issued:
        """The question set every form was issued with, as collect gives it to a reader."""
        return Issued(self.round.question_set, None, None)


def no_filler(fmt: Format) -> str:
    return (
        f"format {fmt.name!r} is registered but has no filler: add one to FILLERS in "
        "tests/contract_fillers.py"
    )


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Samples:
    return Samples(tmp_path_factory.mktemp("contract"))


@pytest.fixture(scope="module", autouse=True)
def _libreoffice() -> Iterator[None]:
    """LibreOffice, once started for a filler, is stopped when the module is done."""
    yield
    stop_libreoffice()


@pytest.fixture(params=FORMATS, ids=[f.name for f in FORMATS])
def fmt(request: pytest.FixtureRequest) -> Format:
    """Each registered format in turn."""
    fmt: Format = request.param
    return fmt


@pytest.fixture
def sample(fmt: Format, samples: Samples) -> Path:
    """``fmt``'s filled form of the employee who answered everything."""
    return samples.filled(fmt)[FULL]


def known_failure(request: pytest.FixtureRequest, fmt: Format, point: str) -> None:
    reason = KNOWN_FAILURES.get((fmt.name, point))
    if reason is not None:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


def prefill(raw: RawForm) -> dict[str, str | None]:
    """The signed prefilled values a file carries, as collect verifies them."""
    return {
        name: value if isinstance(value, str) else None
        for name, value in raw.fields.items()
        if fn.is_reserved(name) and name != fn.IDENTITY
    }


# --- 0. every format takes part --------------------------------------------------------------


def test_format_has_a_filler(fmt: Format) -> None:
    """Every registered format can be filled by a real client here, so the contract runs."""
    assert fmt.name in FILLERS, no_filler(fmt)


def test_format_declares_its_limits(fmt: Format) -> None:
    """Every registered format says which limits its reader keeps, so they are checked."""
    assert fmt.name in LIMITS, (
        f"format {fmt.name!r} does not say which limits its reader keeps: add it to LIMITS "
        "in tests/test_contract.py"
    )
    assert set(LIMITS[fmt.name]) <= set(TIGHT), "add a bound for each to TIGHT"


# --- 1. every question type round-trips ------------------------------------------------------


@pytest.mark.realclient
@pytest.mark.parametrize("eid", [FULL, SPARSE], ids=["every-answer", "little-answered"])
def test_every_answer_round_trips(
    fmt: Format, samples: Samples, eid: str, request: pytest.FixtureRequest
) -> None:
    """What a person typed into every question type in the format's real client (æøå, Polish
    and Cyrillic, line breaks, 2,000+ characters, every kind of agreement row, last year's
    agreements with and without a status) is exactly what collect writes in the response;
    what was left alone is unanswered, an unticked box false."""
    known_failure(request, fmt, "round-trip")
    out = samples.collected(fmt)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    entry = next(f for f in report["files"] if f.get("employee_id") == eid)
    assert entry["status"] == "ok", entry
    assert entry["problems"] == []
    response = json.loads(response_path(out, eid).read_text(encoding="utf-8"))
    form = samples.round.issued[eid]
    assert response["employee"]["id"] == eid
    assert response["employee"]["name"] == EMPLOYEES[eid].name
    assert response["form"] == {
        "form_id": form.identity.form_id,
        "cycle": CYCLE,
        "question_set": {"id": EVERY_TYPE["id"], "version": EVERY_TYPE["version"]},
        "language": form.lang,
    }
    expected = EXPECTED[eid]
    assert response["answers"] == expected["answers"]
    assert response["agreements"] == expected["agreements"]
    assert response["previous_agreements"] == expected["previous_agreements"]
    assert response["problems"] == []
    assert response["source"]["format"] == fmt.name


# --- 2. identity -----------------------------------------------------------------------------


@pytest.mark.realclient
def test_identity_verifies(fmt: Format, sample: Path, samples: Samples) -> None:
    """The filled file still carries its signed identity and prefilled values: they verify
    with the key and name the form and employee it was issued for; another key fails."""
    raw = fmt.read(sample, samples.resolve, Limits())
    assert raw.format == fmt.name
    assert raw.token, "the identity is gone"
    form = samples.round.issued[FULL]
    assert verify(samples.round.key, raw.token, prefill(raw)) == form.identity
    for name, value in form.prefill.items():
        assert raw.fields.get(name) == (value or None), name
    with pytest.raises(IdentityError, match="another key"):
        verify(b"x" * 32, raw.token, prefill(raw))


@pytest.mark.realclient
def test_other_key_is_rejected_by_collect(fmt: Format, sample: Path, samples: Samples) -> None:
    """collect holding another key than the one the form was signed with records no answers:
    when no form of the run verifies, it stops, names the key, and writes nothing."""
    other = samples.root / f"other-key-{fmt.name}"
    load_key(other, create=True)
    out = samples.root / f"results-other-key-{fmt.name}"
    with pytest.raises(KeyFileError, match="made with another key") as refused:
        collect([sample], samples.round.forms, out, key_file=other, workers=1)
    assert str(other) in str(refused.value) and "--key-file" in str(refused.value)
    assert not (out / "report.json").exists()
    assert not response_path(out, FULL).exists()


# --- 3. limits -------------------------------------------------------------------------------


@pytest.mark.realclient
def test_max_bytes(fmt: Format, sample: Path, samples: Samples) -> None:
    """A file one byte over max_bytes is refused with its size named; at the limit it reads."""
    size = sample.stat().st_size
    assert fmt.read(sample, samples.resolve, Limits(max_bytes=size)).token
    with pytest.raises(FormReadError) as refused:
        fmt.read(sample, samples.resolve, Limits(max_bytes=size - 1))
    assert not isinstance(refused.value, NotMusformsError)
    assert f"the file is {mb(size)}" in str(refused.value)


LIMIT_CASES = [
    pytest.param(
        f.name,
        limit,
        id=f"{f.name}-{limit}",
        marks=[pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[(f.name, limit)])]
        if (f.name, limit) in KNOWN_FAILURES
        else [],
    )
    for f in FORMATS
    for limit in LIMITS.get(f.name, ())
]


@pytest.mark.realclient
@pytest.mark.parametrize(("name", "limit"), LIMIT_CASES)
def test_limit_is_honoured(name: str, limit: str, samples: Samples) -> None:
    """Each limit the format's reader keeps refuses the filled form when set below what the
    form needs, as an unreadable file (never as "not a musforms form")."""
    fmt = formats.get(name)
    sample = samples.filled(fmt)[FULL]
    assert fmt.read(sample, samples.resolve, Limits()).token
    with pytest.raises(FormReadError) as refused:
        fmt.read(sample, samples.resolve, Limits(**{limit: TIGHT[limit]}))
    assert not isinstance(refused.value, NotMusformsError), refused.value


# --- 4. hostile input ------------------------------------------------------------------------

# Files no registered format may claim.
FOREIGN: dict[str, bytes] = {
    "empty": b"",
    "text": "Husk mødet på fredag — æøå\n".encode(),
    "old-office": formats.OLE_MAGIC + bytes(2048),
    "png": b"\x89PNG\r\n\x1a\n" + bytes(64),
}


def _zip(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return buffer.getvalue()


FOREIGN["xlsx"] = _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})
FOREIGN["zip"] = _zip({"notes.txt": b"Husk"})
FOREIGN["random"] = random.Random(1).randbytes(8192)


def hostile_variants(sample: bytes) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Damaged copies of a filled form: (those that must be refused, those a lenient reader
    may still read, as long as it raises nothing but musforms' own errors)."""
    rnd = random.Random(2026)
    n = len(sample)
    refused = {
        "empty": b"",
        "only-the-header": sample[:16],
        "header-then-random": sample[:8] + rnd.randbytes(8192),
    }
    lenient = {
        "truncated": sample[: n // 2],
        "cut-short": sample[: n - 200],
        "garbage-inside": sample[: n // 3] + rnd.randbytes(n // 3) + sample[2 * (n // 3) :],
    }
    if sample.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(sample)) as zf:
            names = zf.namelist()
            sizes = {name: zf.getinfo(name).file_size for name in names}
        refused["zip-of-random-parts"] = _zip({name: rnd.randbytes(sizes[name]) for name in names})
        refused["zip-of-broken-xml"] = _zip({name: b"<w:document><w:body>" for name in names})
        refused["zip-without-parts"] = _zip({})
    if sample.lstrip().startswith(b"%PDF-"):
        refused["pdf-of-random-objects"] = b"%PDF-1.7\n" + rnd.randbytes(8192) + b"\n%%EOF\n"
        refused["pdf-without-objects"] = b"%PDF-1.7\ntrailer\n<< >>\n%%EOF\n"
    return refused, lenient


def _outcome(fmt: Format, path: Path, samples: Samples) -> RawForm | FormReadError:
    try:
        return fmt.read(path, samples.resolve, Limits())
    except FormReadError as exc:  # NotMusformsError is one too
        return exc
    except Exception as exc:
        pytest.fail(
            f"{fmt.name} reader raised {type(exc).__name__} on {path.name}: {exc}", pytrace=False
        )


@pytest.mark.realclient
def test_damaged_files_raise_only_musforms_errors(
    fmt: Format, sample: Path, samples: Samples, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Empty, truncated, random after the right header, garbage inside: the reader raises
    FormReadError or NotMusformsError and nothing else; what is no form is never read as one."""
    known_failure(request, fmt, "hostile")
    refused, lenient = hostile_variants(sample.read_bytes())
    for case, data in {**refused, **lenient}.items():
        path = tmp_path / f"{case}{fmt.suffix}"
        path.write_bytes(data)
        outcome = _outcome(fmt, path, samples)
        if case in refused:
            assert isinstance(outcome, FormReadError), f"{case}: read as a form"
        elif isinstance(outcome, RawForm):
            assert outcome.format == fmt.name, case


@pytest.mark.realclient
def test_other_formats_files_under_this_suffix(
    fmt: Format, samples: Samples, tmp_path: Path
) -> None:
    """Another format's filled form, or a file of no format, named with this format's suffix:
    the reader refuses it with musforms' own error."""
    others = {f"{f.name}-form": samples.filled(f)[FULL].read_bytes() for f in FORMATS if f != fmt}
    for case, data in {**others, **FOREIGN}.items():
        path = tmp_path / f"{case}{fmt.suffix}"
        path.write_bytes(data)
        assert isinstance(_outcome(fmt, path, samples), FormReadError), case


@pytest.mark.realclient
def test_detect_claims_no_other_files(fmt: Format, samples: Samples, tmp_path: Path) -> None:
    """The format's detect says no to every other format's filled form and to files of no
    format (empty, text, random bytes, old Office, an image, other zips)."""
    others = {f"{f.name}-form": samples.filled(f)[FULL] for f in FORMATS if f != fmt}
    for case, data in FOREIGN.items():
        others[case] = tmp_path / f"{case}.bin"
        others[case].write_bytes(data)
    for case, path in others.items():
        assert not fmt.detect(Probe.of(path)), f"{fmt.name} claims the {case} file"


# --- 5. detection ----------------------------------------------------------------------------


@pytest.mark.realclient
def test_detected_by_content_whatever_its_name(fmt: Format, sample: Path, tmp_path: Path) -> None:
    """The filled form is recognised as its format from its content alone: renamed .bin,
    without a suffix, or with another format's suffix."""
    names = ["returned.bin", "returned", *(f"returned{s}" for f in FORMATS for s in f.suffixes)]
    for name in names:
        path = tmp_path / name
        shutil.copyfile(sample, path)
        found = formats.detect(Probe.of(path))
        assert found is not None and found.name == fmt.name, name


# --- 6. the conclusion form ------------------------------------------------------------------

PREPARATION = "STATUS PÅ ÅRET\nHvad er du lykkedes med?\n" + MULTILINE + "\n\nTRIVSEL\n–"
CONCLUSION_TYPED: Values = {
    "konklusion": "Vi drøftede året.\nAftalerne er skærpet — æøå ÆØÅ.",
    "aftaler__1__what": "Kursus i Excel for øvede",
    "aftaler__3__what": POLISH_CYRILLIC,
    "aftaler__3__due": "15-06-2027",
    "godkendt_medarbejder": True,
    "dato_medarbejder": "20-01-2027",
    "godkendt_leder": True,
    "dato_leder": "21-01-2027",
}


@pytest.mark.realclient
def test_conclusion_form_round_trips(fmt: Format, samples: Samples, tmp_path: Path) -> None:
    """A conclusion form (the preparation signed and read-only, the proposals filled in
    beforehand) filled in the format's real client: its identity verifies with the
    preparation it shows, says it is a conclusion, and what was typed comes back, with the
    proposal left alone as it was filled in."""
    from musforms.conclusion import conclusion_of
    from musforms.conclusions import conclusion_questions
    from musforms.interpret import interpret
    from musforms.response import ResponseAgreement

    _path, qs = conclusion_questions()
    key = samples.round.key
    form = make_form_data(
        qs, EMPLOYEES[FULL], key=key, cycle=CYCLE, kind="conclusion", of_form="PREPFORM0001",
        preparation=PREPARATION,
        answers={
            "aftaler__1__what": "Kursus i Excel", "aftaler__1__owner": "Søren",
            "aftaler__1__due": "2027-03-01", "aftaler__2__what": "Mentorordning",
            "aftaler__2__owner": "Åse",
        },
    )  # fmt: skip
    blanks = {}
    for writable in formats.writable():
        blanks[writable.name] = tmp_path / f"konklusion{writable.suffix}"
        writer = writable.new_writer(qs, form.lang, Organisation(), created=CREATED)
        blanks[writable.name].write_bytes(writer.render(form))
    dst = tmp_path / f"returned{fmt.suffix}"
    FILLERS[fmt.name](blanks, dst, CONCLUSION_TYPED)
    raw = fmt.read(dst, lambda raw: Issued(qs, None, None), Limits())
    assert raw.token is not None
    identity = verify(key, raw.token, prefill(raw))
    assert (identity.kind, identity.of_form) == ("conclusion", "PREPFORM0001")
    assert raw.fields[fn.PREFILL_PREPARATION] == PREPARATION
    result = interpret(qs, raw.fields, form.lang)
    agreements = [ResponseAgreement.model_validate(a.model_dump()) for a in result.agreements]
    conclusion = conclusion_of(identity.form_id, result.answers, agreements)
    assert conclusion.model_dump(mode="json") == {
        "form_id": identity.form_id,
        "concluded": CONCLUSION_TYPED["konklusion"],
        "agreements": [
            {"what": "Kursus i Excel for øvede", "owner": "Søren", "due": "2027-03-01"},
            {"what": "Mentorordning", "owner": "Åse", "due": None},
            {"what": POLISH_CYRILLIC, "owner": None, "due": "2027-06-15"},
        ],
        "employee": {"approved": True, "date": "2027-01-20"},
        "leader": {"approved": True, "date": "2027-01-21"},
        "saved_at": None,
    }
