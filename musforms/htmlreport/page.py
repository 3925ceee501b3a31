"""The report as one HTML file: written a part at a time, styles inline, charts as inline
SVG, no script, nothing fetched (its Content-Security-Policy forbids it)."""

from __future__ import annotations

import base64
import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TextIO

from musforms.dates import danish_date
from musforms.htmlreport.anonymity import REMAINDER, hidden_groups, parent_shown
from musforms.htmlreport.charts import Bar, stacked_bars
from musforms.htmlreport.gather import (
    DUE_SOON_DAYS,
    Gathered,
    StatusRow,
    Value,
    Wellbeing,
    missing_people,
    status_rows,
    total_row,
)
from musforms.htmlreport.words import w
from musforms.models import Organisation, Question, localize

CHART_GROUPS = 20  # more groups than this: the chart shows the largest, the table all
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

CSS = """
:root { --ok: #2e7d32; --blank: #f9a825; --missing: #bdbdbd; --line: #d0d0d0; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Segoe UI", Arial, sans-serif; font-size: 10.5pt;
  color: #111; margin: 0 auto; max-width: 190mm; padding: 8mm 4mm; line-height: 1.35; }
h1 { font-size: 17pt; margin: 0 0 2mm; } h2 { font-size: 13.5pt; margin: 7mm 0 2mm;
  border-bottom: 2px solid #333; padding-bottom: 1mm; } h3 { font-size: 11pt; margin: 4mm 0 1mm; }
header img { max-height: 16mm; float: right; }
.note { color: #444; font-size: 9pt; } .warn { background: #fff3e0; padding: 2mm 3mm; }
.confidential { border: 1px solid #b71c1c; color: #b71c1c; padding: 1.5mm 3mm; font-size: 9pt; }
nav ol { columns: 2; font-size: 9.5pt; }
table { border-collapse: collapse; width: 100%; margin: 1mm 0 3mm; font-size: 9pt; }
caption { text-align: left; font-weight: bold; padding: 1mm 0; }
th, td { border-bottom: 1px solid var(--line); padding: 0.8mm 1.5mm; text-align: right;
  vertical-align: top; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 1.5px solid #333; }
tr.total td { font-weight: bold; border-top: 1.5px solid #333; }
td.hidden { text-align: left; color: #555; font-style: italic; }
.bar { display: flex; width: 38mm; height: 3.2mm; background: #eee; margin-top: 0.4mm; }
.bar span { display: block; height: 100%; }
.bar .ok { background: var(--ok); } .bar .blank { background: var(--blank); }
.bar .missing { background: var(--missing); }
.key span { display: inline-block; width: 3mm; height: 3mm; margin: 0 1mm 0 3mm; }
.leader { break-inside: avoid; margin: 2mm 0; }
.leader ul { margin: 0.5mm 0 0; padding-left: 5mm; columns: 2; font-size: 9pt; }
figure { margin: 2mm 0 5mm; break-inside: avoid; }
figure .chart svg { width: 100%; height: auto; }
figure figcaption { font-weight: bold; margin-bottom: 1mm; }
.p { color: #555; }
* { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 9.5pt; }
  nav { display: none; }
  h2 { break-after: avoid; } h3 { break-after: avoid; }
  tr { break-inside: avoid; }
  section { break-before: auto; }
}
"""


@dataclass(frozen=True)
class Page:
    gathered: Gathered
    organisation: Organisation
    lang: str
    today: dt.date
    results: Path
    by: str  # as given to --by
    previous: tuple[str, Wellbeing] | None
    previous_asked: bool
    remainder: bool = True

    @property
    def minimum(self) -> int:
        return self.organisation.anonymity_min


def write_page(fh: TextIO, page: Page) -> None:
    for part in _parts(page):
        fh.write(part)


def _group_name(group: str, lang: str) -> str:
    return group if group else w("no_group", lang)


