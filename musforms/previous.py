"""Last round's agreements, carried into the next round's forms (``generate --previous``)."""

from __future__ import annotations

from pathlib import Path

from musforms.models import Agreement


def open_agreements(results: Path) -> dict[str, list[Agreement]]:
    """Per employee: the agreements made last round, plus older ones still not done or dropped."""
    from musforms.collect import load_responses

    carried: dict[str, list[Agreement]] = {}
    for response in load_responses(results):
        rows = [
            Agreement(what=p.what, owner=p.owner, due=p.due)
            for p in response.previous_agreements
            if p.status not in ("done", "dropped")
        ]
        rows += [
            Agreement(what=a.what, owner=a.owner, due=a.due)
            for a in response.agreements
            if a.what.strip()
        ]
        if rows:
            carried[response.employee.id] = rows
    return carried
