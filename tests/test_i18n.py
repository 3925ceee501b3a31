"""Every message the HR officer reads is in the catalogues, in Danish by default and in
English when the locale or musforms.toml says so.

The catalogues: every message of the source (``_()``, ``ngettext()``, ``N_()``, ``counted()``
and each command's help) is in musforms.pot, with a non-empty translation in both
musforms.po files, and the compiled .mo files are those of the .po files
(scripts/translations.py --check). The source: no user-facing literal goes around them
(an AST scan of what is echoed, raised, warned and given as help).
"""

from __future__ import annotations

import ast
import gettext
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from click.testing import CliRunner

from musforms import i18n
from musforms.cli import cli

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "musforms"
sys.path.insert(0, str(ROOT / "scripts"))
import translations  # noqa: E402

# --- the catalogues ---------------------------------------------------------------------------


def test_catalogues_are_up_to_date_and_complete() -> None:
    """The .pot holds every message of the source, both .po files translate each one (no
    empty or fuzzy entry), and the .mo files are compiled from them."""
    pot = translations.template()
    ids = {m.id for m in pot if m.id}
    assert len(ids) > 300  # the CLI's help alone has more; an empty extraction fails here
    for lang in translations.LANGUAGES:
        catalog = translations.updated(lang, pot)
        assert translations.missing(catalog) == [], f"{lang}: not translated"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "translations.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _placeholders(text: str) -> list[str]:
    # {s}: the s of an English plural (musforms.written); a translation may leave it out.
    found = re.findall(r"\{[^{}]*\}", text.replace("{{", "").replace("}}", ""))
    return sorted(p for p in found if p != "{s}")


@pytest.mark.parametrize("lang", translations.LANGUAGES)
def test_translations_keep_every_placeholder(lang: str) -> None:
    """A translation names the same {placeholders} as its English id: a lost or misspelt
    one would raise KeyError, or leave the file name out of the message."""
    with translations.po_path(lang).open("rb") as fh:
        catalog = read_po(fh)
    wrong = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        # Both languages have two forms, singular and plural, in the order of the ids.
        for msgid, string in zip(ids, strings, strict=True):
            if _placeholders(string) != _placeholders(msgid):
                wrong.append((msgid, string))
    assert wrong == []


def test_danish_catalogue_has_danish_plurals() -> None:
    translation = gettext.translation(
        i18n.DOMAIN, i18n.LOCALE_DIR, languages=["da"], fallback=False
    )
    assert translation.ngettext("form", "forms", 1) == "skema"
    assert translation.ngettext("form", "forms", 2) == "skemaer"
    assert translation.ngettext("form", "forms", 0) == "skemaer"


@pytest.mark.parametrize(
    ("lang", "one", "three"),
    [
        (
            "da",
            ("svarene fra 1 returneret skema (i", "1 konklusionsskema (i conclusions/)"),
            ("svarene fra 3 returnerede skemaer (i", "3 konklusionsskemaer (i conclusions/)"),
        ),
        (
            "en",
            ("the answers of 1 returned form (in", "1 conclusion form (in conclusions/)"),
            ("the answers of 3 returned forms (in", "3 conclusion forms (in conclusions/)"),
        ),
    ],
)
def test_a_stopped_collect_counts_what_it_wrote_in_each_language(
    lang: str, one: tuple[str, str], three: tuple[str, str], tmp_path: Path
) -> None:
    """What a stopped collect says it already wrote takes each language's own plural."""
    from musforms.collect import _watch

    i18n.set_language(lang)
    try:
        for n, said in ((1, one), (3, three)):
            written = _watch(tmp_path)
            written.count("responses", n)
            written.count("conclusions", n)
            state = written.stopped().state
            assert all(part in state for part in said), state
    finally:
        i18n.set_language("en")