def _parts(page: Page) -> Iterator[str]:
    g, lang = page.gathered, page.lang
    title = w("title", lang, cycle=g.cycle)
    yield (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
    )
    yield from _header(page, title)
    yield from _status(page)
    yield from _missing(page)
    yield from _conclusions(page)
    yield from _agreements(page)
    yield from _wellbeing(page)
    if page.previous_asked:
        yield from _changes(page)
    yield "</body>\n</html>\n"


def _header(page: Page, title: str) -> Iterator[str]:
    g, lang, org = page.gathered, page.lang, page.organisation
    yield "<header>\n"
    if org.logo and Path(org.logo).is_file():
        kind = "png" if org.logo.lower().endswith(".png") else "jpeg"
        data = base64.b64encode(Path(org.logo).read_bytes()).decode("ascii")
        yield f'<img alt="" src="data:image/{kind};base64,{data}">\n'
    if org.name:
        yield f'<p class="note">{escape(org.name)}</p>\n'
    yield f"<h1>{escape(title)}</h1>\n"
    made = w("made", lang, today=danish_date(page.today), results=escape(str(page.results)))
    yield f'<p class="note">{made}'
    if g.collected_at is not None:
        yield f". {w('collected_at', lang, when=danish_date(g.collected_at.date()))}"
    yield "</p>\n"
    yield f'<p class="confidential">{escape(w("confidential", lang))}</p>\n'
    yield f'<p class="note">{escape(w("threshold_note", lang, n=page.minimum))}</p>\n'
    sections = [("status", w("status", lang)), ("missing", w("missing_title", lang)),
                ("conclusions", w("conclusions", lang)), ("agreements", w("agreements", lang)),
                ("wellbeing", w("wellbeing", lang))]  # fmt: skip
    if page.previous_asked:
        cycle = page.previous[0] if page.previous else "?"
        sections.append(("changes", w("changes", lang, cycle=cycle)))
    items = "".join(f'<li><a href="#{i}">{escape(t)}</a></li>' for i, t in sections)
    yield f'<nav aria-label="{w("contents", lang)}"><ol>{items}</ol></nav>\n</header>\n'


def _by_label(page: Page) -> str:
    field = page.gathered.by
    if field == "department":
        return w("department", page.lang)
    if field == "manager":
        return w("leader_lc", page.lang)
    return page.by


def _bar(row: StatusRow) -> str:
    if row.expected == 0:
        return ""
    parts = []
    for cls, n in (("ok", row.returned), ("blank", row.blank), ("missing", row.missing)):
        if n:
            parts.append(f'<span class="{cls}" style="width:{100 * n / row.expected:.1f}%"></span>')
    return f'<div class="bar" aria-hidden="true">{"".join(parts)}</div>'


def _pct(n: int, total: int) -> str:
    return f"{round(100 * n / total)} %" if total else "–"


def _status_table(page: Page, rows: list[StatusRow], first: str, caption: str) -> Iterator[str]:
    lang = page.lang
    heads = [first, w("expected", lang), w("returned", lang), w("blank", lang),
             w("missing", lang), w("problems", lang), w("share", lang)]  # fmt: skip
    yield f"<table>\n<caption>{escape(caption)}</caption>\n<thead><tr>"
    yield "".join(f'<th scope="col">{escape(h)}</th>' for h in heads)
    yield "</tr></thead>\n<tbody>\n"
    total = total_row(page.gathered.db)
    for row in [*rows, total]:
        cls = ' class="total"' if row is total else ""
        name = w("whole", lang) if row is total else _group_name(row.group, lang)
        yield (
            f'<tr{cls}><th scope="row">{escape(name)}</th><td>{row.expected}</td>'
            f"<td>{row.returned}</td><td>{row.blank}</td><td>{row.missing}</td>"
            f"<td>{row.problems}</td><td>{_pct(row.returned, row.expected)}{_bar(row)}</td></tr>\n"
        )
    yield "</tbody>\n</table>\n"


