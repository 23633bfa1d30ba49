"""The optimiser's explanation in words: which constraints bind, each funding line's and each ICB's spend against
its budget and floor, the places bought on universal offers, and a reason for every candidate practice (funded, and
why: its patients, risk, each offer's effect and the effect's source; or why not), beside the greedy baseline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analytics.menu.offers import Offer
from analytics.targeting.plan import (
    PACKAGE,
    Candidates,
    IcbResult,
    IntArray,
    Items,
    Line,
    LineResult,
    PlaceResult,
    PracticeResult,
    Settings,
    effect_source,
    practice_benefit,
    spend_by_icb,
    spend_by_line,
)


@dataclass(frozen=True)
class Explanation:
    binding: tuple[str, ...]
    icbs: tuple[IcbResult, ...]
    practices: tuple[PracticeResult, ...]
    lines: tuple[LineResult, ...]
    places: tuple[PlaceResult, ...]


def _money(pence: float) -> str:
    return f"£{pence / 100:,.0f}"


def explain(
    cands: Candidates,
    items: Items,
    chosen: IntArray,
    greedy_chosen: IntArray,
    settings: Settings,
    offers: Sequence[Offer],
) -> Explanation:
    """Binding constraints, per-line and per-ICB totals, places, and a reason for every candidate practice."""
    lines = settings.funding_lines()
    s, benefit = practice_benefit(cands, items, chosen)
    _, g_benefit = practice_benefit(cands, items, greedy_chosen)
    pkg = items.package
    bought = (chosen > 0) & pkg
    spent = np.zeros(len(cands))
    np.add.at(spent, items.practice[bought], items.cost[bought])
    hours_used = float((items.hours * chosen).sum())
    hours_left = settings.coach_hours - hours_used
    icb_spend = spend_by_icb(cands, items, chosen)
    g_spend = spend_by_icb(cands, items, greedy_chosen)
    # What could still be bought: a place not yet taken up to its limit, or a package not bought whose practice has
    # no package of that offer yet and whose cost fits under its practice's cap.
    has_offer = set(zip(items.practice[bought].tolist(), items.offer[bought].tolist(), strict=True))
    fresh = np.array(
        [(p, o) not in has_offer for p, o in zip(items.practice.tolist(), items.offer.tolist(), strict=True)],
        dtype=bool,
    )
    fits_cap = ~pkg | (spent[items.practice] + items.cost <= settings.practice_cap_pence)
    open_items = np.where(items.place, chosen < items.upper, pkg & (chosen == 0) & fresh) & fits_cap
    line_spend = spend_by_line(items, chosen, len(lines))
    cell_left = {(li, k): line.budgets_pence.get(k, 0) for li, line in enumerate(lines) for k in settings.budgets_pence}
    for i in np.flatnonzero((chosen > 0) & items.draws_on_line).tolist():
        cell_left[(int(items.line[i]), items.icbs[int(items.icb[i])])] -= int(items.cost[i] * chosen[i])
    item_icb = np.array(items.icbs, dtype=object)[items.icb] if items.icbs else np.zeros(0, dtype=object)
    fits_hours = items.hours <= hours_left + 1e-9

    binding: list[str] = []
    coaching = open_items & (items.hours > 0)
    hours_binding = bool(coaching.any() and (~fits_hours[coaching]).all())
    if hours_binding:
        binding.append(
            f"Coach hours: {hours_used:,.0f} of {settings.coach_hours:,.0f} used; the {hours_left:,.1f} left "
            "cannot fit another package or place that uses coaching"
        )
    budget_binding: dict[str, bool] = {}
    for (li, icb), left in sorted(cell_left.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        mine = open_items & (items.line == li) & (item_icb == icb)
        if mine.any() and items.cost[mine].min() > left:
            budget_binding[icb] = True
            name = "" if lines[li].code == "all" else f"{lines[li].name}, "
            binding.append(
                f"Budget of {name}{icb}: {_money(lines[li].budgets_pence.get(icb, 0) - left)} of "
                f"{_money(lines[li].budgets_pence.get(icb, 0))} committed; the {_money(left)} left is less than the "
                f"cheapest remaining package ({_money(int(items.cost[mine].min()))})"
            )
    icb_rows = []
    for icb in sorted(settings.budgets_pence):
        mine = open_items & (item_icb == icb)
        floor = None if settings.floor_share is None else math.floor(settings.budgets_pence[icb] * settings.floor_share)
        cheapest = int(items.cost[mine].min()) if mine.any() else 0
        floor_binding = floor is not None and icb_spend.get(icb, 0) - floor < max(cheapest, 1)
        if floor_binding and floor is not None:
            binding.append(f"Fairness floor of {icb}: spending held at its floor of {_money(floor)}")
        members = [i for i, c in enumerate(cands.icb_code) if c == icb]
        here = item_icb == icb
        place_here = here & items.place
        icb_rows.append(
            IcbResult(
                icb_code=icb,
                budget_pence=int(settings.budgets_pence[icb]),
                spend_pence=int(icb_spend.get(icb, 0)),
                floor_pence=floor,
                hours=float((items.hours * chosen)[here].sum()),
                practices=len(members),
                funded=int(np.unique(items.practice[bought & here]).size),
                benefit=float(benefit[members].sum() + (items.value * chosen)[place_here].sum()),
                budget_binding=budget_binding.get(icb, False),
                floor_binding=bool(floor_binding),
                greedy_spend_pence=int(g_spend.get(icb, 0)),
                greedy_benefit=float(g_benefit[members].sum() + (items.value * greedy_chosen)[place_here].sum()),
                places=int(chosen[place_here].sum()),
            )
        )
    cap_hits = sum(
        1
        for p in np.unique(items.practice[bought]).tolist()
        if not (open_items & (items.practice == p) & fresh).any()
        and bool(((items.practice == p) & pkg & (chosen == 0) & fresh).any())
    )
    if cap_hits:
        binding.append(f"Per-practice cap of {_money(settings.practice_cap_pence)}: reached by {cap_hits} practices")

    line_rows = _line_rows(items, chosen, greedy_chosen, lines, offers, line_spend)
    place_rows = _place_rows(items, chosen, lines, offers)
    practice_rows = _practice_rows(
        cands, items, chosen, settings, offers, s, benefit, spent, open_items, budget_binding, hours_binding
    )
    return Explanation(tuple(binding), tuple(icb_rows), practice_rows, line_rows, place_rows)


def _line_rows(
    items: Items,
    chosen: IntArray,
    greedy_chosen: IntArray,
    lines: Sequence[Line],
    offers: Sequence[Offer],
    line_spend: list[int],
) -> tuple[LineResult, ...]:
    g_spend = spend_by_line(items, greedy_chosen, len(lines))
    protected = _protected_by_line(items, chosen, len(lines))
    g_protected = _protected_by_line(items, greedy_chosen, len(lines))
    own = items.kind == PACKAGE
    shared_bought = items.shared & (chosen > 0)
    rows = []
    for li, line in enumerate(lines):
        mine = items.line == li
        bought = mine & (chosen > 0)
        funds = np.array([line.funds(offers[int(k)].code) for k in items.offer.tolist()], dtype=bool)
        rows.append(
            LineResult(
                code=line.code,
                name=line.name,
                universal=line.universal,
                budget_pence=int(sum(line.budgets_pence.values())),
                spend_pence=line_spend[li],
                patients_protected=protected[li],
                packages=int(chosen[mine & own].sum()),
                places=int(chosen[mine & items.place].sum()),
                practices=int(np.unique(items.practice[bought & own]).size),
                shared_packages=0 if line.universal else int((shared_bought & funds).sum()),
                offers=tuple(o.code for o in offers if line.funds(o.code)),
                greedy_spend_pence=g_spend[li],
                greedy_patients_protected=g_protected[li],
            )
        )
    return tuple(rows)


def _protected_by_line(items: Items, chosen: IntArray, n_lines: int) -> list[float]:
    """Patients protected per line: its own packages and places, and of each pool it pays into, the share it paid."""
    out = np.zeros(n_lines)
    direct = (items.kind == PACKAGE) | items.place
    np.add.at(out, items.line[direct], (items.value * chosen)[direct])
    n_icb = max(1, len(items.icbs))
    pool_of = items.offer * n_icb + items.icb
    value: dict[int, float] = {}
    paid: dict[int, int] = {}
    for i in np.flatnonzero(items.shared & (chosen > 0)).tolist():
        value[int(pool_of[i])] = value.get(int(pool_of[i]), 0.0) + float(items.value[i])
    transfers = np.flatnonzero(items.transfer & (chosen > 0)).tolist()
    for t in transfers:
        paid[int(pool_of[t])] = paid.get(int(pool_of[t]), 0) + int(chosen[t])
    for t in transfers:
        key = int(pool_of[t])
        out[int(items.line[t])] += value.get(key, 0.0) * int(chosen[t]) / paid[key]
    return [float(v) for v in out.tolist()]


def _place_rows(
    items: Items, chosen: IntArray, lines: Sequence[Line], offers: Sequence[Offer]
) -> tuple[PlaceResult, ...]:
    rows = []
    for i in np.flatnonzero(items.place & (chosen > 0)).tolist():
        o = offers[int(items.offer[i])]
        n = int(chosen[i])
        rows.append(
            PlaceResult(
                line=lines[int(items.line[i])].name,
                offer_code=o.code,
                offer=o.title,
                icb_code=items.icbs[int(items.icb[i])],
                places=n,
                of_practices=int(items.upper[i]),
                cost_per_place_pence=int(items.cost[i]),
                spend_pence=int(items.cost[i]) * n,
                effect=o.effect,
                effect_source=effect_source(o),
                patients_protected=float(items.value[i]) * n,
            )
        )
    rows.sort(key=lambda r: (r.icb_code, r.line, -r.patients_protected))
    return tuple(rows)


def _practice_rows(
    cands: Candidates,
    items: Items,
    chosen: IntArray,
    settings: Settings,
    offers: Sequence[Offer],
    s: np.ndarray,
    benefit: np.ndarray,
    spent: np.ndarray,
    open_items: np.ndarray,
    budget_binding: dict[str, bool],
    hours_binding: bool,
) -> tuple[PracticeResult, ...]:
    lines = settings.funding_lines()
    pkg = items.package
    bought = (chosen > 0) & pkg
    # Patients protected per £1,000 of each bought package, and the lowest one per ICB: the cut-off.
    ratio = np.where(items.cost > 0, items.value / np.maximum(items.cost, 1) * 100_000, 0.0)
    item_icb = [items.icbs[j] for j in items.icb.tolist()]
    cutoff: dict[str, float] = {}
    for i in np.flatnonzero(bought).tolist():
        cutoff[item_icb[i]] = min(cutoff.get(item_icb[i], math.inf), float(ratio[i]))
    first_ratio = np.zeros(len(cands))
    np.maximum.at(first_ratio, items.practice[pkg], ratio[pkg])
    has_item = np.zeros(len(cands), dtype=bool)
    has_item[items.practice[pkg]] = True
    by_practice: dict[int, list[int]] = {}
    for i in np.flatnonzero(bought).tolist():
        by_practice.setdefault(int(items.practice[i]), []).append(i)
    rows = []
    for p in range(len(cands)):
        icb = cands.icb_code[p]
        if icb not in settings.budgets_pence:
            continue
        pressure = float(cands.pressure[p]) if math.isfinite(cands.pressure[p]) else None
        ripple = int(cands.ripple_neighbours[p])
        patients = round(float(np.nan_to_num(cands.list_size[p])))
        why_need = (
            f"need {cands.need[p]:.2f}, its risk index (pressure {pressure:.0f}/100"
            + (
                f"; its closure would push {ripple} neighbour{'s' if ripple != 1 else ''} over the threshold"
                if ripple
                else ""
            )
            + f"), {patients:,} registered patients"
            if pressure is not None
            else "no pressure score, so no need can be assessed"
        )
        mine = by_practice.get(p, [])
        why: list[str] = []
        if mine:
            names = [offers[int(items.offer[i])].title for i in mine]
            for i in mine:
                o = offers[int(items.offer[i])]
                line = lines[int(items.line[i])]
                payers = [x.name for x in lines if not x.universal and x.funds(o.code)]
                paid = (
                    ""
                    if line.code == "all"
                    else f", paid from {' or '.join(payers)} (a shared offer)"
                    if items.shared[i]
                    else f", paid from {line.name}"
                )
                why.append(
                    f"{o.title}: effect {o.effect:.0%} ({effect_source(o)}){paid}; "
                    f"{float(items.value[i]):,.1f} patients protected for {_money(int(items.cost[i]))}"
                )
            at_cap = not (open_items & (items.practice == p)).any() and bool(
                ((items.practice == p) & pkg & (chosen == 0)).any()
            )
            reason = (
                f"Funded: {why_need}. {benefit[p]:,.1f} patients protected (expected risk reduction {s[p]:.0%}): "
                "the packages bought protect the most patients per pound within the constraints."
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
                else "Not funded: no package is eligible within the per-practice cap and the lines' offers."
            )
        else:
            names = []
            cut = cutoff.get(icb)
            if budget_binding.get(icb) and cut is not None and first_ratio[p] < cut:
                reason = (
                    f"Not funded: {why_need}. Its best package protects {first_ratio[p]:.2f} patients per £1,000, "
                    f"below the {cut:.2f} of the last package the {icb} budget bought."
                )
            elif hours_binding:
                reason = f"Not funded: {why_need}. Coach hours ran out on packages that protect more patients."
            elif budget_binding.get(icb):
                reason = f"Not funded: {why_need}. The {icb} budget was used on packages that protect more patients."
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
                patients=patients,
                why=tuple(why),
            )
        )
    rows.sort(key=lambda r: (-r.benefit, -r.need, r.code))
    return tuple(rows)
