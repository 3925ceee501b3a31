"""Which groups' figures a report may show: the anonymity threshold, with remainder
protection.

A group with fewer answers than the threshold shows no figures. Hiding it alone is not
enough when its parent (the whole organisation) and its siblings are shown: their difference
is the hidden group. So when exactly one sibling is hidden, the next smallest is hidden too,
and the difference is then the sum of two groups, never one (the remainder protection of the
HR survey suites). A group without a single answer shows nothing to hide and counts as
neither.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Literal, TypeVar

K = TypeVar("K", bound=Hashable)
Reason = Literal["small", "remainder"]
SMALL: Reason = "small"  # fewer answers than the threshold
REMAINDER: Reason = "remainder"  # hidden so a small sibling cannot be worked out


def hidden_groups(
    sizes: Mapping[K, int], minimum: int, *, remainder: bool = True
) -> dict[K, Reason]:
    """The sibling groups (group → number of answers) whose figures are not shown, and why.

    Their parent, the sum of them all, is shown when it reaches ``minimum``; when it does
    not, every group with answers is hidden, and so is the parent. ``remainder`` off is for
    the test that shows what the protection prevents.
    """
    if sum(sizes.values()) < minimum:
        return {g: SMALL for g, n in sizes.items() if n > 0}
    hidden: dict[K, Reason] = {g: SMALL for g, n in sizes.items() if 0 < n < minimum}
    if remainder and len(hidden) == 1:
        shown = sorted(((n, str(g)), g) for g, n in sizes.items() if g not in hidden and n > 0)
        if shown:
            hidden[shown[0][1]] = REMAINDER
    return hidden


def parent_shown(sizes: Mapping[K, int], minimum: int) -> bool:
    """Whether the sum of the groups (the whole organisation) may be shown."""
    return sum(sizes.values()) >= minimum