def _status(page: Page) -> Iterator[str]:
    g, lang = page.gathered, page.lang
    yield f'<section id="status">\n<h2>{escape(w("status", lang))}</h2>\n'
    yield (
        f'<p class="key note" aria-hidden="true"><span style="background:var(--ok)"></span>'
        f'{w("returned", lang)}<span style="background:var(--blank)"></span>{w("blank", lang)}'
        f'<span style="background:var(--missing)"></span>{w("missing", lang)}</p>\n'
    )
    by = _by_label(page)
    yield from _status_table(page, status_rows(g.db, "grp"), by.capitalize(),
                             w("status_by", lang, by=by))  # fmt: skip
    if g.by != "manager":
        leader = w("leader_lc", lang)
        yield from _status_table(page, status_rows(g.db, "leader"), w("leader", lang),
                                 w("status_by", lang, by=leader))  # fmt: skip
    yield f'<p class="note">{escape(w("problems_note", lang))}</p>\n'
    if g.unusable_files:
        yield f'<p class="warn">{escape(w("unusable_files", lang, n=g.unusable_files))}</p>\n'
    yield "</section>\n"


def _missing(page: Page) -> Iterator[str]:
    g, lang = page.gathered, page.lang
    yield f'<section id="missing">\n<h2>{escape(w("missing_title", lang))}</h2>\n'
    if not g.named:
        yield f'<p class="warn">{escape(w("no_names", lang))}</p>\n'
    current: str | None = None
    any_missing = False
    for leader, name, eid, status in missing_people(g.db):
        if leader != current:
            if current is not None:
                yield "</ul></div>\n"
            current = leader
            yield f'<div class="leader"><h3>{escape(_group_name(leader, lang))}</h3><ul>'
        any_missing = True
        mark = f" ({w('blank_mark', lang)})" if status == "blank" else ""
        who = name if name else eid
        yield f"<li>{escape(who)}{mark}</li>"
    if current is not None:
        yield "</ul></div>\n"
    if not any_missing:
        yield f"<p>{escape(w('none_missing', lang))}</p>\n"
    yield "</section>\n"


def _conclusions(page: Page) -> Iterator[str]:
    g, lang = page.gathered, page.lang
    if g.conclusions:
        text = w(
            "conclusions_counts",
            lang,
            collected=g.conclusions,
            approved=g.approved,
            unapproved=g.conclusions - g.approved,
        )
    else:
        text = w("no_conclusions", lang)
    yield (
        f'<section id="conclusions">\n<h2>{escape(w("conclusions", lang))}</h2>\n'
        f"<p>{escape(text)}</p>\n</section>\n"
    )


def _agreements(page: Page) -> Iterator[str]:
    g, lang = page.gathered, page.lang
    yield f'<section id="agreements">\n<h2>{escape(w("agreements", lang))}</h2>\n'
    note = w("agreements_note", lang, today=danish_date(page.today))
    yield f'<p class="note">{escape(note)}</p>\n'
    if not g.agreements:
        yield f"<p>{escape(w('no_agreements', lang))}</p>\n</section>\n"
        return
    heads = [w("leader", lang), w("open", lang), w("due_soon", lang, days=DUE_SOON_DAYS),
             w("overdue", lang)]  # fmt: skip
    yield "<table>\n<thead><tr>"
    yield "".join(f'<th scope="col">{escape(h)}</th>' for h in heads)
    yield "</tr></thead>\n<tbody>\n"
    totals = [0, 0, 0]
    for leader in sorted(g.agreements, key=lambda n: (n == "", n.casefold(), n)):
        counts = g.agreements[leader]
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
        cells = "".join(f"<td>{n}</td>" for n in counts)
        yield f'<tr><th scope="row">{escape(_group_name(leader, lang))}</th>{cells}</tr>\n'
    cells = "".join(f"<td>{n}</td>" for n in totals)
    yield f'<tr class="total"><th scope="row">{escape(w("whole", lang))}</th>{cells}</tr>\n'
    yield "</tbody>\n</table>\n</section>\n"


def _labels(q: Question, lang: str) -> list[tuple[Value, str]]:
    if q.type == "scale" and q.scale is not None:
        out: list[tuple[Value, str]] = []
        for v in range(q.scale.min, q.scale.max + 1):
            label = q.scale.labels.get(v)
            out.append((v, str(v) if label is None else f"{v} – {localize(label, lang)}"))
        return out
    return [(o.id, localize(o.label, lang)) for o in q.options or []]


