"""RESULTS.md is written by several measuring scripts, each owning one ``## `` section."""

from __future__ import annotations

from pathlib import Path


def replace_section(path: Path, heading: str, body: str) -> None:
    """Put ``body`` (which starts with ``heading``) in place of that section of the file, or
    after the rest; every other section is kept as it is."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    start = text.find(heading)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        end = text.find("\n## ", start + len(heading))
        rest = text[end + 1 :] if end >= 0 else ""
        text = text[:start] + body + ("\n" + rest if rest else "")
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
