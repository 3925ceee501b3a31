"""Last round's agreements, carried into the next round's forms (``generate --previous``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from musforms.models import Agreement


def iter_open_agreements(
    results: Path, basis: Counter[str] | None = None
) -> Iterator[tuple[str, list[Agreement]]]:
    """Per employee with any: the agreements made last round, plus older ones still not done
    or dropped. One employee at a time, read from the results folder as they are wanted.

    Last round's agreements are those agreed in the conclusion where it came back, else the
    employee's proposals; ``basis`` counts the employees of each ("agreed", "proposed")."""
    from musforms.results import iter_responses

    for response in iter_responses(results):
        rows = [
            Agreement(what=p.what, owner=p.owner, due=p.due)
            for p in response.previous_agreements
            if p.status not in ("done", "dropped")
        ]
        rows += [
            Agreement(what=a.what, owner=a.owner, due=a.due)
            for a in response.followed_agreements()
            if a.what.strip()
        ]
        if basis is not None and response.followed_agreements():
            basis["agreed" if response.conclusion is not None else "proposed"] += 1
        if rows:
            yield response.employee.id, rows


def open_agreements(results: Path) -> dict[str, list[Agreement]]:
    """:func:`iter_open_agreements` gathered by employee id."""
    return dict(iter_open_agreements(results))
