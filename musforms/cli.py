"""The musforms command line: click commands only.

Each command parses its options, makes one library call, and echoes. Library errors
(MusformsError) become one ``Error: …`` line and exit 1; usage mistakes are click's (exit 2).
Heavy libraries are imported inside the commands so ``musforms --help`` starts fast.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from musforms import __version__
from musforms.errors import MusformsError
from musforms.i18n import N_, _, command_language, ngettext, set_language
from musforms.limits import DEFAULT_LIMITS, MB, Limits
from musforms.wording import counted

F = TypeVar("F", bound=Callable[..., Any])


def _musforms_command_line() -> list[str]:
    """The arguments of ``musforms ...`` when this process is musforms (not, say, a test
    runner that imports it)."""
    program = Path(sys.argv[0]).name if sys.argv else ""
    is_musforms = program == "musforms" or sys.argv[0].endswith(("musforms/__main__.py", "-c"))
    return sys.argv[1:] if is_musforms else []


# Every message, the help of each command and option included, in the HR officer's language,
# chosen before any is made: from the locale and the settings the command line points at
# (musforms.i18n.command_language). Click's own words (Usage:, Options, Error: …) come from
# the same catalogues.
set_language(command_language(_musforms_command_line()))


def _click_in_our_words() -> None:
    """click's messages go through musforms' catalogues (the ones an HR officer meets are in
    them, see _click_words; any other stays click's English)."""
    import gettext

    for name, module in list(sys.modules.items()):
        if name == "click" or name.startswith("click."):
            if getattr(module, "_", None) is gettext.gettext:
                module._ = _  # type: ignore[attr-defined]
            if getattr(module, "ngettext", None) is gettext.ngettext:
                module.ngettext = ngettext  # type: ignore[attr-defined]


_click_in_our_words()


def _click_words() -> None:  # pragma: no cover - never called: marks click's texts
    """click's own texts an HR officer meets, so that the catalogues hold them (their ids
    are click's, word for word)."""
    N_("Usage:")
    N_("Options")
    N_("Commands")
    N_("Positional arguments")
    N_("Show this message and exit.")
    N_("Show the version and exit.")
    N_("%(prog)s, version %(version)s")
    N_("Error: {message}")
    N_("Aborted!")
    N_("Try '{command} {option}' for help.")
    N_("Invalid value: {message}")
    N_("Invalid value for {param_hint}: {message}")
    N_("Missing argument")
    N_("Missing option")
    N_("Missing parameter")
    N_("Missing command.")
    N_("No such option {name!r}.")
    N_("No such command {name!r}.")
    N_("default: {default}")
    N_("env var: {var}")
    N_("required")
    N_("file")
    N_("directory")
    N_("path")
    N_("{name} {filename!r} does not exist.")
    N_("{name} {filename!r} is a file.")
    N_("{name} {filename!r} is a directory.")
    N_("{name} {filename!r} is not readable.")
    N_("{name} {filename!r} is not writable.")
    N_("{value!r} is not a valid {number_type}.")
    N_("{value} is not in the range {range}.")
    N_("Could not open file {filename!r}: {message}")
    ngettext("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})", 2)
    ngettext("{value!r} is not {choice}.", "{value!r} is not one of {choices}.", 2)
    ngettext("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)", 2)
    ngettext(
        "Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments.", 2
    )


class _Command(click.Command):
    """A command whose help (its docstring) is in the HR officer's language."""

    def __init__(self, *args: Any, help: str | None = None, **kwargs: Any) -> None:
        import inspect

        kwargs["help"] = _(inspect.cleandoc(help)) if help else help
        super().__init__(*args, **kwargs)


class _Group(click.Group):
    """musforms itself: its commands' help translated, and the language chosen anew for each
    run (as a test runner's invoke does it, with its own environment)."""

    command_class = _Command

    def __init__(self, *args: Any, help: str | None = None, **kwargs: Any) -> None:
        import inspect

        kwargs["help"] = _(inspect.cleandoc(help)) if help else help
        super().__init__(*args, **kwargs)

    def main(self, args: Any = None, *rest: Any, **kwargs: Any) -> Any:
        words = sys.argv[1:] if args is None else list(args)
        set_language(command_language(words))
        return super().main(args, *rest, **kwargs)


# The kinds of paths the commands take, and the options several commands share.
FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
FOLDER = click.Path(exists=True, file_okay=False, path_type=Path)
NEW_FOLDER = click.Path(file_okay=False, path_type=Path)


class _Returned(click.ParamType[Any]):
    """A file or folder that exists, or an IMAP folder (imaps://USER@HOST/FOLDER)."""

    name = "file|folder|imaps://…"
    _path = click.Path(exists=True, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from musforms.mail.imap import is_imap_url

        if isinstance(value, str) and is_imap_url(value):
            return value
        return self._path.convert(value, param, ctx)


RETURNED = _Returned()


class _Date(click.ParamType[Any]):
    """A date as the roster takes it (musforms.dates): 16-01-2027, 16.01.2027, 2027-01-16 …"""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        import datetime as dt

        from musforms.dates import parse_date

        if isinstance(value, dt.date):
            return value
        try:
            day = parse_date(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if day is None:
            self.fail(_("no date given; write it as dd-mm-åååå, e.g. 14-01-2027"), param, ctx)
        return day


DATE = _Date()
YES = frozenset({"j", "ja", "y", "yes"})
NO = frozenset({"", "n", "nej", "no"})


def _confirm(question: str) -> bool:
    """Ask a yes/no question on the terminal; Danish (j, ja, n, nej) and English answers are
    taken, and no answer is no."""
    while True:
        answer = click.prompt(
            _("{question} [y/N]").format(question=question), default="", show_default=False
        )
        if answer.strip().lower() in YES:
            return True
        if answer.strip().lower() in NO:
            return False
        click.echo(_("Answer j (ja), y (yes) or n (no)."), err=True)


WORKERS = click.option(
    "--workers", type=click.IntRange(1, 64), default=None, help=_("Processes to use.")
)


def key_file_option(help: str) -> Callable[[F], F]:
    return click.option(
        "--key-file",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="MUSFORMS_KEY_FILE",
        help=help,
    )


def friendly(func: F) -> F:
    """Turn a MusformsError into ``Error: …`` and exit 1, never a traceback; so too a full
    disk (whatever exception it comes as), a folder that cannot be written, and (without
    --debug) any other failure. A job that stopped part way says what it had changed by then
    and what was left as it was (musforms.written); Ctrl-C says it too."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MusformsError as exc:
            raise click.ClickException(_stopped(str(exc), exc, quiet=True)) from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise  # usage mistakes and exits keep click's own wording and exit code
        except KeyboardInterrupt as exc:
            click.echo(_stopped(_("Stopped."), exc), err=True)
            sys.exit(130)
        except Exception as exc:
            from musforms.nospace import no_space

            full = no_space(exc)
            if full is not None:
                what, fix = _no_space(full)
                raise click.ClickException(_stopped(what, exc, fix=fix)) from None
            if isinstance(exc, OSError):
                reason = exc.strerror or str(exc)
                if exc.filename:
                    what = _("cannot read or write {file}: {reason}").format(
                        file=exc.filename, reason=reason
                    )
                else:
                    what = _("cannot read or write: {reason}").format(reason=reason)
                fix = _("Fix the cause (the folder's permissions, a disk read-only or not there)")
                raise click.ClickException(_stopped(what, exc, fix=fix)) from None
            if _debugging():
                raise
            what = _("musforms stopped on an unexpected problem ({kind})").format(
                kind=exc.__class__.__name__
            )
            advice = _(
                "Run it again with --debug (musforms --debug ...) to see where, and report it."
            )
            raise click.ClickException(_stopped(what, exc, advice=advice)) from None

    return wrapper  # type: ignore[return-value]


def _no_space(full: OSError) -> tuple[str, str]:
    """What a full disk is called, and what to do about it."""
    from musforms.nospace import is_temporary, temporary_folder

    if is_temporary(full.filename):
        return (
            _(
                "no space left in the temporary folder (TMPDIR={folder}), where "
                "musforms keeps its working files while it runs"
            ).format(folder=temporary_folder()),
            _(
                "Free space there, or point TMPDIR at a folder on a disk with room "
                "(TMPDIR=/path/to/folder musforms ...)"
            ),
        )
    if full.filename:
        return (
            _("no space left on the disk of {file}").format(file=full.filename),
            _("Free space on that disk (or write to a folder on another disk)"),
        )
    return _("no space left on the disk"), _("Free space on the disk")


def _stopped(
    what: str, exc: BaseException, *, fix: str = "", advice: str = "", quiet: bool = False
) -> str:
    """``what`` happened, what the job had done by then, and what to do: ``advice``, and
    ``fix`` the cause, then finish the job. ``quiet``: say nothing of a job that had changed
    nothing (a mistake in HR's files, found before anything was written)."""
    from musforms.written import stopped

    done = stopped(exc)
    parts = []
    if done is not None and (done.changed or not quiet):
        parts.append(done.state)
    if advice:
        parts.append(advice)
    again = done.again if done is not None else _("run it again")
    if fix:
        parts.append(_("{fix}, then {again}.").format(fix=fix, again=again))
    elif done is not None and done.changed:
        parts.append(_("To finish the job, {again}.").format(again=again))
    if not parts:
        return what
    return " ".join([what if what.endswith((".", "?", "!")) else what + ".", *parts])


def _names(first: list[str], count: int) -> str:
    if count > len(first):
        return _("{names} and {more} more").format(names=", ".join(first), more=count - len(first))
    return ", ".join(first)


def _warn(warnings: list[str]) -> None:
    """What a command's result says HR should know and act on (a key or folder open to
    other users), one ``Warning: …`` line each on stderr."""
    for warning in warnings:
        click.echo(_("Warning: {warning}").format(warning=warning), err=True)


def _debugging() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.find_root().params.get("debug"))


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="musforms")
@click.option(
    "--debug",
    is_flag=True,
    help=_(
        "Show log messages on stderr. They may quote returned files, answers included: "
        "use it only to investigate a problem, and do not share the output."
    ),
)
def cli(debug: bool) -> None:
    """Prepare, collect and follow up MUS (medarbejderudviklingssamtale) forms.

    \b
    A yearly round:
      musforms init mus2026                      # a question set, roster template, how-to
      musforms check mus2026/config/questions.yaml
      musforms generate --questions mus2026/config/questions.yaml \\
                        --roster roster.csv --out forms/2026 --cycle 2026
      musforms collect returned/ --forms forms/2026 --out results/2026
    """
    _configure_logging(debug)


def _configure_logging(debug: bool) -> None:
    """Log messages go nowhere unless --debug: pypdf, for one, quotes the bytes around a
    damaged spot of a file, and those bytes can be an employee's answers. Python warnings
    from the libraries (meant for programmers) are log messages too."""
    import logging

    logging.captureWarnings(True)
    root = logging.getLogger()
    if not debug:
        if not root.handlers:  # else Python prints warnings to stderr by itself
            root.addHandler(logging.NullHandler())
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    click.get_current_context().call_on_close(lambda: root.removeHandler(handler))


def main() -> None:
    """Console-script entry point."""
    try:
        cli.main(prog_name="musforms")
    except KeyboardInterrupt:
        click.echo(_("Stopped."), err=True)
        sys.exit(130)


def _progress_bar(total: int, label: str) -> Any:
    """A progress bar on stderr when there is enough work to wait for, else a no-op."""
    show = total >= 50 and sys.stderr.isatty()
    return click.progressbar(length=total, label=label, file=sys.stderr) if show else None


@cli.command()
@click.option(
    "--questions",
    "-q",
    type=FILE,
    help=_("The question set (YAML) [with --followup: the built-in opfoelgning]."),
)
@click.option(
    "--roster",
    "-r",
    type=FILE,
    help=_("The employees: CSV (as Excel saves it) or XLSX."),
)
@click.option(
    "--out",
    "-o",
    required=True,
    type=NEW_FOLDER,
    help=_("Folder for the forms, e.g. forms/2026."),
)
@click.option("--cycle", help=_("The round, e.g. 2026."))
@click.option(
    "--format",
    "formats",
    default="pdf,docx",
    show_default=True,
    help=_("Which forms to write: pdf, docx or pdf,docx."),
)
@click.option(
    "--lang",
    type=click.Choice(["da", "en"]),
    default=None,
    help=_("Form language where the roster has no 'language' [default: musforms.toml, else da]."),
)
@click.option(
    "--config",
    "settings",
    type=FILE,
    help=_("Organisation settings (musforms.toml) [default: beside the question set]."),
)
@click.option(
    "--previous",
    type=FOLDER,
    help=_("Last round's results folder: its open agreements are printed in the new forms."),
)
@click.option(
    "--followup",
    type=FOLDER,
    metavar="RESULTS",
    help=_(
        "A round's results folder: write the check-in forms, each open agreement with a "
        "status and a comment, e.g. --followup results/2026 --out forms/2026-opfoelgning."
    ),
)
@click.option(
    "--template",
    type=FILE,
    help=_("Word template for the .docx forms [default: form_templates/form.docx]."),
)
@key_file_option(_("The signing key [default: ~/.config/musforms/key, made on first use]."))
@WORKERS
@friendly
def generate(
    questions: Path | None,
    roster: Path | None,
    out: Path,
    cycle: str | None,
    formats: str,
    lang: str | None,
    settings: Path | None,
    previous: Path | None,
    followup: Path | None,
    template: Path | None,
    key_file: Path | None,
    workers: int | None,
) -> None:
    """Write a personalised, fillable form for every employee in the roster.

    \b
    Example:
      musforms generate --questions config/questions.yaml --roster roster.csv \\
                        --out forms/2026 --cycle 2026
      musforms generate --followup results/2026 --out forms/2026-opfoelgning
    """
    from musforms.generate import generate as run
    from musforms.generate import generate_followup

    wanted = [f.strip().lower() for f in formats.split(",") if f.strip()]
    if followup is not None:
        given = [
            o for o, v in (("--roster", roster), ("--cycle", cycle), ("--previous", previous)) if v
        ]
        if given:
            raise click.UsageError(
                _(
                    "--followup takes the employees and the round from its results folder: "
                    "leave out {options}"
                ).format(options=", ".join(given))
            )
        result = generate_followup(
            followup,
            out,
            questions=questions,
            formats=wanted,
            lang=lang,  # type: ignore[arg-type]
            settings=settings,
            template=template,
            key_file=key_file,
            workers=workers,
        )
    else:
        missing = [
            o
            for o, v in (("--questions", questions), ("--roster", roster), ("--cycle", cycle))
            if not v
        ]
        if missing:
            raise click.UsageError(
                _("generate needs {options} (or --followup RESULTS for check-in forms)").format(
                    options=", ".join(missing)
                )
            )
        assert questions is not None and roster is not None and cycle is not None
        result = run(
            questions,
            roster,
            out,
            cycle,
            formats=wanted,
            lang=lang,  # type: ignore[arg-type]
            settings=settings,
            previous=previous,
            template=template,
            key_file=key_file,
            workers=workers,
        )
    from musforms import formats as registry

    _warn(result.warnings)
    kinds = _(" and ").join(registry.get(f).title for f in result.formats)
    click.echo(
        _("Wrote {count} ({kinds}) to {out}").format(
            count=counted(result.count, "form", "forms"), kinds=kinds, out=out
        )
    )
    click.echo(_("  manifest: {value}").format(value=out / "manifest.json"))
    if followup is not None or previous is not None:
        source = followup or previous
        click.echo(
            _(
                "  Agreements from {results}: {carried}, {checked} of them with the status "
                "a check-in gave (the form shows it under the agreement)"
            ).format(
                results=source,
                carried=counted(result.carried, "agreement", "agreements"),
                checked=result.carried_from_checkins,
            )
        )
    if previous is not None:
        click.echo(
            _(
                "  Last round's agreements carried: as agreed in the conclusion for {agreed}, "
                "as proposed (no conclusion came back) for {proposed}."
            ).format(
                agreed=counted(result.carried_agreed, "employee", "employees"),
                proposed=counted(result.carried_proposed, "employee", "employees"),
            )
        )
    if result.completed:
        click.echo(
            _(
                "  Completed {completed} that an interrupted run had left unfinished: {names}"
            ).format(
                completed=counted(result.completed, "form file", "form files"),
                names=_names(result.completed_first, result.completed),
            )
        )
    if result.removed:
        click.echo(
            _(
                "  Removed {removed} that an interrupted run had left, never "
                "issued and of employees no longer on the roster: {names}"
            ).format(
                removed=counted(result.removed, "unfinished form file", "unfinished form files"),
                names=_names(result.removed_first, result.removed),
            )
        )
    if result.key_created:
        click.echo(
            _(
                "  A new signing key was made at {key_path}.\n  Back it up: "
                "collecting these forms later, or on another computer, needs it."
            ).format(key_path=result.key_path)
        )


@cli.command()
@click.argument("returned", nargs=-1, required=True, type=RETURNED)
@click.option(
    "--forms",
    "forms_dir",
    required=True,
    type=FOLDER,
    help=_("The folder generate wrote the forms and manifest.json to, e.g. forms/2026."),
)
@click.option(
    "--out",
    "-o",
    required=True,
    type=NEW_FOLDER,
    help=_("Folder for the results, e.g. results/2026."),
)
@click.option(
    "--roster",
    type=FILE,
    help=_("Who should have returned a form [default: everyone in the manifest]."),
)
@click.option("--strict", is_flag=True, help=_("Also fail when required answers are missing."))
@click.option(
    "--max-size",
    type=click.IntRange(1, 2000),
    default=DEFAULT_LIMITS.max_bytes // MB,
    show_default=True,
    help=_("Largest file to read, in MB (1 MB = 1,000,000 bytes)."),
)
@click.option(
    "--time-limit",
    type=click.IntRange(1, 3600),
    default=DEFAULT_LIMITS.seconds,
    show_default=True,
    help=_("Longest time to spend on one file, in seconds."),
)
@key_file_option(
    _("The signing key the forms were generated with [default: ~/.config/musforms/key].")
)
@click.option("--full", is_flag=True, help=_("Read every file again, not only what is new."))
@click.option(
    "--conclusion-format",
    "conclusion_format",
    default="docx",
    show_default=True,
    metavar="FORMATS",
    help=_(
        "Formats of the conclusion forms issued for the returned preparations "
        "(in OUT/conclusions): docx, pdf or pdf,docx; none for no conclusion forms."
    ),
)
@click.option(
    "--conclusion-questions",
    type=FILE,
    help=_("Your own conclusion question set [default: the built-in konklusion]."),
)
@WORKERS
@friendly
def collect(
    returned: tuple[Path | str, ...],
    forms_dir: Path,
    out: Path,
    roster: Path | None,
    strict: bool,
    max_size: int,
    time_limit: int,
    key_file: Path | None,
    full: bool,
    conclusion_format: str,
    conclusion_questions: Path | None,
    workers: int | None,
) -> None:
    """Read the returned forms (PDF and Word, any file names) into results.

    Every employee whose preparation is back gets a conclusion form in OUT/conclusions, to
    fill in after the conversation. Returned conclusion forms are collected with the rest,
    from the same folders; the follow-up list then holds the agreed agreements.

    RETURNED are files or folders (read recursively), mail among them: .eml and Outlook
    .msg files, mbox files and Maildir folders, and IMAP folders as
    imaps://USER@HOST[:PORT]/FOLDER (password in MUSFORMS_IMAP_PASSWORD; mail is only
    read, never marked as read, moved or deleted). Earlier results in --out are kept and
    updated, so run it again whenever more forms arrive: only what is new is read.

    \b
    Exit codes: 0 every file could be used; 1 some could not (the usable ones are still
    collected); with --strict also 1 when required answers are missing.

    \b
    Examples:
      musforms collect returned/ --forms forms/2026 --out results/2026
      musforms collect imaps://hr%40firma.dk@mail.firma.dk/MUS --forms forms/2026 --out results/2026
    """
    from musforms.collect import collect as run
    from musforms.summary import summary_lines

    bar: Any = None

    def on_total(total: int) -> None:
        nonlocal bar
        bar = _progress_bar(total, _("Reading returned forms"))
        if bar is not None:
            bar.__enter__()

    def progress(n: int) -> None:
        if bar is not None:
            bar.update(n)

    try:
        result = run(
            list(returned),
            forms_dir,
            out,
            roster=roster,
            key_file=key_file,
            limits=Limits(max_bytes=max_size * MB, seconds=time_limit),
            workers=workers,
            progress=progress,
            on_total=on_total,
            full=full,
            conclusion_formats=_conclusion_formats(conclusion_format),
            conclusion_questions=conclusion_questions,
        )
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    _warn(result.warnings)
    for line in summary_lines(result):
        click.echo(line)
    if result.outputs is not None:
        from musforms.outputs import output_lines

        for line in output_lines(result.outputs):
            click.echo(line)
    concluded = result.conclusions
    if concluded is not None and (concluded.unusable or (strict and concluded.strict_failures)):
        sys.exit(1)
    if result.unusable or (strict and result.strict_failures):
        sys.exit(1)


def _conclusion_formats(text: str) -> tuple[str, ...] | None:
    """``pdf,docx`` → ("pdf", "docx"); ``none`` → None (no conclusion forms)."""
    from musforms.formats import writable

    wanted = [f.strip().lower() for f in text.split(",") if f.strip()]
    if wanted == ["none"]:
        return None
    can = [f.name for f in writable()]
    bad = [f for f in wanted if f not in can]
    if bad or not wanted:
        raise click.BadParameter(
            _("unknown format {value}: use {can} or {can2}").format(
                value=", ".join(bad) or "(none)", can=", ".join(can), can2=",".join(can)
            ),
            param_hint="--conclusion-format",
        )
    return tuple(dict.fromkeys(wanted))


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the response files (responses/<employee>.json).

    \b
    Example:
      musforms schema > response.schema.json
    """
    from musforms.response import json_schema

    click.echo(json_schema(), nl=False)


@cli.command()
@click.argument("results", type=FOLDER)
@click.option(
    "--before",
    required=True,
    type=DATE,
    help=_(
        "Delete answers from meetings before this date (01-06-2026, 1.6.2026, 2026-06-01 …: "
        "as the roster's dates)."
    ),
)
@click.option("--yes", is_flag=True, help=_("Do not ask before deleting."))
@friendly
def purge(results: Path, before: Any, yes: bool) -> None:
    """Delete collected answers older than a date (retention), and every trace of them.

    Lists what it will delete and asks first. Responses, minutes, report lines and
    follow-up rows of the employees concerned go; the rest stays. Temporary files that a
    stopped run left in RESULTS go too.

    \b
    Example:
      musforms purge results/2025 --before 2026-06-01
    """
    from musforms.purge import execute, plan_purge

    plan = plan_purge(results, before)
    if not plan.employee_ids:
        click.echo(
            _("Nothing in {results} is dated before {before:%d-%m-%Y}.").format(
                results=results, before=before
            )
        )
        if plan.empty:
            return
    else:
        click.echo(
            _(
                "This deletes the answers of {employee_ids} (meetings before "
                "{before:%d-%m-%Y}) from {results}:"
            ).format(
                employee_ids=counted(len(plan.employee_ids), "employee", "employees"),
                before=before,
                results=results,
            )
        )
        for path in plan.files:
            click.echo(f"  {path}")
        click.echo(
            _("  and their {report_lines} in report.json and rows in the follow-up list.").format(
                report_lines=counted(plan.report_lines, "line", "lines")
            )
        )
    if plan.leftovers:
        click.echo(
            (
                _(
                    "It also deletes {leftovers} that stopped runs left (they may hold answers "
                    "and names):"
                )
                if plan.employee_ids
                else _(
                    "This deletes {leftovers} that stopped runs left (they may hold answers "
                    "and names):"
                )
            ).format(
                leftovers=counted(len(plan.leftovers), "temporary file", "temporary files"),
            )
        )
        for path in plan.leftovers:
            click.echo(f"  {path}")
    if not yes and not _confirm(_("Delete them?")):
        click.echo(_("Nothing was deleted."))
        return
    removed = execute(plan)
    if plan.employee_ids:
        kept = counted(plan.kept, "employee's answers remain", "employees' answers remain")
        click.echo(
            _("Deleted {files}; {kept}.").format(
                files=counted(len(plan.files), "file", "files"), kept=kept
            )
        )
    if removed:
        click.echo(
            _("Deleted {removed} that stopped runs left.").format(
                removed=counted(removed, "temporary file", "temporary files")
            )
        )


@cli.command()
@click.argument("questions")
@click.option(
    "--config",
    "settings",
    type=FILE,
    help=_("Organisation settings (musforms.toml) [default: beside the question set]."),
)
@friendly
def check(questions: str, settings: Path | None) -> None:
    """Check a question set (and the musforms.toml beside it) before you use it.

    Errors name the file, the line (in a workbook: the sheet and the cell) and what to do;
    exit 1. Advice (a form too long to be filled in well, a missing translation, no
    agreements question) is printed as warnings; exit 0. QUESTIONS is a file (YAML or an
    Excel workbook, .xlsx) or the name of a built-in set.

    \b
    Example:
      musforms check config/questions.yaml
      musforms check config/questions.xlsx
      musforms check kort
    """
    from musforms.questionset import lint_file, load_question_set, resolve_question_set, summary
    from musforms.settings import load_settings

    path = resolve_question_set(questions)
    qs = load_question_set(path)
    organisation = load_settings(settings, near=path)
    for warning in lint_file(path, qs):
        click.echo(_("Warning: {warning}").format(warning=warning), err=True)
    click.echo(_("OK: {summary}").format(summary=summary(qs, organisation.default_language)))


@cli.command("sets")
@click.option(
    "--lang",
    type=click.Choice(["da", "en"]),
    default="da",
    show_default=True,
    help=_("Language of the descriptions."),
)
@friendly
def sets_command(lang: str) -> None:
    """List the question sets that come with musforms.

    \b
    Example:
      musforms sets
      musforms init mus2026 --set kort
    """
    from musforms.questionset import (
        builtin_description,
        builtin_sets,
        estimate_minutes,
        load_question_set,
    )

    sets = builtin_sets()
    width = max(len(name) for name in sets)
    for name, path in sets.items():
        qs = load_question_set(path)
        size = _("{questions}, about {minutes} min").format(
            questions=counted(len(qs.questions()), "question", "questions"),
            minutes=estimate_minutes(qs),
        )
        click.echo(f"{name:<{width}} {builtin_description(name, lang)} ({size})")


@cli.command()
@click.argument("folder", type=NEW_FOLDER)
@click.option(
    "--set",
    "set_name",
    default="standard",
    show_default=True,
    help=_("The built-in question set to start from (see musforms sets)."),
)
@click.option("--organisation", default="", help=_("Your organisation's name, for musforms.toml."))
@click.option(
    "--xlsx", is_flag=True, help=_("Write the questions as an Excel workbook (questions.xlsx).")
)
@click.option("--force", is_flag=True, help=_("Overwrite files that are already there."))
@friendly
def init(folder: Path, set_name: str, organisation: str, xlsx: bool, force: bool) -> None:
    """Make a folder ready for a MUS round: questions, settings, roster template, how-to.

    Writes FOLDER/config/questions.yaml (a built-in set with comments, ready to edit;
    with --xlsx FOLDER/config/questions.xlsx, a workbook with a guide sheet instead),
    FOLDER/config/musforms.toml, the mail texts in FOLDER/config/mail/ (for musforms send),
    FOLDER/roster.csv (opens in Excel) and FOLDER/SÅDAN-GØR-DU.md. Existing files are left
    alone unless --force.

    \b
    Example:
      musforms init mus2026 --set standard --organisation "Eksempel Kommune"
      musforms init mus2026 --xlsx
    """
    from musforms.questionset import builtin_sets
    from musforms.scaffold import init_folder

    if set_name not in builtin_sets():
        raise click.BadParameter(
            _("{set_name!r} is not a built-in set; choose {builtin_sets}").format(
                set_name=set_name, builtin_sets=", ".join(builtin_sets())
            ),
            param_hint="--set",
        )
    written = init_folder(folder, set_name, organisation=organisation, force=force, xlsx=xlsx)
    click.echo(_("Wrote {written}:").format(written=counted(len(written), "file", "files")))
    for path in written:
        click.echo(f"  {path}")
    click.echo(
        _("Next: put your employees in {value} and run\n  musforms check {written}").format(
            value=folder / "roster.csv", written=written[0]
        )
    )


@cli.command()
@click.argument("source", type=FILE)
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help=_("Overwrite TARGET if it is there."))
@friendly
def convert(source: Path, target: Path, force: bool) -> None:
    """Write a question set as an Excel workbook (.xlsx), or a workbook as YAML.

    The new file means the same question set (the same digest: forms made from either are
    the same); it is read back and checked before this says OK. YAML comments are not
    carried over.

    \b
    Example:
      musforms convert config/questions.yaml config/questions.xlsx
      musforms convert config/questions.xlsx config/questions.yaml
    """
    from musforms.questionset import convert_question_set, summary

    qs = convert_question_set(source, target, force=force)
    click.echo(_("OK: wrote {target}: {summary}").format(target=target, summary=summary(qs)))


@cli.command("roster")
@click.argument("file", type=FILE)
@click.option(
    "--leaders",
    is_flag=True,
    help=_(
        "The round mails leaders their employees' minutes (send --leaders): every leader "
        "needs an e-mail address."
    ),
)
@click.option(
    "--config",
    "settings",
    type=FILE,
    help=_("Organisation settings (musforms.toml) [default: config/musforms.toml beside FILE]."),
)
@click.option("--today", hidden=True, help=_("Count from this day instead of today."))
@friendly
def roster_command(file: Path, leaders: bool, settings: Path | None, today: str | None) -> None:
    """Check a roster (CSV or XLSX) and count the employees per department.

    Every problem is listed at once with its row number, as Excel numbers rows. Warnings
    name the row and column of what would go wrong in the round: two employees with the
    same e-mail address, an address that is not one, a meeting date in the past or more
    than 18 months ahead, a leader without an e-mail address (with --leaders).

    \b
    Example:
      musforms roster roster.csv
      musforms roster roster.csv --leaders
    """
    from collections import Counter

    from musforms.roster import Checks, check_rows, iter_rows, organisation_problem
    from musforms.settings import find_settings, load_settings

    lines: list[str] = []
    checks = Checks(_parse_day(today), leaders=leaders)
    employees = [r.employee for r in check_rows(file, iter_rows(file, lines.append), checks,
                                                lines.append)]  # fmt: skip
    config = settings or find_settings(file.parent / "config") or find_settings(file)
    if config is not None:
        try:
            placeholder = organisation_problem(load_settings(config).name, str(config))
        except MusformsError as exc:  # told, but the roster is what is checked here
            placeholder = str(exc)
        lines += [placeholder] if placeholder else []
    _warn(lines)
    departments = Counter(e.department or _("(no department)") for e in employees)
    counts = _("OK: {employees} in {departments}").format(
        employees=counted(len(employees), "employee", "employees"),
        departments=counted(len(departments), "department", "departments"),
    )
    if lines:
        counts = _("{counts}, {warnings}").format(
            counts=counts, warnings=counted(len(lines), "warning", "warnings")
        )
    click.echo(counts)
    width = max((len(d) for d in departments), default=0)
    for department, count in sorted(departments.items()):
        click.echo(f"  {department:<{width}}  {count}")
    for label, missing in (
        (_("  {missing} without e-mail"), sum(1 for e in employees if not e.email)),
        (_("  {missing} without meeting date"), sum(1 for e in employees if not e.meeting_date)),
    ):
        if missing:
            click.echo(label.format(missing=missing))


def _parse_day(text: str | None) -> Any:
    import datetime as dt

    from musforms.dates import parse_date

    if not text:
        return dt.date.today()
    try:
        day = parse_date(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return day or dt.date.today()


@cli.command()
@click.argument("results", type=FOLDER)
@click.option(
    "--forms",
    "forms_dir",
    type=FOLDER,
    help=_(
        "The forms folder of this round, for the question sets [default: the copies kept "
        "in RESULTS]."
    ),
)
@click.option(
    "--questions",
    "-q",
    multiple=True,
    type=FILE,
    help=_("A question set (YAML) the forms were issued with; may be given more than once."),
)
@click.option(
    "--template",
    type=FILE,
    help=_(
        "Your own minutes template (.docx) [default: form_templates/minutes.docx beside "
        "--config or --questions, else as last time, else the built-in one]."
    ),
)
@click.option(
    "--config",
    "settings",
    type=FILE,
    help=_("Organisation settings (musforms.toml): name, follow-up interval, language."),
)
@click.option(
    "--by-department/--one-sheet",
    default=None,
    help=_("One sheet per department in agreements.xlsx, or all on one [default: as last time]."),
)
@friendly
def minutes(
    results: Path,
    forms_dir: Path | None,
    questions: tuple[Path, ...],
    template: Path | None,
    settings: Path | None,
    by_department: bool | None,
) -> None:
    """Draft the minutes and the follow-up list again from a results folder.

    Writes RESULTS/minutes/<employee>.docx, agreements.xlsx, agreements.csv and
    followup.ics, e.g. after restyling the minutes template. A minutes draft whose answers
    and template are unchanged is left as it is.

    \b
    Example:
      musforms minutes results/2026 --template config/form_templates/minutes.docx
    """
    from musforms.outputs import output_lines, write_outputs
    from musforms.results import collected
    from musforms.settings import load_settings

    organisation = load_settings(settings) if settings else None
    if template is None:
        from musforms.outputs.minutes import template_near

        for near in [p for p in (settings, *questions) if p is not None]:
            template = template_near(near)
            if template is not None:
                break
    from musforms.lock import folder_lock

    with folder_lock(results, "minutes"):
        paths = write_outputs(
            results,
            collected(results),
            forms_dir,
            organisation,
            template=template,
            questions=questions,
            by_department=by_department,
        )
    _warn(paths.warnings)
    for line in output_lines(paths):
        click.echo(line)


@cli.command()
@click.argument("results", type=FOLDER)
@click.option("--leader", help=_("Only this leader's agreements (a part of the name will do)."))
@click.option(
    "--due-within",
    metavar="PERIOD",
    help=_(
        "Only agreements due within this period (and overdue ones): 30d (days), 2w (weeks), "
        "3m (months of 30 days); a number alone counts days."
    ),
)
@click.option(
    "--proposed",
    is_flag=True,
    help=_("Only the proposals of employees whose conclusion has not come back yet."),
)
@click.option("--today", hidden=True, help=_("Count from this day instead of today."))
@friendly
def followup(
    results: Path, leader: str | None, due_within: str | None, proposed: bool, today: str | None
) -> None:
    """List open and overdue agreements, grouped by leader.

    Open means made at this round's conversation, or last round's and reported as in
    progress (or without a status). Once an employee's conclusion is back, the agreements
    listed are those agreed in it; before, the employee's proposals, marked as such.

    \b
    Example:
      musforms followup results/2026 --due-within 30d
      musforms followup results/2026 --leader "Åse"
    """
    import datetime as dt

    from musforms.outputs.checkins import round_rows
    from musforms.outputs.followup import iter_followup_lines, leader_groups, parse_period
    from musforms.results import iter_responses

    day = _parse_day(today)
    days = parse_period(due_within) if due_within else None
    # Said in days, whatever was typed: "30" alone is 30 days, and this line says so.
    within = (
        _(" due within {days}").format(days=counted(days, "day", "days"))
        if days is not None
        else ""
    )
    # Each agreement with its latest status: the check-in's, where one came back.
    rows = round_rows(results, iter_responses(results))
    with leader_groups(rows, day, leader=leader, due_within=days, proposed=proposed) as groups:
        lines = iter_followup_lines(groups)
        first = next(lines, None)
        if first is None:
            who = _(" for {leader}").format(leader=leader) if leader else ""
            click.echo(_("No open agreements{who}{within}.").format(who=who, within=within))
            return
        if days is not None:
            until = day + dt.timedelta(days=days)
            click.echo(
                _("Open agreements{within} (until {until:%d-%m-%Y}), and overdue ones:").format(
                    within=within, until=until
                )
            )
        click.echo(first)
        for line in lines:
            click.echo(line)


_SENT_WHAT = {
    "invitation": N_("invitations"),
    "reminder": N_("reminders"),
    "leaders": N_("leaders' mails"),
}


def _sent_count(kind: str, n: int) -> str:
    """``n`` messages of ``kind``, with the noun in the number it takes."""
    if kind == "invitation":
        return counted(n, "invitation", "invitations")
    if kind == "reminder":
        return counted(n, "reminder", "reminders")
    return counted(n, "leader's mail", "leaders' mails")


@cli.command()
@click.argument("forms_dir", metavar="FORMS", type=FOLDER)
@click.option("--smtp", metavar="HOST[:PORT]", help=_("The mail server to send through."))
@click.option(
    "--drafts",
    type=NEW_FOLDER,
    help=_(
        "Write one .eml draft per message into this folder instead of sending (Outlook and "
        "Thunderbird open each ready to send)."
    ),
)
@click.option(
    "--from",
    "sender",
    required=True,
    metavar="ADDRESS",
    help=_('The sender: hr@example.dk or "HR <hr@example.dk>".'),
)
@click.option(
    "--user", help=_("Log in to the mail server as this user (password: MUSFORMS_SMTP_PASSWORD).")
)
@click.option(
    "--tls",
    type=click.Choice(["starttls", "ssl", "none"]),
    default="starttls",
    show_default=True,
    help=_("Encryption: starttls (port 587), ssl (port 465); none only to this machine."),
)
@click.option(
    "--format",
    "form_format",
    type=click.Choice(["pdf", "docx", "both"]),
    default="both",
    show_default=True,
    help=_("Which of each employee's forms to attach."),
)
@click.option(
    "--remind",
    type=FOLDER,
    metavar="RESULTS",
    help=_("Send the reminder to those RESULTS/report.json lists as missing."),
)
@click.option(
    "--leaders",
    type=FOLDER,
    metavar="RESULTS",
    help=_(
        "Send each leader the conclusion forms (RESULTS/conclusions/) of their own "
        "employees, the minutes draft for one without."
    ),
)
@click.option(
    "--every",
    type=click.IntRange(0, 365),
    default=7,
    show_default=True,
    help=_("With --remind: at most one reminder per employee this many days."),
)
@click.option(
    "--deadline", metavar="DATE", help=_("The return deadline the texts mention, e.g. 15-01-2027.")
)
@click.option(
    "--texts",
    type=FOLDER,
    help=_(
        "The folder of the mail texts [default: config/mail/ in or above FORMS, else the "
        "built-in texts]."
    ),
)
@click.option(
    "--roster",
    type=FILE,
    help=_("Take the e-mail addresses from this roster instead of from when the forms were made."),
)
@click.option(
    "--rate",
    type=click.FloatRange(0),
    default=30,
    show_default=True,
    help=_("Messages per minute at most (0: no limit)."),
)
@click.option(
    "--connections",
    type=click.IntRange(1, 10),
    default=3,
    show_default=True,
    help=_(
        "Connections to the mail server at once (Exchange Online takes 3); --rate counts "
        "them all together."
    ),
)
@click.option(
    "--timeout",
    type=click.FloatRange(1, 600),
    default=30,
    show_default=True,
    help=_("Seconds to wait for the mail server at each step."),
)
@click.option(
    "--cafile",
    type=FILE,
    help=_("Also trust this certificate authority (PEM), for a mail server with your own."),
)
@click.option("--again", is_flag=True, help=_("Send also what the send log says was sent."))
@click.option("--yes", is_flag=True, help=_("Do not ask before sending."))
@friendly
def send(
    forms_dir: Path,
    smtp: str | None,
    drafts: Path | None,
    sender: str,
    user: str | None,
    tls: str,
    form_format: str,
    remind: Path | None,
    leaders: Path | None,
    every: int,
    deadline: str | None,
    texts: Path | None,
    roster: Path | None,
    rate: float,
    connections: int,
    timeout: float,
    cafile: Path | None,
    again: bool,
    yes: bool,
) -> None:
    """Mail each employee their own forms, remind those missing, or give leaders the minutes.

    FORMS is the folder generate wrote. Subject and text come from config/mail/ (musforms
    init writes them; see the README). Who was sent what is kept in FORMS/sent.jsonl, so a
    run again sends only what is left; a form generated again since counts as not sent.

    \b
    Examples:
      musforms send forms/2026 --smtp smtp.example.dk --from hr@example.dk --user hr
      musforms send forms/2026 --drafts outbox/ --from hr@example.dk
      musforms send forms/2026 --remind results/2026 --smtp smtp.example.dk --from hr@example.dk
      musforms send forms/2026 --leaders results/2026 --smtp smtp.example.dk --from hr@example.dk
    """
    import os

    from musforms.mail import send as mail

    if (smtp is None) == (drafts is None):
        raise click.UsageError(
            _("give either --smtp HOST (to send) or --drafts FOLDER (to write .eml)")
        )
    if remind is not None and leaders is not None:
        raise click.UsageError(_("--remind and --leaders are two different mails: give one"))
    server = None
    if smtp is not None:
        host, port = mail.parse_server(smtp, tls)  # type: ignore[arg-type]
        server = mail.Server(host, port, tls, user, None, timeout, cafile)  # type: ignore[arg-type]
        mail.check_server(server)
    address = mail.sender_address(sender)
    day = _parse_day(deadline) if deadline else None
    formats = ("pdf", "docx") if form_format == "both" else (form_format,)
    if leaders is not None:
        plan = mail.plan_leaders(
            forms_dir, leaders, texts=texts, deadline=day, roster=roster, again=again
        )
    elif remind is not None:
        plan = mail.plan_reminders(
            forms_dir, remind, formats=formats, texts=texts, deadline=day, roster=roster,
            every=every, again=again,
        )  # fmt: skip
    else:
        plan = mail.plan_invitations(
            forms_dir, formats=formats, texts=texts, deadline=day, roster=roster, again=again
        )
    what = _(_SENT_WHAT[plan.kind])
    messages = _sent_count(plan.kind, len(plan.messages))
    _warn(plan.warnings)
    for problem in plan.problems:
        click.echo(_("Not sent: {problem}").format(problem=problem), err=True)
    if plan.already:
        click.echo(
            _("Already sent before (in {value}): {already}; --again sends them anyway.").format(
                value=forms_dir / "sent.jsonl", already=plan.already
            )
        )
    if plan.recent:
        click.echo(
            _("Reminded less than {every} ago: {recent}, left out.").format(
                every=counted(every, "day", "days"), recent=plan.recent
            )
        )
    if not plan.messages:
        click.echo(_("No {what} to send.").format(what=what))
        if plan.problems:
            sys.exit(1)
        return
    first = [m.to for m in plan.messages[:3]]
    files = ", ".join(a.name for a in plan.messages[0].attachments)
    if drafts:
        click.echo(
            _("{messages} from {address} into {drafts}:").format(
                messages=messages, address=address, drafts=drafts
            )
        )
    else:
        click.echo(
            _("{messages} from {address} through {server} ({tls}):").format(
                messages=messages, address=address, server=server.name if server else "", tls=tls
            )
        )
    click.echo(_("  to: {names}").format(names=_names(first, len(plan.messages))))
    subject, _body = plan.messages[0].text.render(plan.messages[0].values)
    click.echo(_("  subject: {subject}").format(subject=subject))
    click.echo(_("  attached: each their own files, e.g. {files}").format(files=files))
    click.echo(_("  text: {texts}").format(texts=", ".join(plan.texts)))
    if drafts is not None:
        written = mail.write_drafts(plan, drafts, address)
        _warn(written.warnings)
        click.echo(
            _(
                "Wrote {written} to {drafts}. Open each in Outlook or Thunderbird "
                "and send it; drafts are not in the send log."
            ).format(written=counted(len(written.written), "draft", "drafts"), drafts=drafts)
        )
        if plan.problems:
            sys.exit(1)
        return
    assert server is not None
    if not yes:
        if not sys.stdin.isatty():
            raise click.ClickException(
                _(
                    "Nothing was sent: musforms asks before it sends, and there is no terminal to "
                    "ask on. Add --yes to send without asking."
                )
            )
        question = ngettext("Send this {messages}?", "Send these {messages}?", len(plan.messages))
        question = question.format(messages=messages)
        if not _confirm(question):
            click.echo(_("Nothing was sent."))
            return
    password = None
    if user:
        password = os.environ.get("MUSFORMS_SMTP_PASSWORD")
        if password is None:
            if not sys.stdin.isatty():
                raise click.ClickException(
                    _(
                        "Nothing was sent: no password for {user}. Put it in the "
                        "environment variable MUSFORMS_SMTP_PASSWORD, or run musforms on a "
                        "terminal to be asked."
                    ).format(user=user)
                )
            password = click.prompt(
                _("Password for {user} at {name}").format(user=user, name=server.name),
                hide_input=True,
            )
    import dataclasses

    server = dataclasses.replace(server, password=password)
    bar = _progress_bar(len(plan.messages), _("Sending {what}").format(what=what))
    if bar is not None:
        bar.__enter__()
    try:
        result = mail.send(
            plan,
            forms_dir,
            server,
            address,
            rate=rate,
            again=again,
            every=every,
            connections=connections,
            progress=bar.update if bar is not None else None,
        )
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    click.echo(_("Sent {sent} of {messages}.").format(sent=result.sent, messages=messages))
    if result.skipped:
        click.echo(
            ngettext(
                "  {skipped} was sent by another run meanwhile, and not again.",
                "  {skipped} were sent by another run meanwhile, and not again.",
                result.skipped,
            ).format(skipped=result.skipped)
        )
    for failure in result.failed:
        click.echo(_("Not sent: {failure}").format(failure=failure), err=True)
    if result.not_sent:
        click.echo(
            ngettext(
                "Stopped: {stopped}. {not_sent} more was not sent. Run the same command again "
                "to send it: what was sent is in the send log ({log}) and is not sent twice.",
                "Stopped: {stopped}. {not_sent} more were not sent. Run the same command again "
                "to send them: what was sent is in the send log ({log}) and is not sent twice.",
                result.not_sent,
            ).format(
                stopped=result.stopped, not_sent=result.not_sent, log=forms_dir / "sent.jsonl"
            ),
            err=True,
        )
    if result.failed or result.not_sent or plan.problems:
        sys.exit(1)


@cli.command("report")
@click.argument("results", type=FOLDER)
@click.option(
    "--out",
    "-o",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=_("The HTML file to write [default: RESULTS/report.html]."),
)
@click.option(
    "--forms",
    "forms_dir",
    type=FOLDER,
    help=_(
        "The forms folder of this round, for the names, departments and leaders of those "
        "missing [default: forms/<round> beside the results folder, when it is there]."
    ),
)
@click.option(
    "--by",
    default="department",
    show_default=True,
    help=_("Group the figures by department, leader, language or meeting_date."),
)
@click.option(
    "--previous", type=FOLDER, metavar="RESULTS", help=_("Last round's results, for the changes.")
)
@click.option(
    "--config",
    "settings",
    type=FILE,
    help=_("Organisation settings (musforms.toml): language and anonymity_min."),
)
@click.option("--today", hidden=True, help=_("Count from this day instead of today."))
@friendly
def report_command(
    results: Path,
    out_file: Path | None,
    forms_dir: Path | None,
    by: str,
    previous: Path | None,
    settings: Path | None,
    today: str | None,
) -> None:
    """Write the round's status and wellbeing figures as one HTML file.

    Who has returned, who is missing (per leader), open and overdue agreements (counts), and
    the scale and choice answers per group. A group with fewer answers than anonymity_min
    (musforms.toml, default 5) shows no figures. The file needs nothing else: open it in any
    browser, offline, or print it. It holds names: keep it as you keep the results.

    \b
    Example:
      musforms report results/2026
      musforms report results/2026 --by leader --previous results/2025 --out status.html
    """
    from musforms.htmlreport import write_html_report
    from musforms.settings import load_settings

    organisation = load_settings(settings) if settings else None
    made = write_html_report(
        results, out_file, forms_dir=forms_dir, organisation=organisation, by=by,
        previous=previous, today=_parse_day(today),
    )  # fmt: skip
    _warn(made.warnings)
    click.echo(
        _("Report: {path} ({returned} of {expected} returned, {missing} missing)").format(
            path=made.path, returned=made.returned, expected=made.expected, missing=made.missing
        )
    )
    if not made.named:
        click.echo(
            _(
                "Note: no forms folder found, so those missing are listed by employee id; give "
                "--forms forms/<round> for their names and departments."
            )
        )
