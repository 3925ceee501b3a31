"""A morning's re-run against a full collect: N employees, a PDF and a Word form each, all
filled (benchmarks/fill.py) and returned; 1 % of the returned files held back. collect
reads the rest (and leaves its cache); the held-back 1 % arrive; collect runs again with
the cache (the morning's re-run) and, into a fresh results folder, once over everything
with ``full=True`` (a full collect). The two results folders must be byte for byte the
same (but the time in report.json). Writes its section of benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/rerun.py --employees 50000   # 100,000 files
    .venv/bin/python benchmarks/rerun.py --employees 5000 --no-write
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from bench import STANDARD, fill_all, machine, write_roster  # noqa: E402
from sections import replace_section  # noqa: E402

HEADING = "## Collecting again: only what is new (musforms.collect.cache)"
_STAMPS = (
    re.compile(rb'"collected_at": ?"[^"]*"'),
    re.compile(rb"DTSTAMP:[0-9TZ]+"),
    re.compile(rb"<dcterms:(created|modified)[^>]*>[^<]*</dcterms:(created|modified)>"),
)
_PRIVATE = (".musforms.lock", ".musforms-tmp", ".musforms-cache")


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _collect(returned: Path, forms: Path, out: Path, key: Path, **kw: Any) -> dict[str, Any]:
    from musforms.collect import collect

    marks: dict[str, float] = {}
    start = time.perf_counter()

    def progress(_: int) -> None:
        marks["read"] = time.perf_counter()

    result = collect([returned], forms, out, key_file=key, progress=progress, **kw)
    end = time.perf_counter()
    read = marks.get("read", start) - start
    return {
        "seconds": end - start,
        "reading": read,
        "rest": end - start - read,
        "files": result.files_read,
        "from_cache": result.from_cache,
    }


def _tree(out: Path) -> dict[str, Any]:
    """A results folder as tests/test_rerun.py compares it: every file HR sees, byte for
    byte, without the time of the run (report.json's collected_at, the calendar's DTSTAMP,
    a workbook's times; a .xlsx or .docx as its parts)."""
    tree: dict[str, Any] = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out)
        if not path.is_file() or rel.parts[0] in _PRIVATE:
            continue
        if path.suffix in (".xlsx", ".docx"):
            with zipfile.ZipFile(path) as z:
                tree[str(rel)] = {n: _unstamped(z.read(n)) for n in z.namelist()}
        else:
            tree[str(rel)] = _unstamped(path.read_bytes())
    return tree


def _unstamped(data: bytes) -> bytes:
    for stamp in _STAMPS:
        data = stamp.sub(b"", data)
    return data


def run(n: int, work: Path, new_share: float, *, reuse: bool = False) -> dict[str, Any]:
    from musforms.generate import generate

    roster, key = work / "roster.csv", work / "musforms.key"
    forms, returned, later = work / "forms", work / "returned", work / "later"
    fill_s = 0.0
    if not reuse:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        write_roster(roster, n)
        say(f"[{n}] generate …")
        generate(STANDARD, roster, forms, "2026", key_file=key)
        say(f"[{n}] filling every form …")
        returned.mkdir()
        t0 = time.perf_counter()
        fill_all(forms, returned, os.cpu_count() or 1)
        fill_s = time.perf_counter() - t0
    for folder in (work / "results", work / "fresh", later):
        shutil.rmtree(folder, ignore_errors=True)
    names = sorted(p.name for p in returned.iterdir())
    held = names[:: round(1 / new_share)]  # 1 % of the files, spread over the round
    later.mkdir()
    for name in held:
        (returned / name).rename(later / name)
    cached, fresh = work / "results", work / "fresh"
    load = os.getloadavg()[0]
    say(f"[{n}] collect {len(names) - len(held)} files (the days before) …")
    first = _collect(returned, forms, cached, key)
    for name in held:
        (later / name).rename(returned / name)
    say(f"[{n}] re-run with {len(held)} new files …")
    again = _collect(returned, forms, cached, key)
    say(f"[{n}] full collect of {len(names)} files …")
    full = _collect(returned, forms, fresh, key, full=True)
    same = _tree(cached) == _tree(fresh)
    cache = cached / ".musforms-cache" / "collect.sqlite"
    return {
        "employees": n,
        "files": len(names),
        "new": len(held),
        "fill_s": fill_s,
        "first": first,
        "again": again,
        "full": full,
        "same": same,
        "cache_bytes": cache.stat().st_size,
        "load": (load, os.getloadavg()[0]),
    }


def section(r: dict[str, Any]) -> str:
    full, again = r["full"], r["again"]
    ratio = again["seconds"] / full["seconds"]
    lines = [
        HEADING,
        "",
        "Written by `benchmarks/rerun.py`. "
        f"Forms for {r['employees']:,} employees, a PDF and a Word form each, generated with "
        "the standard question set, filled with Danish answers by benchmarks/fill.py: "
        f"{r['files']:,} real, distinct returned files. {r['new']:,} of them (1 %, every "
        "hundredth by name) are held back while collect reads the rest; then they arrive, and "
        "collect runs again over the whole folder with its cache (the morning's re-run), and "
        "once more, into a fresh results folder, over everything with `full=True` (a full "
        "collect).",
        "",
        *machine(),
        f"- Run: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M')} UTC, load average "
        f"{r['load'][0]:.1f} before the first collect, {r['load'][1]:.1f} after the last (the "
        "benchmark's own generating and filling count in it; more is other work on the "
        "machine)",
        "",
        "| | full collect | re-run, 1 % new |",
        "| --- | --- | --- |",
        f"| files | {full['files']:,} | {again['files']:,} ({again['from_cache']:,} from the "
        "cache) |",
        f"| total | **{full['seconds']:.1f} s** | **{again['seconds']:.1f} s** |",
        f"| … reading the files (to the last one read) | {full['reading']:.1f} s | "
        f"{again['reading']:.1f} s |",
        f"| … merging, report, responses, minutes, follow-up list, calendar | "
        f"{full['rest']:.1f} s | {again['rest']:.1f} s |",
        f"| re-run / full | | **{ratio:.2f}** |",
        "",
        f"The re-run's results folder is {'byte for byte' if r['same'] else 'NOT'} the full "
        "collect's, every file and every part of the .docx and .xlsx files, but for the time "
        "of the run (report.json's collected_at, the calendar's DTSTAMP, the workbook's "
        "created and modified times). The cache is "
        f"{r['cache_bytes'] / 1e6:.0f} MB.",
        "",
    ]
    lines += [
        f"Target (a re-run in under a tenth of a full collect): "
        f"{'met' if ratio < 0.1 else '**not met**'} ({ratio:.2f}).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=50_000)
    parser.add_argument("--new", type=float, default=0.01, help="the share of new files")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-out" / "rerun")
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--no-write", action="store_true", help="leave RESULTS.md alone")
    parser.add_argument("--keep", action="store_true", help="keep the forms and files")
    parser.add_argument(
        "--reuse", action="store_true", help="the forms and returned files in --out, as they are"
    )
    args = parser.parse_args()
    try:
        result = run(args.employees, args.out, args.new, reuse=args.reuse)
    finally:
        if not args.keep and not args.reuse:
            shutil.rmtree(args.out, ignore_errors=True)
    text = section(result)
    print(text)
    if not args.no_write:
        replace_section(args.results, HEADING, text)


if __name__ == "__main__":
    main()
