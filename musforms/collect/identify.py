"""Who a returned file belongs to: its identity verified with the key, checked against the
issued forms, and its raw values interpreted against the question set it was issued with."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from musforms import fieldnames as fn
from musforms.collect.context import Context, FileResult
from musforms.collect.merge import has_answers
from musforms.conclusion import approval_problems, conclusion_of, is_conclusion_set
from musforms.errors import IdentityError, SignatureError
from musforms.formats import Issued, Resolver
from musforms.i18n import _
from musforms.identity import form_id_from_code, peek, verify
from musforms.interpret import interpret, unknown_fields
from musforms.manifest import issued_question_set
from musforms.models import FormKind, Problem, QuestionSet, RawForm
from musforms.report import FileEntry
from musforms.response import (
    AnswerValue,
    Response,
    ResponseAgreement,
    ResponseEmployee,
    ResponseForm,
    ResponseQuestionSet,
    ResponseSource,
)
from musforms.results import response_path
from musforms.workdb import IssuedForm


class _QuestionSets:
    """Issued question sets by digest, loaded once per process."""

    def __init__(self, forms_dir: Path) -> None:
        self.forms_dir = forms_dir
        self._cache: dict[str, QuestionSet | None] = {}

    def get(self, digest: str) -> QuestionSet | None:
        if digest not in self._cache:
            self._cache[digest] = issued_question_set(self.forms_dir, digest)
        return self._cache[digest]


_QS: dict[Path, _QuestionSets] = {}


def _question_sets(ctx: Context) -> _QuestionSets:
    if ctx.forms_dir not in _QS:
        _QS[ctx.forms_dir] = _QuestionSets(ctx.forms_dir)
    return _QS[ctx.forms_dir]


def resolver(ctx: Context) -> Resolver:
    forms = ctx.index

    def resolve(raw: RawForm) -> Issued | None:
        claimed = None
        if raw.token:
            try:
                claimed = peek(raw.token)
            except IdentityError:
                claimed = None
        form_id = claimed.form_id if claimed else None
        if form_id is None and raw.form_code:
            form_id = form_id_from_code(raw.form_code) or raw.form_code
        form = forms.get(form_id) if form_id else None
        digest = form.question_set_digest if form else claimed and claimed.question_set_digest
        qs = _question_sets(ctx).get(digest) if digest else None
        if qs is None:
            return None
        if form is None:  # a form not issued from this folder: its questions, no layout
            return Issued(qs, None, None)
        name = form.files.get(raw.format)
        issued = ctx.forms_dir / name if name else None
        return Issued(qs, form.language, issued if issued and issued.is_file() else None)

    return resolve


def _prefill(raw: RawForm) -> dict[str, str | None]:
    return {
        name: (value if isinstance(value, str) else None)
        for name, value in raw.fields.items()
        if fn.is_reserved(name) and name != fn.IDENTITY
    }


def _swapped_identity(raw: RawForm, form_id: str, ctx: Context) -> str | None:
    """Say so when a form carries another employee's identity, not just an edited field."""
    claimed = ctx.index.get(form_id)
    printed = raw.fields.get(fn.PREFILL_NAME)
    if claimed is None or not isinstance(printed, str) or printed == claimed.name:
        return None
    if not ctx.index.has_name(printed):
        return None
    return (
        f"the form printed for {printed} carries the identity of another employee's form "
        f"(issued to employee {claimed.employee_id}): not merged into anyone's answers"
    )


def _reject(entry: FileEntry, reason: str) -> FileResult:
    entry.status = "rejected"
    entry.reason = reason
    return FileResult(entry)


def identify(raw: RawForm, entry: FileEntry, ctx: Context) -> FileResult:
    """Who the file belongs to, checked, and its answers interpreted."""
    result = _identify(raw, entry, ctx)
    if result.key_ok is None and raw.token and entry.form_id:
        result.key_ok = True  # it verified; what was found wrong after that is the form's
    return result


def _identify(raw: RawForm, entry: FileEntry, ctx: Context) -> FileResult:
    forms = ctx.index
    recovered = False
    of_form = None
    if raw.token:
        try:
            identity = verify(ctx.key, raw.token, _prefill(raw))
        except IdentityError as exc:
            reason = str(exc)
            try:
                claimed = peek(raw.token)
                entry.form_id, entry.employee_id = claimed.form_id, claimed.employee_id
                if claimed.kind != ctx.kind:  # rejected by the pass of its kind, in its report
                    return FileResult(entry, elsewhere=True)
                reason = _swapped_identity(raw, claimed.form_id, ctx) or reason
            except IdentityError:
                pass
            rejected = _reject(entry, reason)
            rejected.key_ok = not isinstance(exc, SignatureError) if entry.form_id else None
            return rejected
        entry.form_id, entry.employee_id = identity.form_id, identity.employee_id
        if identity.kind != ctx.kind:
            return FileResult(entry, key_ok=True, elsewhere=True)
        of_form = identity.of_form
        form = forms.get(identity.form_id)
        # Read from the page (fields flattened away): the identity holds, the answers need
        # a look by hand.
        recovered = raw.read_by == "page"
        if identity.cycle != ctx.cycle:
            return _reject(
                entry,
                f"a form from round {identity.cycle}, not {ctx.cycle}: "
                "collect it with that round's forms folder",
            )
        if form is None or form.employee_id != identity.employee_id:
            return _reject(entry, "a form that was not issued in this round (unknown form id)")
        if form.question_set_digest != identity.question_set_digest:
            return _reject(
                entry,
                "issued with another version of the question set than the one now on record "
                "for this employee (an older copy of a form that was generated again)",
            )
    elif raw.form_code:
        fid = form_id_from_code(raw.form_code) or raw.form_code
        found = forms.get(fid)
        if found is None:
            entry.form_id = fid
            if forms.is_elsewhere(fid):  # e.g. a printed conclusion form, for its own pass
                return FileResult(entry, elsewhere=True)
            return _reject(entry, f"the form code {raw.form_code} was not issued in this round")
        form = found
        entry.form_id, entry.employee_id = form.form_id, form.employee_id
        recovered = True
    else:
        entry.status = "not_musforms"
        entry.reason = _("no musforms identity or form code in the file")
        return FileResult(entry)

    if not ctx.index.in_roster(form.employee_id):
        return _reject(entry, f"employee {form.employee_id} is not in the roster for this round")
    qs = _question_sets(ctx).get(form.question_set_digest)
    if qs is None:
        return _reject(
            entry,
            "the question set this form was issued with is missing from the forms folder",
        )
    proposals = _proposals(ctx, form.employee_id) if ctx.kind == "conclusion" else None
    return _respond(raw, entry, form, qs, recovered, ctx.cycle, ctx.kind, of_form, proposals)


