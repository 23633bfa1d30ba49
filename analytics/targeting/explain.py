"""The optimiser's explanation in words: which constraints bind, each ICB's spend against its budget and floor, and
a reason for every candidate practice (funded, or why not), beside the greedy baseline's result.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from analytics.menu.offers import Offer
from analytics.targeting.plan import (
    Candidates,
    IcbResult,
    Items,
    PracticeResult,
    Settings,
    practice_benefit,
    spend_by_icb,
)


def _money(pence: float) -> str:
    return f"£{pence / 100:,.0f}"


def explain(
    cands: Candidates,
    items: Items,
    chosen: npt.NDArray[np.bool_],
    greedy_chosen: npt.NDArray[np.bool_],
    settings: Settings,
    offers: Sequence[Offer],
) -> tuple[tuple[str, ...], tuple[IcbResult, ...], tuple[PracticeResult, ...]]:
    """Binding constraints, per-ICB totals and a reason for every candidate practice in scope."""
    s, benefit = practice_benefit(cands, items, chosen)
    _, g_benefit = practice_benefit(cands, items, greedy_chosen)
    spent = np.zeros(len(cands))
    np.add.at(spent, items.practice[chosen], items.cost[chosen])
    hours_used = float(items.hours[chosen].sum())
    hours_left = settings.coach_hours - hours_used
    icb_spend = spend_by_icb(cands, items, chosen)
    g_spend = spend_by_icb(cands, items, greedy_chosen)
    open_items = ~chosen
    fits_cap = spent[items.practice] + items.cost <= settings.practice_cap_pence
    budget_left = {k: settings.budgets_pence[k] - icb_spend.get(k, 0) for k in settings.budgets_pence}
    item_icb = np.array([cands.icb_code[p] for p in items.practice.tolist()])
    fits_hours = items.hours <= hours_left + 1e-9

    binding: list[str] = []
    # Capacity: binding when some package that fits its budget and cap is kept out by hours alone.
    coaching = open_items & fits_cap & (items.hours > 0)
    hours_binding = bool(coaching.any() and (~fits_hours[coaching]).all())
    if hours_binding:
        binding.append(
            f"Coach hours: {hours_used:,.0f} of {settings.coach_hours:,.0f} used; the {hours_left:,.1f} left "
            "cannot fit another package that uses coaching"
        )
    icb_rows = []
    budget_binding: dict[str, bool] = {}
    for icb in sorted(settings.budgets_pence):
        mine = open_items & (item_icb == icb) & fits_cap
        left = budget_left[icb]
        is_binding = bool(mine.any() and items.cost[mine].min() > left)
        budget_binding[icb] = is_binding
        floor = None if settings.floor_share is None else math.floor(settings.budgets_pence[icb] * settings.floor_share)
        cheapest = int(items.cost[mine].min()) if mine.any() else 0
        floor_binding = floor is not None and icb_spend.get(icb, 0) - floor < max(cheapest, 1)
        if is_binding:
            binding.append(
                f"Budget of {icb}: {_money(icb_spend.get(icb, 0))} of {_money(settings.budgets_pence[icb])} "
                f"committed; the {_money(left)} left is less than the cheapest remaining package "
                f"({_money(cheapest)})"
            )
        if floor_binding and floor is not None:
            binding.append(f"Fairness floor of {icb}: spending held at its floor of {_money(floor)}")
        members = [i for i, c in enumerate(cands.icb_code) if c == icb]
        icb_rows.append(
            IcbResult(
                icb_code=icb,
                budget_pence=int(settings.budgets_pence[icb]),
                spend_pence=int(icb_spend.get(icb, 0)),
                floor_pence=floor,
                hours=float(items.hours[chosen & (item_icb == icb)].sum()),
                practices=len(members),
                funded=int(np.unique(items.practice[chosen & (item_icb == icb)]).size),
                benefit=float(benefit[members].sum()) if members else 0.0,
                budget_binding=is_binding,
                floor_binding=bool(floor_binding),
                greedy_spend_pence=int(g_spend.get(icb, 0)),
                greedy_benefit=float(g_benefit[members].sum()) if members else 0.0,
            )
        )
    cap_hits = int(
        sum(
            1
            for p in np.unique(items.practice[chosen])
            if not (open_items & (items.practice == p) & fits_cap).any()
            and (items.practice == p).sum() > int(chosen[items.practice == p].sum())
        )
    )
    if cap_hits:
        binding.append(f"Per-practice cap of {_money(settings.practice_cap_pence)}: reached by {cap_hits} practices")

    # Marginal benefit per £1,000 of each chosen package, and the lowest one per ICB: the cut-off.
    per_k = np.zeros(items.cost.size)
    for j in np.flatnonzero(chosen).tolist():
        p = int(items.practice[j])
        per_k[j] = cands.need[p] * items.effect[j] / items.cost[j] * 100_000
    cutoff = {
        icb: (float(per_k[chosen & (item_icb == icb)].min()) if (chosen & (item_icb == icb)).any() else None)
        for icb in settings.budgets_pence
    }
    first_ratio = np.zeros(len(cands))
    np.maximum.at(first_ratio, items.practice, cands.need[items.practice] * items.effect / items.cost * 100_000)
    has_item = np.zeros(len(cands), dtype=bool)
    has_item[items.practice] = True
    titles = {k: o.title for k, o in enumerate(offers)}
    by_practice: dict[int, list[int]] = {}
    for i in np.flatnonzero(chosen).tolist():
        by_practice.setdefault(int(items.practice[i]), []).append(i)
    rows = []
    for p in range(len(cands)):
        icb = cands.icb_code[p]
        if icb not in settings.budgets_pence:
            continue
        pressure = float(cands.pressure[p]) if math.isfinite(cands.pressure[p]) else None
        ripple = int(cands.ripple_neighbours[p])
        why_need = (
            f"need {cands.need[p]:.2f} (pressure {pressure:.0f}/100"
            + (
                f"; its closure would push {ripple} neighbour{'s' if ripple != 1 else ''} over the threshold"
                if ripple
                else ""
            )
            + ")"
            if pressure is not None
            else "no pressure score, so no need can be assessed"
        )
        mine = by_practice.get(p, [])
        if mine:
            names = [titles[int(items.offer[i])] for i in mine]
            at_cap = not (open_items & (items.practice == p) & fits_cap).any() and len(mine) < int(
                (items.practice == p).sum()
            )
            reason = (
                f"Funded: {why_need}. The packages bought give the most benefit per pound within the constraints "
                f"(expected risk reduction {s[p]:.0%})."
                + (
                    f" The {_money(settings.practice_cap_pence)} per-practice cap stopped further packages."
                    if at_cap
                    else ""
                )
            )
        elif cands.need[p] <= 0 or not has_item[p]:
            names = []
            reason = (
                f"Not funded: {why_need}."
                if cands.need[p] <= 0
                else "Not funded: no package is eligible within the per-practice cap."
            )
        else:
            names = []
            cut = cutoff.get(icb)
            if budget_binding.get(icb) and cut is not None and first_ratio[p] < cut:
                reason = (
                    f"Not funded: {why_need}. Its best package gives {first_ratio[p]:.2f} benefit per £1,000, below "
                    f"the {cut:.2f} of the last package the {icb} budget bought."
                )
            elif hours_binding:
                reason = (
                    f"Not funded: {why_need}. Coach hours ran out on practices with more benefit per hour and pound."
                )
            elif budget_binding.get(icb):
                reason = f"Not funded: {why_need}. The {icb} budget was used on packages of more combined benefit."
            else:
                reason = f"Not funded: {why_need}. No remaining package fits the budget, hours and cap together."
        rows.append(
            PracticeResult(
                code=cands.code[p],
                name=cands.name[p],
                icb_code=icb,
                need=float(cands.need[p]),
                pressure=pressure,
                ripple_neighbours=ripple,
                offers=tuple(names),
                cost_pence=int(spent[p]),
                hours=float(items.hours[mine].sum()) if mine else 0.0,
                risk_reduction=float(s[p]),
                benefit=float(benefit[p]),
                reason=reason,
            )
        )
    rows.sort(key=lambda r: (-r.benefit, -r.need, r.code))
    return tuple(binding), tuple(icb_rows), tuple(rows)
