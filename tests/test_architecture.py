"""The shape of the code: imports point one way, and each file-format library is imported in
the one place that deals with that format (docs/ARCHITECTURE.md has the map)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from musforms import formats

PACKAGE = Path(__file__).resolve().parent.parent / "musforms"

# Each library that reads or writes a file format, and the only modules that may import it.
# A name ending in "." stands for a package and everything in it.
OWNERS: dict[str, tuple[str, ...]] = {
    "pypdf": ("musforms.pdf.",),
    "pikepdf": ("musforms.pdf.",),
    "pypdfium2": ("musforms.pdf.",),
    "bidi": ("musforms.pdf.page",),  # python-bidi: right-to-left lines read from a page
    "reportlab": ("musforms.pdf.",),
    "docx": ("musforms.docx.", "musforms.outputs.minutes"),  # python-docx
    "docxtpl": ("musforms.outputs.minutes",),
    "lxml": ("musforms.docx.", "musforms.odt."),
    "openpyxl": ("musforms.roster", "musforms.questionbook", "musforms.outputs.followup"),
    "icalendar": ("musforms.outputs.calendar",),
    "click": ("musforms.cli",),
    "yaml": ("musforms.questionset", "musforms.texts"),
    "oxmsg": ("musforms.mail.inbox",),  # python-oxmsg: Outlook .msg files
    "matplotlib": ("musforms.htmlreport.charts",),  # the report's charts, as SVG
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, at the top, inside functions or for type checking."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield f"{node.module}.{alias.name}"


def _own(name: str) -> str | None:
    """The musforms module an imported name belongs to (``musforms.x.y`` may be a name in x)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _graph() -> dict[str, set[str]]:
    graph = {}
    for module, path in MODULES.items():
        deps = {_own(n) for n in _imports(path) if n.startswith("musforms")}
        graph[module] = {d for d in deps if d is not None and d != module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles (strongly connected components of more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_circles() -> None:
    """No module imports, however indirectly, a module that imports it."""
    assert _cycles(_graph()) == []


def test_the_circle_finder_finds_circles() -> None:
    """The check above can fail: a made-up circle of three is found, a chain is not."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


@pytest.mark.parametrize("library", sorted(OWNERS))
def test_format_libraries_stay_in_their_place(library: str) -> None:
    """Only the modules that deal with a format import its library."""
    owners = OWNERS[library]
    strays = sorted(
        module
        for module, path in MODULES.items()
        if any(n == library or n.startswith(library + ".") for n in _imports(path))
        and not any(module == o or module.startswith(o) for o in owners)
    )
    assert strays == []


def test_the_libraries_of_each_format_package_are_known() -> None:
    """What a format package imports from outside the standard library and musforms is in
    OWNERS, so a new format's library gets a place in the table (and in the map)."""
    import sys

    known = set(OWNERS) | {"pydantic"} | set(sys.stdlib_module_names)
    for fmt in formats.all_formats():
        package = fmt.reader.partition(":")[0].rpartition(".")[0]
        for module, path in MODULES.items():
            if module == package or module.startswith(package + "."):
                outside = {n.split(".")[0] for n in _imports(path) if not n.startswith("musforms")}
                assert outside <= known, (module, sorted(outside - known))


def test_format_packages_import_no_library_to_be_recognised() -> None:
    """Listing the formats and recognising a file import no format library: the CLI starts
    fast, and a broken library breaks only its format."""
    for fmt in formats.all_formats():
        package = fmt.reader.partition(":")[0].rpartition(".")[0]
        libraries = {n.split(".")[0] for n in _imports(MODULES[package])}
        assert libraries.isdisjoint(OWNERS), (package, sorted(libraries & set(OWNERS)))
