"""The wellbeing charts: matplotlib figures as SVG text to put inline in the HTML.

Deterministic: the SVG's ids come from ``svg.hashsalt``, its metadata holds no date or
version, and its text stays text (``svg.fonttype = none``, drawn by the viewer's own
fonts: nothing is embedded or fetched). The same figures give the same bytes.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_SALT = "musforms-report"
_METADATA = {"Creator": None, "Date": None, "Format": None, "Type": None}
_ID = re.compile(r'\bid="([^"]+)"')


@dataclass(frozen=True)
class Bar:
    """One group's bar: its label, and the share of each answer (None: hidden, with the
    text to show in its place)."""

    label: str
    shares: Sequence[float] | None
    note: str = ""


def stacked_bars(
    bars: Sequence[Bar], legend: Sequence[str], *, sequential: bool, prefix: str
) -> str:
    """A horizontal bar per group, each split into the shares of its answers (100 %).

    ``sequential`` colours a scale's answers from low to high; otherwise each choice has its
    own colour. ``prefix`` makes the SVG's ids unique in the page.
    """
    import matplotlib
    from matplotlib.figure import Figure

    rc: dict[str, Any] = {
        "svg.hashsalt": _SALT,
        "svg.fonttype": "none",
        "font.family": "DejaVu Sans",  # matplotlib's own; the viewer draws it with its own fonts
        "font.size": 9,
    }
    with matplotlib.rc_context(rc):  # type: ignore[arg-type]
        top, bottom = 0.45, 0.35  # inches for the legend above, the axis below
        height = top + bottom + 0.3 * len(bars)
        fig = Figure(figsize=(6.4, height), dpi=72)
        ax = fig.add_axes((0.3, bottom / height, 0.66, 1 - (top + bottom) / height))
        k = len(legend)
        if sequential:
            cmap = matplotlib.colormaps["RdYlGn"]
            colours = [cmap(0.1 + 0.8 * i / max(k - 1, 1)) for i in range(k)]
        else:
            cmap = matplotlib.colormaps["tab10"]
            colours = [cmap(i % 10) for i in range(k)]
        rows = list(range(len(bars)))[::-1]
        for y, bar in zip(rows, bars, strict=True):
            if bar.shares is None:
                ax.text(0.01, y, bar.note, va="center", ha="left", fontsize=8, color="#555555")
        # One call per answer, over every bar at once: a bar per segment costs ten times more.
        drawn = [(y, bar.shares) for y, bar in zip(rows, bars, strict=True) if bar.shares]
        if drawn:
            left = [0.0] * len(drawn)
            for i in range(k):
                widths = [shares[i] for _, shares in drawn]
                ax.barh([y for y, _ in drawn], widths, left=left, color=colours[i], height=0.7)
                left = [a + b for a, b in zip(left, widths, strict=True)]
        ax.set_yticks(rows, [b.label for b in bars])
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.5, len(bars) - 0.5)
        ax.set_xticks([0, 0.25, 0.5, 0.75, 1], ["0 %", "25 %", "50 %", "75 %", "100 %"])
        ax.spines[["top", "right"]].set_visible(False)
        handles = [matplotlib.patches.Patch(color=colours[i], label=legend[i]) for i in range(k)]
        ax.legend(
            handles=handles, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=min(k, 5),
            fontsize=7, frameon=False, handlelength=1,
        )  # fmt: skip
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata=_METADATA)
    return _inline(buf.getvalue(), prefix)


def _inline(svg: str, prefix: str) -> str:
    """The SVG without its XML declaration and doctype, its ids prefixed."""
    start = svg.find("<svg")
    svg = svg[start:]
    ids = set(_ID.findall(svg))
    for old in sorted(ids, key=len, reverse=True):
        new = f"{prefix}-{old}"
        svg = svg.replace(f'id="{old}"', f'id="{new}"')
        svg = svg.replace(f"#{old})", f"#{new})").replace(f'#{old}"', f'#{new}"')
    return svg.strip()
