"""The short human summary collect prints: counts and file names, never answer text."""

from __future__ import annotations

from musforms.collect import CollectResult
from musforms.i18n import N_, _
from musforms.report import CONFLICTING, STATUSES, FileEntry
from musforms.wording import counted

_STATUS_WORDS = {
    "ok": N_("read"),
    "recovered": N_("recovered from the layout — check by hand"),
    "duplicate": N_("duplicates (an identical copy, or the same answers; one is used)"),
    "superseded": N_("superseded (an older return with other answers; the newest counts)"),
    "blank": N_("returned blank (no answer at all; not counted as returned)"),
    "not_musforms": N_("not musforms forms"),
    "unreadable": N_("unreadable"),
    "rejected": N_("rejected"),
}


# A file's status on its own line of "Files that need a look", one file each.
_STATUS_ONE = {
    "not_musforms": N_("not a musforms form"),
    "unreadable": N_("unreadable"),
    "rejected": N_("rejected"),
}


# What each problem code means, in words of the tool's own: a problem's message may quote
# what was typed, so the summary never shows it.
_PROBLEM_WORDS = {
    "required_missing": N_("required, not answered"),
    "bad_date": N_("a date that could not be read (kept as typed)"),
    "bad_value": N_("a value that is not one of the choices"),
    "agreement_without_what": N_("an agreement with a who or a date but no 'what'"),
    "unknown_field": N_("a field the form does not have"),
    "missing_fields": N_("answer fields gone from the file"),
    "reader_note": N_("not read exactly from the page (see report.json)"),
    "table_as_text": N_("a table in the answer, kept as text"),
    "answers_kept": N_("the earlier answers kept"),
    "internal_error": N_("not read: a fault in musforms"),
    "approval_missing": N_("not approved (no tick): the agreements are not agreed yet"),
}
# Said by the file's own line in the summary already.
_SAID_ELSEWHERE = {"recovered", CONFLICTING}


def _problems_in_words(entry: FileEntry) -> str:
    """A file's problems as '<question>: <what>' (a question's own, else the file's), in
    the order found, each said once."""
    said: list[str] = []
    for problem in entry.problems:
        if problem.code in _SAID_ELSEWHERE:
            continue
        words = _PROBLEM_WORDS.get(problem.code)
        words = _(words) if words else problem.code.replace("_", " ")
        text = f"{problem.question}: {words}" if problem.question else words
        if text not in said:
            said.append(text)
    return "; ".join(said)


def summary_lines(result: CollectResult) -> list[str]:
    """What collect tells the HR officer. Reasons are musforms' own words, not answers."""
    counts = result.counts
    lines = [
        _("Round {cycle}: {files} read this time.").format(
            cycle=result.cycle, files=counted(result.files_read, "file", "files")
        )
    ]
    for status in STATUSES:
        if counts.get(status):
            lines.append(f"  {counts[status]:>5}  {_(_STATUS_WORDS[status])}")
    total = result.returned + result.missing
    lines.append(
        _("Returned: {returned} of {total}. Missing: {missing}.").format(
            returned=result.returned, total=total, missing=result.missing
        )
    )
    if result.missing:
        shown = ", ".join(
            f"{eid} ({_(result.missing_notes[eid])})" if eid in result.missing_notes else eid
            for eid in result.missing_first[:20]
        )
        more = _(" and {more} more").format(more=result.missing - 20) if result.missing > 20 else ""
        lines.append(_("  missing: {shown}{more}").format(shown=shown, more=more))
    if result.need_a_look_count:
        lines.append(_("Files that need a look:"))
        for e in result.need_a_look:
            who = _(" (employee {id})").format(id=e.employee_id) if e.employee_id else ""
            if e.status == "recovered":
                lines.append(
                    _("  {file}{who}: read from the page layout — check it by hand").format(
                        file=e.file, who=who
                    )
                )
            elif e.status == "blank":
                lines.append(
                    _("  {file}{who}: blank — {reason}").format(
                        file=e.file, who=who, reason=e.reason
                    )
                )
            else:
                one = _STATUS_ONE.get(e.status)
                said = _(one) if one else e.status
                lines.append(f"  {e.file}{who}: {said} — {e.reason}")
        if result.need_a_look_count > len(result.need_a_look):
            rest = result.need_a_look_count - len(result.need_a_look)
            lines.append(_("  … and {rest} more in report.json").format(rest=rest))
    if result.hint_count:
        lines.append(_("Forms sent by someone other than the employee (check with the employee):"))
        for e in result.hints:
            lines.append(
                _("  {file} (employee {employee_id}): {hint}").format(
                    file=e.file, employee_id=e.employee_id, hint=e.hint
                )
            )
        if result.hint_count > len(result.hints):
            lines.append(
                _("  … and {value} more in report.json").format(
                    value=result.hint_count - len(result.hints)
                )
            )
    if result.conflict_count:
        lines.append(
            _(
                "Returns of one form with different answers (the newest counts; check with the "
                "employee that it is the one they meant):"
            )
        )
        for counts_file, older in result.conflicts:
            lines.append(
                _("  {counts_file} counts; not {older}").format(
                    counts_file=counts_file, older=", ".join(older)
                )
            )
        if result.conflict_count > len(result.conflicts):
            rest = result.conflict_count - len(result.conflicts)
            lines.append(
                _("  … and {rest} more in report.json (status superseded)").format(rest=rest)
            )
    if result.flagged:
        lines.append(
            _(
                "{flagged} answers to check (missing or unreadable); each problem "
                "in full in report.json:"
            ).format(flagged=counted(result.flagged, "form has", "forms have"))
        )
        for entry, name in result.to_check:
            who = f"{entry.employee_id} {name}" if name else f"{entry.employee_id}"
            lines.append(f"  {who} ({entry.file}): {_problems_in_words(entry)}")
        if result.flagged > len(result.to_check):
            lines.append(
                _("  … and {value} more in report.json").format(
                    value=result.flagged - len(result.to_check)
                )
            )
    lines.append(_("Results: {out}").format(out=result.out))
    if result.conclusions_listed:
        from musforms.conclusions import conclusions_dir

        lines.append(
            _(
                "Conclusion forms for after the conversation: {listed} in {folder} "
                "({written} written this run)."
            ).format(
                listed=result.conclusions_listed,
                folder=conclusions_dir(result.out),
                written=result.conclusions_written,
            )
        )
    if result.conclusions is not None:
        lines.append(_("Returned conclusions:"))
        lines.extend(f"  {line}" for line in summary_lines(result.conclusions))
    return lines
