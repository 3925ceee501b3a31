"""The short human summary collect prints: counts and file names, never answer text."""

from __future__ import annotations

from collections import Counter

from musforms.collect import CollectResult

_STATUS_WORDS = {
    "ok": "read",
    "recovered": "recovered from the layout — check by hand",
    "duplicate": "duplicates (an older or identical copy; the newest is used)",
    "not_musforms": "not musforms forms",
    "unreadable": "unreadable",
    "rejected": "rejected",
}


def summary_lines(result: CollectResult) -> list[str]:
    """What collect tells the HR officer. Reasons are musforms' own words, not answers."""
    report = result.report
    counts = Counter(e.status for e in result.new_files)
    lines = [f"Round {report.cycle}: {len(result.new_files)} files read this time."]
    for status in ("ok", "recovered", "duplicate", "not_musforms", "unreadable", "rejected"):
        if counts[status]:
            lines.append(f"  {counts[status]:>5}  {_STATUS_WORDS[status]}")
    total = len(report.returned) + len(report.missing)
    lines.append(f"Returned: {len(report.returned)} of {total}. Missing: {len(report.missing)}.")
    if report.missing:
        shown = ", ".join(report.missing[:20])
        more = f" and {len(report.missing) - 20} more" if len(report.missing) > 20 else ""
        lines.append(f"  missing: {shown}{more}")
    problems = [
        e
        for e in result.new_files
        if e.status in ("not_musforms", "unreadable", "rejected", "recovered")
    ]
    if problems:
        lines.append("Files that need a look:")
        for e in problems[:50]:
            who = f" (employee {e.employee_id})" if e.employee_id else ""
            if e.status == "recovered":
                lines.append(f"  {e.file}{who}: read from the page layout — check it by hand")
            else:
                lines.append(f"  {e.file}{who}: {e.status} — {e.reason}")
        if len(problems) > 50:
            lines.append(f"  … and {len(problems) - 50} more in report.json")
    flagged = sum(1 for e in result.new_files if e.status in ("ok", "recovered") and e.problems)
    if flagged:
        lines.append(
            f"{flagged} forms have answers to check (missing or unreadable); see report.json."
        )
    lines.append(f"Results: {result.out}")
    return lines