def _mean(counter: Counter[Value]) -> float | None:
    n = sum(counter.values())
    if not n:
        return None
    return sum(int(v) * c for v, c in counter.items()) / n


def _fmt(x: float, lang: str) -> str:
    text = f"{x:.1f}"
    return text.replace(".", ",") if lang == "da" else text


@dataclass(frozen=True)
class _Shown:
    """What may be shown of one question: the groups hidden (and why), the whole shown."""

    hidden: dict[str, str]
    whole: bool


def shown(wellbeing: Wellbeing, qid: str, minimum: int, remainder: bool = True) -> _Shown:
    sizes = wellbeing.sizes(qid)
    hidden = hidden_groups(sizes, minimum, remainder=remainder)
    return _Shown(dict(hidden), parent_shown(sizes, minimum))


def _wellbeing(page: Page) -> Iterator[str]:
    g, lang = page.gathered, page.lang
    wb = g.wellbeing
    yield f'<section id="wellbeing">\n<h2>{escape(w("wellbeing", lang))}</h2>\n'
    if wb.unknown_sets:
        yield f'<p class="warn">{escape(w("unknown_sets", lang, n=wb.unknown_sets))}</p>\n'
    if not wb.questions:
        yield f"<p>{escape(w('no_wellbeing', lang))}</p>\n</section>\n"
        return
    groups = sorted(wb.groups, key=lambda n: (n == "", n.casefold(), n))
    for number, (qid, q) in enumerate(wb.questions.items(), 1):
        yield from _question(page, number, qid, q, groups)
    yield "</section>\n"


def _hidden_text(page: Page, reason: str) -> str:
    key = "remainder" if reason == REMAINDER else "fewer"
    return w(key, page.lang, n=page.minimum)


def _question(page: Page, number: int, qid: str, q: Question, groups: list[str]) -> Iterator[str]:
    lang, wb = page.lang, page.gathered.wellbeing
    values = _labels(q, lang)
    what = shown(wb, qid, page.minimum, page.remainder)
    label = localize(q.label, lang)
    rows: list[tuple[str, Counter[Value] | None, str]] = []
    whole = wb.counts.get((None, qid), Counter())
    rows.append((w("whole", lang), whole if what.whole else None,
                 "" if what.whole else w("fewer", lang, n=page.minimum)))  # fmt: skip
    for group in groups:
        answers = wb.counts.get((group, qid), Counter())
        if group in what.hidden:
            rows.append((_group_name(group, lang), None, _hidden_text(page, what.hidden[group])))
        elif not answers:
            rows.append((_group_name(group, lang), None, w("no_answers", lang)))
        else:
            rows.append((_group_name(group, lang), answers, ""))
    # The largest groups (by members with answers), in the table's order.
    sizes = {
        i: sum(wb.counts.get((grp, qid), Counter()).values()) for i, grp in enumerate(groups, 1)
    }
    largest = set(sorted(sizes, key=lambda i: (-sizes[i], i))[:CHART_GROUPS])
    bars = []
    for i, (name, counter, note) in enumerate(rows):
        if i and i not in largest:
            continue
        if counter is None:
            bars.append(Bar(name, None, note))
        else:
            n = sum(counter.values())
            bars.append(Bar(name, [counter.get(v, 0) / n for v, _ in values]))
    svg = stacked_bars(bars, [lbl for _, lbl in values], sequential=q.type == "scale",
                       prefix=f"q{number}")  # fmt: skip
    fig_id = f"q{number}"
    yield (
        f'<figure id="{fig_id}" aria-labelledby="{fig_id}-t">\n'
        f'<figcaption id="{fig_id}-t">{escape(label)}</figcaption>\n'
        f'<div class="chart" role="img" aria-label="{escape(w("chart_label", lang, q=label))}">'
        f"{svg}</div>\n"
    )
    if len(rows) - 1 > CHART_GROUPS:
        yield f'<p class="note">{escape(w("chart_some", lang, k=CHART_GROUPS))}</p>\n'
    scale = q.type == "scale"
    heads = [w("group", lang), w("answers", lang), *[lbl for _, lbl in values]]
    if scale:
        heads.append(w("mean", lang))
    yield f'<table data-question="{escape(qid)}">\n<caption>{escape(label)}</caption>\n<thead><tr>'
    yield "".join(f'<th scope="col">{escape(h)}</th>' for h in heads)
    yield "</tr></thead>\n<tbody>\n"
    span = len(heads) - 1
    for i, (name, counter, note) in enumerate(rows):
        cls = ' class="total"' if i == 0 else ""
        head = f'<tr{cls}><th scope="row">{escape(name)}</th>'
        if counter is None:
            yield f'{head}<td class="hidden" colspan="{span}">{escape(note)}</td></tr>\n'
            continue
        n = sum(counter.values())
        cells = "".join(
            f'<td><span class="c">{counter.get(v, 0)}</span> '
            f'<span class="p">({_pct(counter.get(v, 0), n)})</span></td>'
            for v, _ in values
        )
        mean = _mean(counter) if scale else None
        tail = f"<td>{_fmt(mean, lang)}</td>" if mean is not None else ""
        yield f"{head}<td>{n}</td>{cells}{tail}</tr>\n"
    yield "</tbody>\n</table>\n</figure>\n"