def test_the_catalogues_are_in_the_wheel(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("musforms-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for lang in translations.LANGUAGES:
        assert f"musforms/locale/{lang}/LC_MESSAGES/musforms.mo" in names
        assert f"musforms/locale/{lang}/LC_MESSAGES/musforms.po" in names
    assert "musforms/locale/musforms.pot" in names


# --- the source: nothing user-facing around the catalogues ------------------------------------

# Calls whose first argument (or message=) the HR officer reads.
_SHOWN = {"echo", "secho", "prompt", "confirm", "fail", "warn", "_warn", "_confirm"}
_CLICK_ERRORS = {"ClickException", "UsageError", "BadParameter", "FileError"}
# cli.py's own helpers whose text arguments are shown.
_CLI_HELPERS = {"key_file_option": 0, "_progress_bar": 1, "_stopped": 0}
_WRAPPERS = {"_", "ngettext", "N_", "counted"}
# Names of lists whose items are shown one a line (errors, warnings).
_SHOWN_LISTS = {"errors", "warnings"}


def _error_classes() -> set[str]:
    """MusformsError and every class of musforms that derives from it."""
    bases: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases.setdefault(node.name, set()).update(
                    b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases
                )
    found = {"MusformsError"}
    while True:
        more = {name for name, of in bases.items() if of & found} - found
        if not more:
            return found
        found |= more


def _has_words(text: str) -> bool:
    return re.search(r"[^\W\d_]{2}", re.sub(r"\{[^{}]*\}", "", text)) is not None


def _unwrapped(node: ast.expr) -> list[ast.expr]:
    """The literal texts with words in ``node`` that do not go through the catalogue."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node] if _has_words(node.value) else []
    if isinstance(node, ast.JoinedStr):
        text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
        found = [node] if _has_words(text) else []
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                found += _unwrapped(value.value)
        return found
    if isinstance(node, ast.Call):
        name = _name(node.func)
        if name in _WRAPPERS:
            return []
        if name == "format" and isinstance(node.func, ast.Attribute):
            return _unwrapped(node.func.value)
        return []
    if isinstance(node, ast.BinOp):
        return _unwrapped(node.left) + _unwrapped(node.right)
    if isinstance(node, ast.IfExp):
        return _unwrapped(node.body) + _unwrapped(node.orelse)
    return []


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def unwrapped_literals(paths: list[Path], root: Path = ROOT) -> list[str]:
    """``file:line: text`` of each user-facing literal in ``paths`` outside the catalogue."""
    errors = _error_classes() | _CLICK_ERRORS
    found: list[str] = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _name(node.func)
            shown: list[ast.expr] = [k.value for k in node.keywords if k.arg in ("help",)]
            if name in _SHOWN or name in errors:
                shown += node.args[:1] + [k.value for k in node.keywords if k.arg == "message"]
            if name in _CLI_HELPERS and len(node.args) > _CLI_HELPERS[name]:
                shown.append(node.args[_CLI_HELPERS[name]])
            if (
                name == "append"
                and isinstance(node.func, ast.Attribute)
                and _name(node.func.value) in _SHOWN_LISTS
            ):
                shown += node.args[:1]
            for literal in shown:
                for bad in _unwrapped(literal):
                    where = path.relative_to(root)
                    found.append(f"{where}:{bad.lineno}: {ast.unparse(bad)[:80]}")
    return found


def test_no_user_facing_literal_outside_the_catalogue() -> None:
    paths = sorted(PACKAGE.rglob("*.py"))
    assert unwrapped_literals(paths) == []


def test_the_scan_finds_an_unwrapped_message(tmp_path: Path) -> None:
    """The scan is not blind: each kind of unwrapped message is found, wrapped ones not."""
    source = tmp_path / "sample.py"
    source.write_text(
        "import click\n"
        "from musforms.errors import ConfigError\n"
        "click.echo('Wrote the forms')\n"
        "click.echo(f'Wrote {n} forms to {out}')\n"
        "raise ConfigError(f'{path}: no such file')\n"
        "raise click.UsageError('give --smtp or --drafts')\n"
        "click.option('--yes', help='Do not ask.')\n"
        "warn('a question without a label')\n"
        "errors.append(f'{where}: unknown key')\n"
        "click.echo(_('Wrote the forms'))\n"
        "click.echo(_('Wrote {n} forms').format(n=n))\n"
        "click.echo(f'  {path}')\n"
        "raise ConfigError(_('{path}: no such file').format(path=path))\n",
        encoding="utf-8",
    )
    found = [line.split(": ", 1)[1] for line in unwrapped_literals([source], tmp_path)]
    assert len(found) == 7, found


# --- the language chosen ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "lang"),
    [
        ({}, "da"),
        ({"LANG": "C.UTF-8"}, "da"),
        ({"LANG": "da_DK.UTF-8"}, "da"),
        ({"LANG": "en_GB.UTF-8"}, "en"),
        ({"LANG": "en_US"}, "en"),
        ({"LC_ALL": "en_GB.UTF-8", "LANG": "da_DK.UTF-8"}, "en"),
        ({"LC_MESSAGES": "da_DK.UTF-8", "LANG": "en_GB.UTF-8"}, "da"),
        ({"LANGUAGE": "en:da", "LC_ALL": "da_DK.UTF-8"}, "en"),
    ],
)
def test_the_locale_picks_the_language(env: dict[str, str], lang: str) -> None:
    assert i18n.choose_language(None, env) == lang


def test_default_language_en_gives_english() -> None:
    assert i18n.choose_language("en", {}) == "en"
    assert i18n.choose_language("da", {"LANG": "en_GB.UTF-8"}) == "en"
    assert i18n.choose_language("da", {}) == "da"


def _round_folder(tmp_path: Path, language: str | None) -> Path:
    config = tmp_path / "mus2026" / "config"
    config.mkdir(parents=True)
    if language is not None:
        (config / "musforms.toml").write_text(
            f'default_language = "{language}"\n', encoding="utf-8"
        )
    return tmp_path / "mus2026"


def test_the_settings_are_found_from_the_command_line(tmp_path: Path) -> None:
    folder = _round_folder(tmp_path, "en")
    toml = folder / "config" / "musforms.toml"
    questions = folder / "config" / "questions.yaml"
    forms = folder / "forms" / "2026"
    forms.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    find = i18n.find_command_settings
    assert find(["generate", "--config", str(toml)], elsewhere) == toml
    assert find(["generate", "--questions", str(questions)], elsewhere) == toml
    assert find(["generate", f"--questions={questions}"], elsewhere) == toml
    assert find(["check", str(questions)], elsewhere) == toml
    assert find(["collect", "returned", "--forms", str(forms)], elsewhere) == toml
    assert find(["followup", str(forms)], elsewhere) == toml
    assert find(["--help"], folder) == toml  # ./config/musforms.toml
    assert find(["--help"], elsewhere) is None
    assert i18n.command_language(["check", str(questions)], elsewhere) in ("en",)


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """musforms as the HR officer runs it: a new process, the locale as given."""
    clean = {k: v for k, v in os.environ.items() if k not in i18n.LOCALE_VARIABLES}
    return subprocess.run(
        [sys.executable, "-m", "musforms", *args],
        env={**clean, "COLUMNS": "100", **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_help_is_danish_by_default_and_english_when_asked(tmp_path: Path) -> None:
    danish = _run(["--help"], {}, tmp_path)
    assert danish.returncode == 0
    assert "Forbered, indsaml og følg op på MUS" in danish.stdout
    assert "Brug:" in danish.stdout and "Tilvalg" in danish.stdout
    assert "Vis denne hjælp og afslut." in danish.stdout
    english = _run(["--help"], {"LANG": "en_GB.UTF-8"}, tmp_path)
    assert "Prepare, collect and follow up MUS" in english.stdout
    assert "Usage:" in english.stdout
    # An option's help, of a command: Danish by default too.
    collect = _run(["collect", "--help"], {}, tmp_path)
    assert "Mappe til resultaterne, fx results/2026." in collect.stdout
    assert "Folder for the results" not in collect.stdout


def test_help_follows_the_settings_of_the_round(tmp_path: Path) -> None:
    folder = _round_folder(tmp_path, "en")
    english = _run(["--help"], {}, folder)
    assert "Prepare, collect and follow up MUS" in english.stdout
    danish = _run(["--help"], {}, _round_folder(tmp_path / "da", "da"))
    assert "Forbered, indsaml og følg op på MUS" in danish.stdout


BROKEN = (
    "musforms: 1\nid: test\nversion: '1'\ntitle: Test\nsections:\n  - id: a\n"
    "    title: A\n    questions:\n      - id: x\n        type: textt\n        label: X\n"
)


def test_a_broken_question_set_is_told_in_the_officers_language(tmp_path: Path) -> None:
    folder = _round_folder(tmp_path, None)
    questions = folder / "config" / "questions.yaml"
    questions.write_text(BROKEN, encoding="utf-8")
    danish = _run(["check", str(questions)], {}, tmp_path)
    assert danish.returncode == 1
    assert danish.stderr.startswith("Fejl: ")
    assert "linje 10" in danish.stderr and "textt" in danish.stderr
    english = _run(["check", str(questions)], {"LANG": "en_GB.UTF-8"}, tmp_path)
    assert english.stderr.startswith("Error: ")
    assert "line 10" in english.stderr and "textt" in english.stderr
    (folder / "config" / "musforms.toml").write_text('default_language = "en"\n')
    by_settings = _run(["check", str(questions)], {}, tmp_path)
    assert by_settings.stderr.startswith("Error: ")
    assert "line 10" in by_settings.stderr


def test_cli_runner_follows_the_locale_of_each_run(tmp_path: Path) -> None:
    """Messages made while a command runs follow that run's locale, in the same process."""
    questions = tmp_path / "questions.yaml"
    questions.write_text(BROKEN, encoding="utf-8")
    runner = CliRunner()
    danish = runner.invoke(
        cli, ["check", str(questions)], env={"LANGUAGE": None, "LANG": "da_DK.UTF-8"}
    )
    assert "linje 10" in danish.output
    english = runner.invoke(
        cli, ["check", str(questions)], env={"LANGUAGE": None, "LANG": "en_GB.UTF-8"}
    )
    assert "line 10" in english.output


@pytest.mark.realclient
def test_the_collect_summary_is_told_in_the_officers_language(tmp_path: Path) -> None:
    """One form filled in Chrome's engine (PDFium) and one damaged file, collected as the HR
    officer runs it: the summary in Danish by default, in English under LANG=en_GB.UTF-8 or
    with default_language = "en" in the round's config/musforms.toml."""
    from tests.clients.pdf import fill_pdfium
    from tests.trust_data import answers, make_round

    round_ = make_round(tmp_path / "mus2026", previous=False, key_file=tmp_path / "key")
    inbox = tmp_path / "indbakke"
    inbox.mkdir()
    fill_pdfium(round_.form("1042", "pdf"), inbox / "søren.pdf", answers("Svar", previous=False))
    (inbox / "ødelagt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog")

    def collect(out: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return _run(
            ["collect", str(inbox), "--forms", str(round_.forms), "--out", str(tmp_path / out),
             "--key-file", str(round_.key_file)],
            env, tmp_path,
        )  # fmt: skip

    danish = collect("da", {})
    assert danish.returncode == 1, danish.stderr
    assert "Runde 2026: 2 filer læst denne gang." in danish.stdout
    assert re.search(r"Returneret: 1 af \d+\. Mangler: \d+\.", danish.stdout)
    assert "Filer, der skal ses på:" in danish.stdout
    assert "ødelagt.pdf: kunne ikke læses — ødelagt.pdf: filen er" in danish.stdout
    assert "Referater: 1 kladde i " in danish.stdout
    assert "Round 2026" not in danish.stdout
    english = collect("en", {"LANG": "en_GB.UTF-8"})
    assert "Round 2026: 2 files read this time." in english.stdout
    assert re.search(r"Returned: 1 of \d+\. Missing: \d+\.", english.stdout)
    assert "Minutes: 1 draft in " in english.stdout
    (round_.root / "config" / "musforms.toml").write_text(
        'default_language = "en"\n', encoding="utf-8"
    )
    by_settings = collect("settings", {})
    assert "Round 2026: 2 files read this time." in by_settings.stdout
    assert "Files that need a look:" in by_settings.stdout
    assert "ødelagt.pdf: unreadable — ødelagt.pdf: the file" in by_settings.stdout
