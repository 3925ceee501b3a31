"""Check that collecting samples/returned/ gave each file the status samples/RETURNED.md
promises, and that collect exited with the code those statuses call for. `make demo` runs it
after collect; tests/test_samples.py uses the same functions.

    .venv/bin/python scripts/check_samples.py samples/RETURNED.md \\
        demo-out/results/2026/report.json --folder samples/returned --exit-code 1

Exits 1, naming every difference, when a file's status differs, when a file is in the folder
or the report but not in RETURNED.md (or the other way round), or when collect's exit code is
not the one the promised statuses call for (1 when any file is unusable, else 0).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from musforms.i18n import ngettext
from musforms.report import STATUSES, UNUSABLE

STATUS_COLUMN = "status"
FILE_COLUMN = "file"


class TableError(ValueError):
    """RETURNED.md has no table of files and statuses that can be read."""


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def promised(markdown: str) -> dict[str, str]:
    """File name → promised status, from the first Markdown table with a ``file`` and a
    ``status`` column."""
    lines = [line for line in markdown.splitlines() if line.lstrip().startswith("|")]
    if len(lines) < 2:
        raise TableError("no table of files")
    head = _cells(lines[0])
    if FILE_COLUMN not in head or STATUS_COLUMN not in head:
        raise TableError(f"the table has no {FILE_COLUMN!r} and {STATUS_COLUMN!r} columns")
    file_at, status_at = head.index(FILE_COLUMN), head.index(STATUS_COLUMN)
    if not set(lines[1].replace("|", "").strip()) <= set("-: "):
        raise TableError("the table's second line is not its --- separator")
    out: dict[str, str] = {}
    for number, line in enumerate(lines[2:], start=3):
        cells = _cells(line)
        if len(cells) != len(head):
            raise TableError(f"row {number} has {len(cells)} cells, not {len(head)}: {line}")
        name, status = cells[file_at], cells[status_at].strip("`")
        if name in out:
            raise TableError(f"{name} is in the table twice")
        if status not in STATUSES:
            raise TableError(f"{name}: {status!r} is not a status ({', '.join(STATUSES)})")
        out[name] = status
    return out


def reported(report: dict[str, Any], folder: Path) -> dict[str, str]:
    """File name (relative to ``folder``) → status, from report.json."""
    out: dict[str, str] = {}
    for entry in report["files"]:
        path = Path(entry["file"])
        try:
            name = str(path.relative_to(folder))
        except ValueError:
            name = path.name
        out[name] = entry["status"]
    return out


def differences(
    promises: dict[str, str],
    statuses: dict[str, str],
    present: set[str] | None = None,
) -> list[str]:
    """Every way ``statuses`` (from the report) and ``present`` (files in the folder) differ
    from ``promises``; empty when they agree."""
    found = []
    for name in sorted(promises.keys() | statuses.keys()):
        want, got = promises.get(name), statuses.get(name)
        if want is None:
            found.append(f"{name}: collected as {got}, but RETURNED.md does not list it")
        elif got is None:
            found.append(f"{name}: RETURNED.md promises {want}, but the report has no such file")
        elif want != got:
            found.append(f"{name}: RETURNED.md promises {want}, collect gave {got}")
    for name in sorted((present or set()) - promises.keys() - statuses.keys()):
        found.append(f"{name}: in the folder, but neither in RETURNED.md nor in the report")
    return found


def expected_exit_code(promises: dict[str, str]) -> int:
    """collect's exit code for these statuses: 1 when any file needs HR's look."""
    return 1 if any(status in UNUSABLE for status in promises.values()) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("returned_md", type=Path, help="samples/RETURNED.md")
    parser.add_argument("report", type=Path, help="report.json that collect wrote")
    parser.add_argument(
        "--folder", type=Path, help="the folder collected (default: returned/ beside the table)"
    )
    parser.add_argument("--exit-code", type=int, help="the exit code collect gave")
    args = parser.parse_args(argv)
    folder = args.folder or args.returned_md.parent / "returned"
    try:
        promises = promised(args.returned_md.read_text(encoding="utf-8"))
    except TableError as exc:
        print(f"{args.returned_md}: {exc}", file=sys.stderr)
        return 1
    if not args.report.is_file():
        print(f"{args.report}: no report; collect did not finish", file=sys.stderr)
        return 1
    report = json.loads(args.report.read_text(encoding="utf-8"))
    present = {str(p.relative_to(folder)) for p in folder.rglob("*") if not p.is_dir()}
    found = differences(promises, reported(report, folder), present)
    want = expected_exit_code(promises)
    if args.exit_code is not None and args.exit_code != want:
        found.append(f"collect exited with {args.exit_code}; these statuses call for {want}")
    if found:
        print(f"The samples do not give what {args.returned_md} promises:", file=sys.stderr)
        for line in found:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(
        ngettext(
            "{n} file, with the status {table} promises",
            "{n} files, each with the status {table} promises",
            len(promises),
        ).format(n=len(promises), table=args.returned_md)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