def _changes(page: Page) -> Iterator[str]:
    lang, g = page.lang, page.gathered
    cycle = page.previous[0] if page.previous else "?"
    yield f'<section id="changes">\n<h2>{escape(w("changes", lang, cycle=cycle))}</h2>\n'
    if page.previous is None:
        yield f"<p>{escape(w('changes_by', lang))}</p>\n</section>\n"
        return
    before = page.previous[1]
    yield f'<p class="note">{escape(w("changes_note", lang))}</p>\n'
    any_row = False
    groups = sorted(g.wellbeing.groups, key=lambda n: (n == "", n.casefold(), n))
    for qid, q in g.wellbeing.questions.items():
        if q.type != "scale":
            continue
        now_shown = shown(g.wellbeing, qid, page.minimum, page.remainder)
        then_shown = shown(before, qid, page.minimum, page.remainder)
        rows: list[tuple[str, float, float]] = []
        candidates: list[tuple[str, str | None, bool]] = [(w("whole", lang), None,
                    now_shown.whole and then_shown.whole)]  # fmt: skip
        for group in groups:
            ok = (
                group not in now_shown.hidden
                and group not in then_shown.hidden
                and group in before.groups
            )
            candidates.append((_group_name(group, lang), group, ok))
        for name, key, ok in candidates:
            if not ok:
                continue
            m_now = _mean(g.wellbeing.counts.get((key, qid), Counter()))
            m_then = _mean(before.counts.get((key, qid), Counter()))
            if m_now is not None and m_then is not None:
                rows.append((name, m_now, m_then))
        if not rows:
            continue
        any_row = True
        label = localize(q.label, lang)
        yield f'<table data-question="{escape(qid)}">\n<caption>{escape(label)}</caption>\n'
        heads = [w("group", lang), w("now", lang), w("before", lang), w("change", lang)]
        yield "<thead><tr>" + "".join(f'<th scope="col">{escape(h)}</th>' for h in heads)
        yield "</tr></thead>\n<tbody>\n"
        for name, m_now, m_then in rows:
            delta = m_now - m_then
            sign = "+" if delta > 0.05 else ("−" if delta < -0.05 else "±")
            yield (
                f'<tr><th scope="row">{escape(name)}</th><td>{_fmt(m_now, lang)}</td>'
                f"<td>{_fmt(m_then, lang)}</td><td>{sign}{_fmt(abs(delta), lang)}</td></tr>\n"
            )
        yield "</tbody>\n</table>\n"
    if not any_row:
        yield f"<p>{escape(w('no_changes', lang))}</p>\n"
    yield "</section>\n"