def _proposals(ctx: Context, employee_id: str) -> list[ResponseAgreement] | None:
    """The agreements the employee proposed, as on record beside the conclusions folder
    (what their conclusion form was issued with), or None when none is on record."""
    path = response_path(ctx.forms_dir.parent, employee_id)
    try:
        return Response.model_validate_json(path.read_text(encoding="utf-8")).agreements
    except (OSError, ValueError):
        return None


def _as_issued(
    answers: dict[str, AnswerValue],
    typed: dict[str, str],
    agreements: list[ResponseAgreement],
    proposals: list[ResponseAgreement] | None,
    qs: QuestionSet,
) -> bool:
    """Whether a conclusion holds nothing but the proposals it was issued with: no text, no
    tick, no date, and the agreements as prefilled."""
    if proposals is None or typed or any(v not in (None, False, "", []) for v in answers.values()):
        return False
    from musforms.conclusion import AGREEMENTS

    question = qs.question(AGREEMENTS)
    rows = (question.rows or 0) if question is not None else 0

    def key(a: ResponseAgreement) -> tuple[object, ...]:
        return (a.what, a.owner, a.due)

    return [key(a) for a in agreements] == [key(a) for a in proposals[:rows]]


def _respond(
    raw: RawForm,
    entry: FileEntry,
    form: IssuedForm,
    qs: QuestionSet,
    recovered: bool,
    cycle: str,
    kind: FormKind = "preparation",
    of_form: str | None = None,
    proposals: list[ResponseAgreement] | None = None,
) -> FileResult:
    result = interpret(qs, raw.fields, form.language)
    agreements = list(result.agreements)
    problems = list(result.problems)
    for name in unknown_fields(qs, raw.fields):
        problems.append(
            Problem(
                code="unknown_field",
                question=None,
                message=_("unexpected field {name!r}").format(name=name),
            )
        )
    if raw.read_by in ("fields", "tags"):
        missing = [
            s.name for s in fn.all_fields(qs) if s.kind != "checkbox" and s.name not in raw.fields
        ]
        if missing:
            problems.append(
                Problem(
                    code="missing_fields",
                    question=None,
                    message=_(
                        "{missing} answer fields are gone from the file (first: "
                        "{missing2}); those answers could not be read"
                    ).format(missing=len(missing), missing2=missing[0]),
                )
            )
    if recovered:
        problems.insert(
            0,
            Problem(
                code="recovered",
                question=None,
                message=_(
                    "the form's fields were gone (printed or converted); answers were "
                    "read from the page layout — check them by hand"
                ),
            ),
        )
    problems.extend(raw.problems)
    for note in raw.notes:
        problems.append(Problem(code="reader_note", question=None, message=note))
    conclusion = None
    if kind == "conclusion" and is_conclusion_set(qs):
        if _as_issued(result.answers, result.typed, agreements, proposals, qs):
            agreements = []  # nothing but the proposals it was issued with: returned blank
        conclusion = conclusion_of(form.form_id, result.answers, agreements, entry.saved_at)
        if has_answers({"answers": result.answers, "agreements": agreements}):
            problems.extend(approval_problems(conclusion))
    status: Literal["ok", "recovered"] = "recovered" if recovered else "ok"
    entry.status = status
    entry.problems = problems
    response = Response(
        employee=ResponseEmployee(
            id=form.employee_id,
            name=form.name,
            department=form.department,
            manager=form.manager,
            email=form.email,
            meeting_date=form.meeting_date,
        ),
        form=ResponseForm(
            form_id=form.form_id,
            cycle=cycle,
            question_set=ResponseQuestionSet(id=qs.id, version=qs.version),
            language=form.language if form.language in ("da", "en") else None,
            kind=kind if kind != "preparation" else None,
            of_form=of_form,
        ),
        answers=result.answers,
        typed=result.typed,
        agreements=agreements,
        previous_agreements=result.previous_agreements,
        problems=problems,
        source=ResponseSource(
            file=entry.file,
            sha256=entry.sha256 or "",
            format=raw.format,
            read_by=raw.read_by,
            saved_at=entry.saved_at,
            status=status,
        ),
        conclusion=conclusion,
    )
    return FileResult(entry, response, response.to_json())
