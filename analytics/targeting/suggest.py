"""Group support suggestion: a struggling practice and the neighbours most exposed to its closure, with a priced
package of the menu's group offers (domain brief §1: "support may go to neighbours at risk of struggling because a
nearby practice cannot cope; a package can name several practices").

Members: the practice, then up to ``max_neighbours`` neighbours from its dispersal, most exposed first — those the
closure would push over a threshold, then by the share of their list they would receive (the neighbours receiving
under ``min_share`` of their list are left out: they would barely notice).

Lines: the menu's offers with ``group = true`` (one line shared by the members), the ``lines`` best by effect per
pound of a standard package. A shared line buys ``standard_units × (1 + 0.5 × (members − 1))`` units, rounded up and
at most ``max_units``: each extra practice adds half a standard package (shared sessions, one adviser). Prices come
from the menu; money is integer pence. The case workflow takes the proposal from here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from analytics.menu.offers import Offer
from analytics.targeting.dispersal import Dispersal

EXTRA_MEMBER_SHARE = 0.5


@dataclass(frozen=True)
class GroupMember:
    code: str
    name: str
    role: str  # "struggling practice" or "exposed neighbour"
    km: float
    receives: float
    list_size: float
    crosses: bool
    why: str


@dataclass(frozen=True)
class GroupLine:
    offer_code: str
    title: str
    unit: str
    units: int
    unit_cost_pence: int
    cost_pence: int
    coach_hours: float
    effect: float


@dataclass(frozen=True)
class GroupPackage:
    practice_code: str
    practice_name: str
    members: tuple[GroupMember, ...]
    lines: tuple[GroupLine, ...]
    total_pence: int
    coach_hours: float
    rationale: str


def exposed_neighbours(dispersal: Dispersal, max_neighbours: int = 3, min_share: float = 0.02) -> list[GroupMember]:
    """The most exposed neighbours, most exposed first (see the module docstring)."""
    rows = [n for n in dispersal.neighbours if n.list_before > 0 and n.received / n.list_before >= min_share]
    rows.sort(key=lambda n: (not n.crosses, -(n.received / n.list_before), n.km))
    out = []
    for n in rows[:max_neighbours]:
        share = n.received / n.list_before
        why = f"would receive {n.received:,.0f} patients ({share:.0%} of its list)"
        if n.crosses and n.gp_after is not None:
            why += f", taking it over the threshold ({n.gp_after:,.0f} patients per GP FTE)"
        out.append(GroupMember(n.code, n.name, "exposed neighbour", n.km, n.received, n.list_before, n.crosses, why))
    return out


def group_lines(offers: Sequence[Offer], members: int, lines: int = 3) -> list[GroupLine]:
    """The best ``lines`` group offers by effect per pound, sized for ``members`` practices."""
    group = [o for o in offers if o.group and o.unit_basis == "fixed"]
    group.sort(key=lambda o: (-o.effect / o.standard_cost_pence, o.code))
    out = []
    for o in group[:lines]:
        units = min(o.max_units, math.ceil(o.standard_units * (1 + EXTRA_MEMBER_SHARE * (members - 1))))
        out.append(
            GroupLine(
                offer_code=o.code,
                title=o.title,
                unit=o.unit,
                units=units,
                unit_cost_pence=o.unit_cost_pence,
                cost_pence=units * o.unit_cost_pence,
                coach_hours=units * o.coach_hours_per_unit,
                effect=o.effect,
            )
        )
    return out


def suggest_group(
    dispersal: Dispersal,
    offers: Sequence[Offer],
    pressure: float | None = None,
    max_neighbours: int = 3,
    lines: int = 3,
) -> GroupPackage:
    """A group package for the practice whose closure ``dispersal`` simulates."""
    neighbours = exposed_neighbours(dispersal, max_neighbours)
    lead = GroupMember(
        dispersal.code,
        dispersal.name,
        "struggling practice",
        0.0,
        0.0,
        dispersal.list_size,
        False,
        f"pressure score {pressure:.0f}/100" if pressure is not None else "no pressure score",
    )
    members = (lead, *neighbours)
    priced = group_lines(offers, len(members), lines)
    crossing = sum(1 for m in neighbours if m.crosses)
    rationale = (
        f"If {dispersal.name} closed, {dispersal.absorbed:,.0f} of its {dispersal.list_size:,.0f} patients would move "
        f"to {len(dispersal.neighbours)} neighbours within {dispersal.params.max_distance_km:g} km"
        + (f" and {dispersal.unabsorbed:,.0f} would have nowhere to go" if dispersal.unabsorbed >= 1 else "")
        + (f"; {crossing} of the neighbours named would be pushed over the threshold" if crossing else "")
        + ". Supporting them together protects the practice and those who would absorb its patients."
    )
    return GroupPackage(
        practice_code=dispersal.code,
        practice_name=dispersal.name,
        members=members,
        lines=tuple(priced),
        total_pence=sum(line.cost_pence for line in priced),
        coach_hours=sum(line.coach_hours for line in priced),
        rationale=rationale,
    )
