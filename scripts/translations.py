"""Bring the message catalogues up to date: `make translations`.

1. Extract every message of musforms' source (babel.cfg: _(), ngettext(), N_(), counted())
   and the help of every command (the docstrings of the click commands in musforms/cli.py)
   into musforms/locale/musforms.pot.
2. Update musforms/locale/{da,en}/LC_MESSAGES/musforms.po from it: new messages are added,
   messages gone from the source are dropped. English gets each new message as its own
   translation; Danish gets it empty (or fuzzy, when it resembles an old one) for you to
   translate.
3. Compile each .po into the .mo that musforms reads.

Then translate what is empty or marked `#, fuzzy` in the Danish musforms.po (remove the
`#, fuzzy` line once the text is right) and run it again. `--check` changes nothing and
exits 1 when a file is not up to date or a Danish text is missing (tests/test_i18n.py
runs the same check).
"""

from __future__ import annotations

import argparse
import ast
import datetime
import io
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "musforms" / "locale"
POT = LOCALE / "musforms.pot"
LANGUAGES = ("da", "en")
# counted(n, "form", "forms") is ngettext("form", "forms", n) with the number in front.
# Nn_("{n} form", "{n} forms") marks a message with a count that ngettext says later.
KEYWORDS = {**DEFAULT_KEYWORDS, "counted": (2, 3), "Nn_": (1, 2)}
# Files whose click commands' docstrings are their help.
COMMAND_FILES = ("musforms/cli.py",)
CREATED = datetime.datetime(2026, 12, 2, tzinfo=datetime.UTC)
HEADER = "# The messages of musforms (English ids). Made by `make translations`; do not edit.\n#"


def po_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / "musforms.po"


def mo_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / "musforms.mo"


def _command_docstrings(path: Path) -> Iterator[tuple[int, str]]:
    """The help of each click command and group in ``path``: its docstring, cleaned as
    click cleans it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            func = decorator.func if isinstance(decorator, ast.Call) else decorator
            if isinstance(func, ast.Attribute) and func.attr in ("command", "group"):
                doc = ast.get_docstring(node, clean=True)
                if doc:
                    yield node.lineno, doc
                break


def template() -> Catalog:
    """The catalogue template of the source as it is now."""
    catalog = Catalog(
        project="musforms",
        header_comment=HEADER,
        creation_date=CREATED,
        fuzzy=False,
    )
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    for filename, _lineno, message, comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS, comment_tags=("Translators:",)
    ):
        catalog.add(message, locations=[(filename, None)], auto_comments=comments, context=context)
    for name in COMMAND_FILES:
        for _lineno, doc in _command_docstrings(ROOT / name):
            catalog.add(doc, locations=[(name, None)])
    return catalog


def _po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=100, sort_output=True, include_lineno=False, ignore_obsolete=True)
    return out.getvalue()


def _mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def _without_dates(data: bytes) -> bytes:
    return b"\n".join(
        line
        for line in data.splitlines()
        if not line.startswith((b'"POT-Creation-Date', b'"PO-Revision-Date'))
    )


def updated(lang: str, pot: Catalog) -> Catalog:
    """The catalogue of ``lang`` brought up to date with ``pot``."""
    path = po_path(lang)
    if path.is_file():
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
    else:
        catalog = Catalog(locale=lang, project="musforms", header_comment=HEADER, fuzzy=False)
    catalog.update(pot, update_creation_date=False)
    catalog.obsolete.clear()
    if lang == "en":
        for message in catalog:
            if message.id and (message.fuzzy or not _translated(message.string)):
                message.string = message.id
                message.flags.discard("fuzzy")
    return catalog


def _translated(string: object) -> bool:
    if isinstance(string, tuple):
        return all(string)
    return bool(string)


def missing(catalog: Catalog) -> list[str]:
    """The messages of ``catalog`` that have no usable translation (empty or fuzzy)."""
    return [
        message.id if isinstance(message.id, str) else message.id[0]
        for message in catalog
        if message.id and (message.fuzzy or not _translated(message.string))
    ]


def _write(path: Path, data: bytes, compare: bytes | None = None) -> bool:
    """Write ``data`` to ``path`` unless it holds the same (dates aside); True if written."""
    old = path.read_bytes() if path.is_file() else None
    if old is not None and _without_dates(old) == _without_dates(compare or data):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".new")
    temporary.write_bytes(data)
    temporary.replace(path)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    pot = template()
    outputs: list[tuple[Path, bytes]] = [(POT, _po_bytes(pot))]
    untranslated: dict[str, list[str]] = {}
    for lang in LANGUAGES:
        catalog = updated(lang, pot)
        outputs.append((po_path(lang), _po_bytes(catalog)))
        outputs.append((mo_path(lang), _mo_bytes(catalog)))
        untranslated[lang] = missing(catalog)
    stale = [
        path
        for path, data in outputs
        if not path.is_file() or _without_dates(path.read_bytes()) != _without_dates(data)
    ]
    if args.check:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is not up to date: run make translations")
    else:
        for path, data in outputs:
            if _write(path, data):
                print(f"wrote {path.relative_to(ROOT)}")
    for lang, ids in untranslated.items():
        for msgid in ids:
            print(f"{po_path(lang).relative_to(ROOT)}: not translated yet: {msgid!r}")
    return 1 if (args.check and stale) or any(untranslated.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
