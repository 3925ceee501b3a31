"""musforms report: the threshold rules, the round-status figures, and what the file holds
and does not hold. The browser checks are in test_htmlreport_browser.py."""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import tracemalloc
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import html as lxml_html

from musforms.cli import cli
from musforms.errors import ConfigError
from musforms.htmlreport import write_html_report
from musforms.htmlreport.anonymity import REMAINDER, SMALL, hidden_groups
from musforms.models import Organisation
from musforms.response import ResponseAgreement
from musforms.settings import load_settings
from tests.htmlreport_round import TODAY, Person, Round, build, people_of

# Økonomi 12 answers, IT 8, Løn 3 (fewer than 5), HR 9; two leaders across them.
PLAN: dict[tuple[str | None, str | None], tuple[int, int]] = {
    ("Økonomi", "Åse Østergård"): (12, 3),
    ("IT", "Bo Berg"): (8, 2),
    ("Løn", "Åse Østergård"): (3, 1),
    ("HR", "Bo Berg"): (9, 0),
}
ORG = Organisation(name="Eksempel Kommune")


@pytest.fixture(scope="module")
def round_(tmp_path_factory: pytest.TempPathFactory) -> Round:
    return build(tmp_path_factory.mktemp("round"), people_of(PLAN))


def _report(rnd: Round, tmp_path: Path, name: str = "report.html", **kw: object) -> str:
    out = tmp_path / name
    kw.setdefault("organisation", ORG)
    write_html_report(rnd.results, out, today=TODAY, **kw)  # type: ignore[arg-type]
    return out.read_text(encoding="utf-8")


def _rows(page: str, selector: str) -> dict[str, list[str]]:
    """A table's rows: the row's heading → the text of its cells."""
    doc = lxml_html.fromstring(page)
    (table,) = doc.xpath(selector)
    out = {}
    for tr in table.xpath(".//tbody/tr"):
        out[tr.xpath("string(th)").strip()] = [td.text_content().strip() for td in tr.xpath("td")]
    return out


def _question(page: str, qid: str) -> dict[str, list[str]]:
    return _rows(page, f"//figure//table[@data-question='{qid}']")


def _counts(cells: list[str]) -> list[int] | None:
    """The answer counts of a wellbeing row (without the number of answers, the mean)."""
    found = [m for c in cells[1:] if (m := re.fullmatch(r"(\d+) \(\d+ %\)", c))]
    if not found:
        return None
    return [int(m.group(1)) for m in found]


# --- the threshold rules --------------------------------------------------------------------


def test_a_group_below_the_threshold_and_the_next_smallest_are_hidden() -> None:
    """One small group alone would be the whole minus the rest: the next smallest goes too."""
    assert hidden_groups({"A": 3, "B": 8, "C": 12}, 5) == {"A": SMALL, "B": REMAINDER}


def test_two_small_groups_need_no_third() -> None:
    """Two hidden groups give only their sum away, never one of them."""
    assert hidden_groups({"A": 3, "B": 4, "C": 12, "D": 9}, 5) == {"A": SMALL, "B": SMALL}


def test_the_next_smallest_is_chosen_by_size_then_by_name() -> None:
    assert hidden_groups({"A": 2, "Z": 6, "M": 6, "C": 30}, 5) == {"A": SMALL, "M": REMAINDER}


def test_no_group_is_hidden_when_all_reach_the_threshold() -> None:
    assert hidden_groups({"A": 5, "B": 8}, 5) == {}


def test_a_whole_below_the_threshold_hides_every_group() -> None:
    assert hidden_groups({"A": 2, "B": 2}, 5) == {"A": SMALL, "B": SMALL}


def test_a_group_without_answers_counts_as_neither() -> None:
    """No answers: nothing to hide, and nothing a difference could give away."""
    assert hidden_groups({"A": 0, "B": 8, "C": 9}, 5) == {}
    assert hidden_groups({"A": 0, "B": 3, "C": 9, "D": 7}, 5) == {"B": SMALL, "D": REMAINDER}


def test_without_remainder_protection_only_the_small_group_is_hidden() -> None:
    assert hidden_groups({"A": 3, "B": 8, "C": 12}, 5, remainder=False) == {"A": SMALL}


