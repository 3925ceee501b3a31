"""Shared fixtures: a private signing key per test, and a question set with every type."""

from __future__ import annotations

import atexit
import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Generator
from pathlib import Path

import pytest

from musforms.formdata import make_form_data
from musforms.i18n import LOCALE_VARIABLES, set_language
from musforms.identity import load_key
from musforms.models import Agreement, Employee, FormData, PreviousAgreement, QuestionSet

DATA = Path(__file__).resolve().parent / "data"
# Forms saved by Microsoft Word, from public test suites (licences in SOURCES.md there).
WORD_MADE = DATA / "word-made"

EVERY_TYPE = {
    "musforms": 1,
    "id": "alle-typer",
    "version": "2026.1",
    "title": {"da": "Forberedelse til MUS", "en": "Preparing for your development conversation"},
    "intro": {"da": "Skriv kort og konkret.", "en": "Be brief and concrete."},
    "sections": [
        {
            "id": "status",
            "title": {"da": "Status på året", "en": "The year that passed"},
            "questions": [
                {
                    "id": "lykkedes",
                    "type": "textarea",
                    "label": {"da": "Hvad er du lykkedes godt med?", "en": "What went well?"},
                    "help": {"da": "Tænk på hele året.", "en": "Think of the whole year."},
                    "required": True,
                },
                {"id": "titel", "type": "text", "label": {"da": "Din stillingsbetegnelse"}},
                {
                    "id": "arbejdsmaengde",
                    "type": "scale",
                    "label": {"da": "Passer mængden af opgaver til tiden?"},
                    "scale": {
                        "min": 1,
                        "max": 5,
                        "labels": {1: {"da": "Slet ikke"}, 5: {"da": "I høj grad"}},
                    },
                },
                {
                    "id": "fokus",
                    "type": "choice",
                    "label": {"da": "Hvad vil du helst udvikle?"},
                    "options": [
                        {"id": "faglig", "label": {"da": "Faglig udvikling"}},
                        {"id": "personlig", "label": {"da": "Personlig udvikling"}},
                        {"id": "ledelse", "label": {"da": "Ledelse"}},
                    ],
                },
                {
                    "id": "fokus_flere",
                    "type": "multichoice",
                    "label": {"da": "Hvilke områder fylder?"},
                    "options": [
                        {"id": "faglig", "label": {"da": "Faglige opgaver"}},
                        {"id": "samarbejde", "label": {"da": "Samarbejde"}},
                        {"id": "balance", "label": {"da": "Balance mellem arbejde og fritid"}},
                    ],
                },
                {"id": "kursus", "type": "checkbox", "label": {"da": "Jeg ønsker et kursus"}},
                {"id": "startdato", "type": "date", "label": {"da": "Hvornår kan du starte?"}},
            ],
        },
        {
            "id": "aftaler",
            "title": {"da": "Aftaler", "en": "Agreements"},
            "questions": [
                {
                    "id": "aftaler",
                    "type": "agreements",
                    "label": {"da": "Forslag til aftaler"},
                    "rows": 3,
                }
            ],
        },
    ],
}

# Awkward but real answers: Danish letters, quotes, brackets, backslashes, blank lines.
DANISH = "Æblegrød på Ærø — «søde» ting (og 'citater') \\ med skråstreg"
MULTILINE = "Første linje med æøå\n\nTredje linje efter en tom linje\nSidste: ÆØÅ!"
LONG = ("Lang besvarelse om trivsel og udvikling på arbejdspladsen. " * 40)[:2000]


def pytest_configure(config: pytest.Config) -> None:
    """Whatever falls back to the default key (~/.config/musforms/key, made on first use), a
    CLI run in a subprocess or a fixture set up before the per-test key, finds a throwaway
    config folder: no test makes or reads the user's own key. Made here, in the pytest
    process alone (a script a test runs imports this module too), and inherited by every
    process it starts."""
    home = tempfile.mkdtemp(prefix="musforms-test-config-")
    os.environ["XDG_CONFIG_HOME"] = home
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    # The tests read musforms' messages in English (the ids of the catalogues), in this
    # process and in every one it starts; tests/test_i18n.py and the Danish assertions set
    # the locale they test.
    for name in LOCALE_VARIABLES:
        os.environ.pop(name, None)
    # LANGUAGE picks the messages; LANG stays a UTF-8 locale this machine has, for the real
    # clients the tests start (LibreOffice saves no file with æøå in its name under the C
    # locale an uninstalled en_GB.UTF-8 falls back to).
    os.environ["LANGUAGE"] = "en"
    os.environ["LANG"] = "C.UTF-8"


@pytest.fixture(autouse=True)
def english_messages() -> Generator[None, None, None]:
    """Each test starts with English messages, whatever a test before it chose."""
    set_language("en")
    yield
    set_language("en")


def on_ci() -> bool:
    """True where the CI variable is set (CI=true): there a test that cannot run fails."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _no_skip_on_ci(report: pytest.TestReport | pytest.CollectReport) -> None:
    if on_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped, which CI=true does not allow: {reason}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """With CI=true a skip is a failure: a real client missing on the CI machine (or any
    other reason a test skipped itself) must not pass as green. Tests here fail rather than
    skip when a client is missing; this keeps a skip added later from hiding one."""
    report: pytest.TestReport = yield
    _no_skip_on_ci(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """The same for a whole module skipped while collected (pytest.importorskip) under CI."""
    report: pytest.CollectReport = yield
    _no_skip_on_ci(report)
    return report


def pytest_report_header() -> str:
    """Whether this run tests the hand-written fast paths or their library twins."""
    from musforms import fastpath

    state = "on" if fastpath.enabled() else "off: every form and draft made by the libraries"
    return f"musforms fast paths: {state} ({fastpath.ENV})"


@pytest.fixture(autouse=True)
def key_file(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test signs with its own key, never the user's real one."""
    path = tmp_path_factory.mktemp("key") / "key"
    monkeypatch.setenv("MUSFORMS_KEY_FILE", str(path))
    return path


@pytest.fixture
def key(key_file: Path) -> bytes:
    return load_key(key_file, create=True)


@pytest.fixture
def every_type() -> QuestionSet:
    return QuestionSet.model_validate(EVERY_TYPE)


@pytest.fixture
def employee() -> Employee:
    return Employee(
        id="1042",
        name="Søren Ærø",
        email="soeren@example.dk",
        department="Økonomi",
        manager="Åse Østergård",
        meeting_date=dt.date(2027, 1, 14),
        language="da",
    )


@pytest.fixture
def form_data(every_type: QuestionSet, employee: Employee, key: bytes) -> FormData:
    previous = [
        # With the status a check-in gave it, which the form shows under it.
        PreviousAgreement(
            what="Kursus i Excel",
            owner="Søren",
            due=dt.date(2026, 6, 1),
            status="in_progress",
            comment="Halvvejs — æøå\nmangler eksamen",
        ),
        Agreement(what="Mentorordning", owner="Åse", due=None),
    ]
    return make_form_data(every_type, employee, key=key, cycle="2026", previous=previous)
