"""The allocation rules, Django-free: who is offered the free places of a cohort and in what order the rest wait.

One function answers both questions for every rule, at the first allocation and each time a place comes free (a
decline or a withdrawal): :func:`queue` puts the waiting candidates in the order the rule would offer them places,
given who already holds one; the first ``free`` of them are offered, the others are the waiting list in that order.

- **first come**: the order interest was expressed in;
- **priority to higher pressure**: the practice's current pressure score, highest first (a practice with no score
  after every scored one), then first come;
- **quotas**: an ICB's quota keeps places for its practices, so while an ICB holds fewer places than its quota its
  earliest candidate goes first; then first come. A quota its ICB's practices did not fill is not held empty: the
  places are allocated after the closing date, so nobody else from that ICB is coming.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

FIRST_COME = "first_come"
QUOTAS = "quotas"
PRESSURE = "pressure"
RULES = (FIRST_COME, QUOTAS, PRESSURE)


@dataclass(frozen=True)
class Candidate:
    key: int  # the interest's id
    icb: str  # the practice's ICB code
    expressed_at: datetime
    pressure: float | None = None  # the practice's current pressure score (0-100, higher is more pressure)


def _first_come(c: Candidate) -> tuple[datetime, int]:
    return (c.expressed_at, c.key)


def _by_pressure(c: Candidate) -> tuple[bool, float, datetime, int]:
    return (c.pressure is None, -(c.pressure or 0.0), c.expressed_at, c.key)


def queue(
    rule: str, waiting: Sequence[Candidate], holding: Mapping[str, int], quotas: Mapping[str, int]
) -> list[Candidate]:
    """The waiting candidates in the order the rule offers them places. ``holding``: ICB code → places its practices
    hold now (offered or accepted); ``quotas``: ICB code → places kept for it (the quotas rule only)."""
    if rule not in RULES:
        raise ValueError(f"unknown allocation rule {rule!r}")
    if rule == PRESSURE:
        return sorted(waiting, key=_by_pressure)
    ordered = sorted(waiting, key=_first_come)
    if rule == FIRST_COME:
        return ordered
    held = dict(holding)
    out: list[Candidate] = []
    rest = list(ordered)
    while rest:
        # The earliest candidate of an ICB still short of its quota, else the earliest of all.
        pick = next((c for c in rest if held.get(c.icb, 0) < quotas.get(c.icb, 0)), rest[0])
        out.append(pick)
        rest.remove(pick)
        held[pick.icb] = held.get(pick.icb, 0) + 1
    return out


def allocate(
    rule: str,
    places: int,
    waiting: Sequence[Candidate],
    holding: Mapping[str, int],
    quotas: Mapping[str, int],
) -> tuple[list[Candidate], list[Candidate]]:
    """``(offered, waiting list)``: the free places (``places`` less those held) go to the head of the queue."""
    free = max(0, places - sum(holding.values()))
    ordered = queue(rule, waiting, holding, quotas)
    return ordered[:free], ordered[free:]