def test_anonymity_min_is_read_from_musforms_toml(tmp_path: Path) -> None:
    path = tmp_path / "musforms.toml"
    assert load_settings(None, near=tmp_path).anonymity_min == 5  # no file: the default
    path.write_text('organisation = "X"\nanonymity_min = 3\n', encoding="utf-8")
    assert load_settings(path).anonymity_min == 3


def test_anonymity_min_below_three_names_the_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "musforms.toml"
    path.write_text('organisation = "X"\nanonymity_min = 2\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert f"{path}, line 2" in message
    assert "anonymity_min" in message and "3" in message


def test_a_small_group_shows_no_figures(round_: Round, tmp_path: Path) -> None:
    """Løn (3 answers) shows only "færre end 5 svar", in every wellbeing table."""
    page = _report(round_, tmp_path)
    for qid in ("arbejdsmaengde", "fokus"):
        rows = _question(page, qid)
        assert rows["Løn"] == ["færre end 5 svar"]
        assert _counts(rows["Økonomi"]) is not None
    assert page.count("færre end 5 svar") >= 2


def test_the_threshold_follows_the_setting(round_: Round, tmp_path: Path) -> None:
    """With anonymity_min 10, IT (8) and HR (9) are hidden too; Økonomi (12) is shown."""
    page = _report(round_, tmp_path, organisation=Organisation(anonymity_min=10))
    rows = _question(page, "arbejdsmaengde")
    assert rows["IT"] == rows["HR"] == rows["Løn"] == ["færre end 10 svar"]
    assert _counts(rows["Økonomi"]) is not None


def _recover(rows: dict[str, list[str]], whole: str) -> dict[str, list[int]]:
    """What subtraction gives away: the whole minus every group shown, when exactly one group
    is hidden, is that group."""
    total = _counts(rows[whole])
    assert total is not None
    shown = {g: c for g, cells in rows.items() if g != whole and (c := _counts(cells))}
    hidden = [g for g in rows if g != whole and g not in shown]
    if len(hidden) != 1:
        return {}
    rest = [t - sum(c[i] for c in shown.values()) for i, t in enumerate(total)]
    return {hidden[0]: rest}


def _truth(rnd: Round, department: str) -> list[int]:
    counts = Counter(
        p.scale for p in rnd.people if p.status == "returned" and p.department == department
    )
    return [counts.get(v, 0) for v in range(1, 6)]


def test_a_hidden_group_cannot_be_worked_out_from_the_published_figures(
    round_: Round, tmp_path: Path
) -> None:
    """From the whole and the groups shown, Løn's answers cannot be found; with the remainder
    protection off, the same subtraction finds them exactly (so the attack is real)."""
    whole = "Hele organisationen"
    protected = _question(_report(round_, tmp_path), "arbejdsmaengde")
    assert _recover(protected, whole) == {}
    # The best subtraction gives is Løn and the next smallest together, not Løn.
    total = _counts(protected[whole])
    assert total is not None
    shown = [c for g, cells in protected.items() if g != whole and (c := _counts(cells))]
    rest = [t - sum(c[i] for c in shown) for i, t in enumerate(total)]
    assert rest != _truth(round_, "Løn")
    assert sum(rest) > 3

    exposed = _question(
        _report(round_, tmp_path, "off.html", remainder_protection=False), "arbejdsmaengde"
    )
    assert _recover(exposed, whole) == {"Løn": _truth(round_, "Løn")}


# --- the round's status -----------------------------------------------------------------------


def _status(people: list[Person], key: str) -> dict[str, list[str]]:
    groups: dict[str, list[Person]] = {}
    for p in people:
        groups.setdefault(getattr(p, key) or "(ikke angivet)", []).append(p)
    return {
        g: [str(len(ps)), str(sum(p.status == "returned" for p in ps)),
            str(sum(p.status == "blank" for p in ps)), str(sum(p.status == "missing" for p in ps))]
        for g, ps in groups.items()
    }  # fmt: skip


def test_round_status_figures_per_department_and_leader(round_: Round, tmp_path: Path) -> None:
    """Expected, returned, blank and missing per department and per leader are those of the
    people of the round; the whole row adds them up."""
    page = _report(round_, tmp_path)
    doc = lxml_html.fromstring(page)
    tables = doc.xpath("//section[@id='status']//table")
    assert len(tables) == 2
    for table, key in zip(tables, ("department", "leader"), strict=True):
        got = {
            tr.xpath("string(th)").strip(): [td.text_content().strip() for td in tr.xpath("td")][:4]
            for tr in table.xpath(".//tbody/tr")
        }
        whole = got.pop("Hele organisationen")
        assert got == _status(round_.people, key)
        everyone = [Person(p.id, p.name, None, None, status=p.status) for p in round_.people]
        assert whole == _status(everyone, "department")["(ikke angivet)"]


def test_to_check_counts_returns_read_from_the_page(round_: Round, tmp_path: Path) -> None:
    """The one return read from the page (recovered) is counted under its department; the
    file that names no employee is told apart."""
    page = _report(round_, tmp_path)
    first = next(p for p in round_.people if p.status == "returned")
    rows = _rows(page, "(//section[@id='status']//table)[1]")
    assert rows[first.department or ""][4] == "1"
    assert sum(int(r[4]) for g, r in rows.items() if g != "Hele organisationen") == 1
    assert "1 indsendte filer kunne ikke bruges" in page


def test_those_missing_are_listed_under_their_leader(round_: Round, tmp_path: Path) -> None:
    doc = lxml_html.fromstring(_report(round_, tmp_path))
    got = {
        div.xpath("string(h3)"): sorted(li.text_content() for li in div.xpath(".//li"))
        for div in doc.xpath("//section[@id='missing']//div[@class='leader']")
    }
    want: dict[str, list[str]] = {}
    for p in round_.people:
        if p.status != "returned":
            mark = " (tom)" if p.status == "blank" else ""
            want.setdefault(p.leader or "", []).append(p.name + mark)
    assert got == {k: sorted(v) for k, v in want.items()}


def test_open_agreements_are_counted_per_leader(round_: Round, tmp_path: Path) -> None:
    """Open, due within 30 days and overdue per leader, as counted from the responses."""
    assert _agreement_counts(_report(round_, tmp_path)) == _want_agreements(round_, {})


def _want_agreements(
    rnd: Round, agreed: dict[str, list[ResponseAgreement]]
) -> dict[str, list[int]]:
    """Per leader: open, due within 30 days, overdue; ``agreed`` replaces an employee's
    proposals (a conclusion came back)."""
    want: dict[str, list[int]] = {}
    for r in rnd.responses:
        counts = want.setdefault(r.employee.manager or "", [0, 0, 0])
        rows = [
            *agreed.get(r.employee.id, r.agreements),
            *[a for a in r.previous_agreements if a.status not in ("done", "dropped")],
        ]
        for a in rows:
            counts[0] += 1
            if a.due is not None and a.due < TODAY:
                counts[2] += 1
            elif a.due is not None and a.due <= TODAY + dt.timedelta(days=30):
                counts[1] += 1
    return want


def _agreement_counts(page: str) -> dict[str, list[int]]:
    rows = _rows(page, "//section[@id='agreements']//table")
    rows.pop("Hele organisationen")
    return {k: [int(c) for c in v] for k, v in rows.items()}


def test_conclusions_are_counted_and_their_agreements_followed(tmp_path: Path) -> None:
    """Collected conclusions (results/<round>/conclusions/responses/) are counted, approved by
    both or not; the agreements counted are the agreed ones where a conclusion is back."""
    from musforms.response import ResponseApproval, ResponseConclusion

    rnd = build(tmp_path / "r", people_of(PLAN))
    assert "Ingen konklusionsskemaer er indsamlet" in _report(rnd, tmp_path, "before.html")
    folder = rnd.results / "conclusions" / "responses"
    folder.mkdir(parents=True)
    yes = ResponseApproval(approved=True, date=dt.date(2027, 1, 18))
    agreements = [ResponseAgreement(what="Den aftalte", due=TODAY - dt.timedelta(days=1))]
    concluded = {}
    for response, leader in ((rnd.responses[0], yes), (rnd.responses[1], ResponseApproval())):
        conclusion = ResponseConclusion(
            form_id=f"K{response.employee.id}", concluded="Vi aftalte én ting",
            agreements=agreements, employee=yes, leader=leader,
        )  # fmt: skip
        concluded[response.employee.id] = conclusion
        (folder / f"{response.employee.id}.json").write_text(
            response.model_copy(update={"conclusion": conclusion}).to_json(), encoding="utf-8"
        )
    page = _report(rnd, tmp_path)
    (text,) = lxml_html.fromstring(page).xpath("//section[@id='conclusions']/p/text()")
    assert text.startswith(
        "Konklusioner indsamlet: 2. Godkendt af både medarbejder og leder: 1. "
        "Mangler en godkendelse: 1"
    )
    agreed = {eid: c.agreements for eid, c in concluded.items()}
    assert _agreement_counts(page) == _want_agreements(rnd, agreed)


# --- what the file holds --------------------------------------------------------------------


def test_no_answer_text_is_in_the_report(round_: Round, tmp_path: Path) -> None:
    """Not one answer text, agreement, owner or comment of the round, in any script."""
    page = _report(round_, tmp_path)
    texts = round_.texts()
    assert len(texts) > 100
    for text in texts:
        for form in {text, html.escape(text), html.escape(text, quote=False)}:
            for line in form.split("\n"):
                if len(line) > 3:
                    assert line not in page, line


def test_the_same_results_give_the_same_bytes(round_: Round, tmp_path: Path) -> None:
    first = (tmp_path / "a.html", tmp_path / "b.html")
    for path in first:
        write_html_report(round_.results, path, organisation=ORG, today=TODAY)
    a, b = (p.read_bytes() for p in first)
    assert a == b
    assert a.count(b"<svg") == 2


def test_nothing_in_the_file_is_fetched(round_: Round, tmp_path: Path) -> None:
    """No script, no stylesheet or font to fetch, no address but the SVG namespaces, and a
    Content-Security-Policy that forbids fetching anyway."""
    page = _report(round_, tmp_path)
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert "@import" not in page and "@font-face" not in page
    addresses = set(re.findall(r"""(?:https?|ftp)://[^\s"'<>)]+|//[a-z0-9.-]+\.[a-z]{2,}/""", page))
    assert addresses == {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert not re.search(r"""\b(?:src|href)=["'](?!#|data:)""", page)
    assert re.findall(r"url\(([^)]*)\)", page) and all(
        u.startswith("#") for u in re.findall(r"url\(([^)]*)\)", page)
    )
    assert "default-src 'none'" in page


def test_the_file_is_private_and_written_whole(round_: Round, tmp_path: Path) -> None:
    out = tmp_path / "usb" / "status.html"
    write_html_report(round_.results, out, organisation=ORG, today=TODAY)
    assert out.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in out.parent.iterdir()] == ["status.html"]


def test_english_when_the_organisation_speaks_english(round_: Round, tmp_path: Path) -> None:
    page = _report(round_, tmp_path, organisation=Organisation(default_language="en"))
    assert '<html lang="en">' in page
    assert "fewer than 5 answers" in page and "Whole organisation" in page
    assert "færre end" not in page and "Hele organisationen" not in page


def test_grouped_by_leader(round_: Round, tmp_path: Path) -> None:
    """--by leader: the wellbeing rows are the leaders, with as many answers as they have."""
    rows = _question(_report(round_, tmp_path, by="leader"), "arbejdsmaengde")
    answered = Counter(p.leader for p in round_.people if p.status == "returned")
    assert {g: int(c[0]) for g, c in rows.items() if g != "Hele organisationen"} == answered


def test_grouped_by_another_roster_column(tmp_path: Path) -> None:
    people = people_of(PLAN)
    for i, p in enumerate(people):
        p.language = "en" if i % 4 == 0 else "da"
    rnd = build(tmp_path / "lang", people)
    rows = _question(_report(rnd, tmp_path, by="language"), "fokus")
    answered = Counter(p.language for p in people if p.status == "returned")
    assert {g: int(c[0]) for g, c in rows.items() if g != "Hele organisationen"} == answered


def test_changes_only_where_both_rounds_pass(tmp_path: Path) -> None:
    """Last round, HR had 3 answers: no change is shown for HR, nor for Løn or IT, hidden
    this round; Økonomi and the whole are shown in both and get a change."""
    now = build(tmp_path / "a", people_of(PLAN))
    before_plan = dict(PLAN)
    before_plan[("HR", "Bo Berg")] = (3, 0)
    before = build(tmp_path / "b", people_of(before_plan, seed=3), cycle="2025")
    page = _report(now, tmp_path, previous=before.results)
    rows = _rows(page, "//section[@id='changes']//table[@data-question='arbejdsmaengde']")
    assert _next_smallest(now) == "IT"
    assert set(rows) == {"Hele organisationen", "Økonomi"}
    assert "Ændringer siden 2025" in page


def _next_smallest(rnd: Round) -> str:
    rows = _question(_report(rnd, rnd.results.parent, "probe.html"), "arbejdsmaengde")
    return next(g for g, c in rows.items() if c and c[0].startswith("skjult"))


def test_cli_writes_the_report_and_says_where(round_: Round, tmp_path: Path) -> None:
    out = tmp_path / "status.html"
    result = CliRunner().invoke(cli, ["report", str(round_.results), "--out", str(out),
                                      "--today", "20-01-2027"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Report: {out} (32 of 38 returned, 6 missing)")
    assert "Status for MUS-runden 2026" in out.read_text(encoding="utf-8")


def test_cli_refuses_an_unknown_grouping(round_: Round, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["report", str(round_.results), "--by", "name",
                                      "--out", str(tmp_path / "x.html")])  # fmt: skip
    assert result.exit_code == 1
    assert "Error: --by 'name' is no column the report can group by; use one of" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.html").exists()


def test_without_the_forms_folder_those_missing_are_listed_by_id(tmp_path: Path) -> None:
    rnd = build(tmp_path / "bare", people_of(PLAN), manifest=False)
    result = CliRunner().invoke(cli, ["report", str(rnd.results)])
    assert result.exit_code == 0, result.output
    assert "Note: no forms folder found" in result.output
    page = (rnd.results / "report.html").read_text(encoding="utf-8")
    missing = [p for p in rnd.people if p.status != "returned"]
    doc = lxml_html.fromstring(page)
    listed = {li.text_content().split(" (")[0] for li in doc.xpath("//section[@id='missing']//li")}
    assert listed == {p.id for p in missing}
    assert os.stat(rnd.results / "report.html").st_mode & 0o777 == 0o600


def test_no_results_is_said_plainly(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(cli, ["report", str(tmp_path / "empty")])
    assert result.exit_code == 1
    assert "holds no collected results (no report.json): run 'musforms collect' first" in (
        result.output
    )


def _peak(rnd: Round, out: Path) -> int:
    tracemalloc.start()
    try:
        write_html_report(rnd.results, out, organisation=ORG, today=TODAY)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_memory_does_not_grow_with_the_round(round_: Round, tmp_path: Path) -> None:
    """Ten times the employees, not ten times the memory: the responses are read one at a
    time and the people wait on disk (Python's own allocations, after a first run has
    imported everything)."""
    _report(round_, tmp_path, "warm.html")
    small = build(
        tmp_path / "small", people_of({(f"Afd {i}", f"Leder {i}"): (8, 2) for i in range(10)})
    )
    large = build(
        tmp_path / "large", people_of({(f"Afd {i}", f"Leder {i}"): (80, 20) for i in range(10)})
    )
    few, many = _peak(small, tmp_path / "s.html"), _peak(large, tmp_path / "l.html")
    assert many < 2 * few + 1_000_000, (few, many)


def test_cli_takes_the_threshold_from_config(round_: Round, tmp_path: Path) -> None:
    """--config with anonymity_min 10 hides IT and HR too; with 2 it is an error naming the
    file, the line and the key, and no report is written."""
    settings = tmp_path / "musforms.toml"
    settings.write_text("anonymity_min = 10\n", encoding="utf-8")
    out = tmp_path / "ten.html"
    args = ["report", str(round_.results), "--out", str(out), "--config", str(settings)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    rows = _question(out.read_text(encoding="utf-8"), "arbejdsmaengde")
    assert rows["IT"] == rows["HR"] == ["færre end 10 svar"]
    settings.write_text("anonymity_min = 2\n", encoding="utf-8")
    out.unlink()
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert f"Error: {settings}, line 1: anonymity_min: should be greater than or equal to 3" in (
        result.output
    )
    assert not out.exists()
