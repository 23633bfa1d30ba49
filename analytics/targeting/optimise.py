"""Allocation optimiser: which support packages, for which practices, to do the most good with this year's money
and coach time. A mixed-integer programme solved with HiGHS to within 0.1% of a proven bound (the LP relaxation, then
one MILP per ICB for a Lagrangian bound and a plan: :mod:`analytics.targeting.optimise_split`), a greedy baseline in
the same run, and an explanation of both the binding constraints and each practice's result.

Decision: ``x[p, o, l] = 1`` buys practice *p* the **standard package** of offer *o* (``standard_units`` units,
from ``analytics/menu/offers.toml``) paid by targeted funding line *l*; ``y[o, l, k]`` is the number of **places**
on offer *o* that universal line *l* buys in ICB *k* (at most one per practice there). A line has variables only for
the offers it funds (the caller computes them with the programme's rule, ``apps.funding.lines.funds_offer``), so no
plan can spend a line on anything else. Costs, coach hours and effects are read from the menu, never re-typed:

* cost in pence: ``unit_cost_pence × standard_units`` for fixed offers; ``× list size`` (``patients``) or
  ``× weighted list`` (``weighted_patients``) for per-patient offers; a place costs the ICB's average of these;
* coach hours ``h[o] = coach_hours_per_unit × standard_units`` a package or place;
* effect ``e[o]``: the menu's ``effect``, an assumed relative reduction of the practice's pressure-driven risk
  after a standard package.

Objective: maximise **patients protected** ``Σ list[p] × risk[p] × e[o] × x + Σ mean_k(list × risk) × e[o] × y``
(:func:`analytics.targeting.plan.protected_weight`; the risk index is ``need``, from the pressure index and the
ripple score). Counting patients, not practices, means a package at a 19-patient practice protects 19 × risk × e
patients, so a small practice with a high score no longer tops the list. A place's benefit is its ICB's average:
who takes up a universal offer is the practices' choice, not the plan's. Effects **add up** within a practice, as a
linear programme needs; the menu's effects are small (2–18%) and the per-practice cap bounds what one practice can
get, so additive and multiplicative combination differ little (each practice's combined reduction ``1 − Π(1 − e)``
is shown). A concave (diminishing-returns) version was tried: its LP relaxation was loose enough that HiGHS could
not prove a 0.1% gap on England in minutes (docs/targeting.md).

Constraints: each funding line's budget in each ICB (``Σ c x ≤ budget[l, k]``); coach/provider hours across the
scope (``Σ h x ≤ hours``); the per-practice cap over packages (``Σ c x ≤ cap``); one package of an offer per
practice even where two lines fund it; eligibility (targeted lines only for practices with a pressure score;
``requires_impact = ["high"]`` offers only for practices whose need is in the top :data:`HIGH_IMPACT_SHARE` of the
scope); optional **fairness floors**: each ICB spends at least ``floor_share`` of its budget across its lines (the
money is year-bound — underspend is lost — and a floor keeps shared coach time from flowing only to the ICBs with
the most need).

Explanations: a constraint is **binding** when its slack is smaller than the cheapest package it could still admit
(nothing more fits), or, for a floor, when spending sits on it. Each practice gets a reason in words.

Inputs and results are in :mod:`analytics.targeting.plan`, the explanation in :mod:`analytics.targeting.explain`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
from scipy.optimize import LinearConstraint, linprog
from scipy.sparse import coo_matrix, csr_matrix, vstack

from analytics.menu.offers import Offer
from analytics.targeting import optimise_split as split
from analytics.targeting.explain import explain
from analytics.targeting.plan import (
    MONEY_SCALE,
    Candidates,
    FloatArray,
    IntArray,
    Items,
    Plan,
    Settings,
    Solution,
    build_items,
    outside_line,
    spend_by_icb,
)


def _solution(cands: Candidates, items: Items, chosen: IntArray, settings: Settings) -> Solution:
    chosen = np.asarray(chosen, dtype=np.int64)
    packages = (chosen > 0) & items.package
    return Solution(
        chosen=chosen,
        objective=float((items.value * chosen).sum()),
        spend_pence=int((items.cost * chosen)[items.spends].sum()),
        hours=float((items.hours * chosen).sum()),
        practices_funded=int(np.unique(items.practice[packages]).size),
        meets_floors=_meets_floors(cands, items, chosen, settings),
    )


def _meets_floors(cands: Candidates, items: Items, chosen: IntArray, settings: Settings) -> bool:
    if settings.floor_share is None:
        return True
    spend = spend_by_icb(cands, items, chosen)
    return all(spend.get(icb, 0) >= settings.floor_share * b - 0.5 for icb, b in settings.budgets_pence.items())


def greedy(cands: Candidates, items: Items, settings: Settings) -> Solution:
    """The baseline: buy in order of patients protected per pound, each package (or as many places) as still fits
    its line's budget in its ICB, the coach hours and the practice cap (floors are not pursued)."""
    lines = settings.funding_lines()
    budget_left = {(li, k): float(line.budgets_pence.get(k, 0)) for li, line in enumerate(lines) for k in items.icbs}
    hours_left = settings.coach_hours
    spent = np.zeros(len(cands))
    bought: set[tuple[int, int]] = set()
    chosen = np.zeros(items.cost.size, dtype=np.int64)
    ratio = items.value / items.cost
    practice, cost, hours, upper = items.practice.tolist(), items.cost.tolist(), items.hours.tolist(), items.upper
    # plain lists: Items' kind properties build a whole array on each call, too slow once per item
    shared, place, offers = items.shared.tolist(), items.place.tolist(), items.offer.tolist()
    cheapest = float(items.cost[items.spends].min()) if items.spends.any() else math.inf
    key = [(int(li), items.icbs[j]) for li, j in zip(items.line.tolist(), items.icb.tolist(), strict=True)]
    # A shared package is paid from the pool of the lines that fund its offer in its ICB, first line first.
    pool: dict[tuple[int, int], list[int]] = {}
    for t in np.flatnonzero(items.transfer).tolist():
        pool.setdefault((int(items.offer[t]), int(items.icb[t])), []).append(t)
    for seen, i in enumerate(np.argsort(-ratio, kind="stable").tolist()):
        if ratio[i] <= 0:
            break
        if seen % 512 == 0 and _most_left_in_an_icb(budget_left) < cheapest:
            break  # nothing more fits anywhere (a shared package draws only on its own ICB's lines)
        p, c, h = practice[i], float(cost[i]), hours[i]
        if shared[i]:
            payers = pool.get((offers[i], int(items.icb[i])), [])
            offer = offers[i]
            if (
                c <= sum(budget_left[key[t]] for t in payers) + 1e-9
                and h <= hours_left + 1e-9
                and spent[p] + c <= settings.practice_cap_pence
                and (p, offer) not in bought
            ):
                chosen[i] = 1
                bought.add((p, offer))
                owed = int(c)
                for t in payers:
                    part = min(owed, int(budget_left[key[t]]))
                    chosen[t] += part
                    budget_left[key[t]] -= part
                    owed -= part
                hours_left -= h
                spent[p] += c
            continue
        if place[i]:
            n = min(int(upper[i]), int((budget_left[key[i]] + 1e-9) // c))
            if h > 0:
                n = min(n, int((hours_left + 1e-9) // h))
            if n > 0:
                chosen[i] = n
                budget_left[key[i]] -= n * c
                hours_left -= n * h
            continue
        offer = offers[i]
        if (
            c <= budget_left[key[i]] + 1e-9
            and h <= hours_left + 1e-9
            and spent[p] + c <= settings.practice_cap_pence
            and (p, offer) not in bought
        ):
            chosen[i] = 1
            bought.add((p, offer))
            budget_left[key[i]] -= c
            hours_left -= h
            spent[p] += c
    return _solution(cands, items, chosen, settings)


def _most_left_in_an_icb(budget_left: dict[tuple[int, str], float]) -> float:
    per_icb: dict[str, float] = {}
    for (_, icb), left in budget_left.items():
        per_icb[icb] = per_icb.get(icb, 0.0) + left
    return max(per_icb.values(), default=0.0)


def _model(cands: Candidates, items: Items, settings: Settings) -> tuple[FloatArray, LinearConstraint]:
    """Objective (to minimise: minus the patients protected) and constraints over x, one integer per item (0/1 for a
    package, 0..upper places). Money rows are in £1,000s (pence would give HiGHS a coefficient range of 1e8)."""
    m = items.cost.size
    c = -items.value
    cost_k = items.cost.astype(np.float64) / MONEY_SCALE
    blocks: list[csr_matrix] = []
    lo: list[FloatArray] = []
    hi: list[FloatArray] = []

    def add(rows: IntArray, cols: IntArray, vals: FloatArray, nrows: int, low: FloatArray, high: FloatArray) -> None:
        blocks.append(coo_matrix((vals, (rows, cols)), shape=(nrows, m)).tocsr())
        lo.append(low)
        hi.append(high)

    pkg = np.flatnonzero(items.package)
    # Per-practice cap, only where the practice's packages could together exceed it (other rows are redundant).
    used, ip = np.unique(items.practice[pkg], return_inverse=True)
    total_p = np.zeros(used.size)
    np.add.at(total_p, ip, items.cost[pkg].astype(np.float64))
    capped = np.flatnonzero(total_p > settings.practice_cap_pence)
    cap_row = np.full(used.size, -1, dtype=np.int64)
    cap_row[capped] = np.arange(capped.size)
    in_cap = cap_row[ip] >= 0
    add(
        cap_row[ip][in_cap],
        pkg[in_cap],
        cost_k[pkg][in_cap],
        capped.size,
        np.full(capped.size, -np.inf),
        np.full(capped.size, settings.practice_cap_pence / MONEY_SCALE),
    )
    # Each funding line's budget in each ICB: a line's money buys only what it funds (build_items gave it no more).
    lines = settings.funding_lines()
    n_icb = len(items.icbs)
    draws = np.flatnonzero(items.draws_on_line)
    cell = items.line[draws] * n_icb + items.icb[draws]
    cells, row = np.unique(cell, return_inverse=True)
    budgets = np.array(
        [float(lines[int(k) // n_icb].budgets_pence.get(items.icbs[int(k) % n_icb], 0)) for k in cells.tolist()]
    )
    add(row.astype(np.int64), draws, cost_k[draws], cells.size, np.full(cells.size, -np.inf), budgets / MONEY_SCALE)
    # Each shared pool (an offer several targeted lines fund, in one ICB): its packages cost what its lines pay in.
    pooled = np.flatnonzero(items.shared | items.transfer)
    if pooled.size:
        pools, pr = np.unique(items.offer[pooled] * n_icb + items.icb[pooled], return_inverse=True)
        sign = np.where(items.transfer[pooled], -1.0, 1.0)
        add(pr.astype(np.int64), pooled, sign * cost_k[pooled], pools.size, np.zeros(pools.size), np.zeros(pools.size))
    # Fairness floors: each ICB's spend across its lines
    if settings.floor_share is not None:
        totals = np.array([float(settings.budgets_pence[k]) for k in items.icbs])
        floors = np.floor(totals * settings.floor_share)
        spends = np.flatnonzero(items.spends)
        add(items.icb[spends], spends, cost_k[spends], n_icb, floors / MONEY_SCALE, np.full(n_icb, np.inf))
    # Coach hours
    add(
        np.zeros(m, dtype=np.int64), np.arange(m), items.hours, 1, np.array([-np.inf]), np.array([settings.coach_hours])
    )
    return c, LinearConstraint(vstack(blocks).tocsr(), np.concatenate(lo), np.concatenate(hi))


def _integral(items: Items, x: FloatArray) -> IntArray:
    """A solver's values as whole packages, places and pence. Each pool's transfers are rounded down and the pence
    left over go to the lines with the largest fractions, so a pool's lines pay in exactly what its packages cost."""
    out = np.round(x).astype(np.int64)
    t = np.flatnonzero(items.transfer)
    if not t.size:
        return out
    out[t] = np.floor(x[t] + 1e-9).astype(np.int64)
    n_icb = max(1, len(items.icbs))
    pool_of = items.offer * n_icb + items.icb
    shared = np.flatnonzero(items.shared & (out > 0))
    owed: dict[int, int] = {}
    for i in shared.tolist():
        owed[int(pool_of[i])] = owed.get(int(pool_of[i]), 0) + int(items.cost[i])
    by_pool: dict[int, list[int]] = {}
    for i in t.tolist():
        by_pool.setdefault(int(pool_of[i]), []).append(i)
    for key, members in by_pool.items():
        left = owed.get(key, 0) - int(out[members].sum())
        for i in sorted(members, key=lambda i: -(x[i] - math.floor(x[i] + 1e-9))):
            if left <= 0:
                break
            step = min(left, int(items.upper[i]) - int(out[i]))
            out[i] += step
            left -= step
    return out


def _solve(
    cands: Candidates, items: Items, settings: Settings, known: IntArray
) -> tuple[IntArray, float, str, str, bool]:
    """Solve the programme to within ``settings.mip_rel_gap`` of a proven bound (:mod:`.optimise_split`).

    1. The LP relaxation (HiGHS dual simplex): an upper bound, the price of a coach hour and each package's reduced
       cost; "no plan meets every constraint" if it has no solution. With ``known`` (the greedy plan) or the relaxation
       rounded down, whichever is better in an ICB, the reduced costs fix, exactly, the packages no better plan can
       change before each ICB's MILP is solved.
    2. One MILP per ICB with a coach hour priced at the LP's price: their dual bounds make the Lagrangian bound, far
       tighter than the LP's, and their plans together a plan for England (kept to the hours).
    3. The residual MILP over the packages nearest the margin, from that plan, until it is within the gap of the
       bound; if it is still not (or the plan broke a floor), the whole MILP from the best plan so far, within the
       time limit, whose own dual bound is kept if lower.

    Returns (how many of each item, bound on the optimum, status, message, feasible).
    """
    deadline = time.perf_counter() + settings.time_limit_s
    m = items.cost.size
    upper = items.upper.astype(np.float64)
    c, cons = _model(cands, items, settings)
    parts = _lp_constraints(cons)
    lp = linprog(c, bounds=np.column_stack((np.zeros(m), upper)), method="highs", **parts)
    if lp.status == 2:
        return np.zeros(m, dtype=np.int64), float("nan"), "infeasible", str(lp.message), False
    if lp.status != 0:
        return np.zeros(m, dtype=np.int64), float("nan"), "error", str(lp.message), False
    a = csr_matrix(cons.A)
    lo, hi = np.asarray(cons.lb, dtype=np.float64), np.asarray(cons.ub, dtype=np.float64)
    n_up = int(np.asarray(parts["b_ub"]).size) - int(np.isfinite(lo[lo != hi]).sum())
    marg = np.asarray(lp.ineqlin.marginals)
    eq_marg = np.asarray(lp.eqlin.marginals) if np.asarray(parts["b_eq"]).size else np.zeros(0)
    price = split.row_prices(a, lo, hi, marg[:n_up], marg[n_up:], eq_marg)
    hours_row = a.shape[0] - 1  # _model adds the coach-hours row last
    hours_cap, mu = float(hi[hours_row]), max(0.0, float(price[hours_row]))
    bound = -float(lp.fun)
    prices = split.Prices(price, (known.astype(np.float64), split.rounded_down(items, np.asarray(lp.x))))
    x, lagrangian, infeasible = split.by_icb(
        items,
        a,
        lo,
        hi,
        hours_row,
        mu,
        deadline,
        settings.mip_rel_gap,
        prices,
    )
    if infeasible:
        return np.zeros(m, dtype=np.int64), float("nan"), "infeasible", "An ICB's MILP has no solution", False
    bound = min(bound, lagrangian)
    how = (
        "LP relaxation, then the MILP (HiGHS) with the packages its reduced costs rule out fixed"
        if len(items.icbs) == 1
        else "Lagrangian bound by ICB (coach hours priced by the LP relaxation), each ICB's MILP"
    )
    plans = [x]
    over = float(items.hours @ x) - hours_cap
    if over > 1e-6 and mu > 0 and len(items.icbs) > 1:
        # The ICBs' plans overrun the hours together: price an hour higher (in proportion to the overrun) for a
        # second set of plans and a second bound, and choose in each ICB between them.
        x_dear, dear, _ = split.by_icb(
            items, a, lo, hi, hours_row, mu * (1 + 2 * over / hours_cap), deadline, settings.mip_rel_gap, prices
        )
        bound = min(bound, dear)
        plans.append(x_dear)
        how += ", again with hours dearer (the first plans overran them), the better of the two in each ICB"
    plans.append(split.fit_hours(items, plans[-1], hours_cap))
    start = split.combine(items, plans, hours_cap, deadline)
    best, value = _best_feasible(items, a, lo, hi, start)
    # Aim inside the target (0.7 of it): the residual is cheap, and a plan just under 0.1% would leave no margin.
    target = bound * (1 - 0.7 * settings.mip_rel_gap)
    if not _within(value, bound, settings, 0.7):
        reduced = items.value - a.T @ price
        res = split.residual(items, a, lo, hi, start, reduced, target, deadline)
        if res.x is not None and res.value > value:
            best, value = _integral(items, res.x), float(items.value @ _integral(items, res.x))
        how += ", then the residual MILP at the margin"
    if not _within(value, bound, settings) and time.perf_counter() < deadline:
        full = split.highs(
            items.value,
            a,
            lo,
            hi,
            np.zeros(m),
            upper,
            ~items.transfer,
            time_limit=deadline - time.perf_counter(),
            rel_gap=settings.mip_rel_gap,
            start=best.astype(np.float64) if value > -math.inf else None,
            target=target,
        )
        if full.infeasible:
            return np.zeros(m, dtype=np.int64), float("nan"), "infeasible", full.status, False
        if full.x is not None and full.value > value:
            best, value = _integral(items, full.x), float(items.value @ _integral(items, full.x))
        bound = min(bound, full.bound)
        how += ", then the whole MILP from the best plan"
    if value == -math.inf:
        return np.zeros(m, dtype=np.int64), float("nan"), "infeasible", "No plan found within the time limit", False
    status = "optimal" if _within(value, bound, settings) else "time limit reached"
    return best, max(bound, value), status, how, True


def _within(value: float, bound: float, settings: Settings, share: float = 1.0) -> bool:
    return value > -math.inf and bound - value <= share * settings.mip_rel_gap * max(abs(bound), 1e-12)


def _best_feasible(
    items: Items, a: csr_matrix, lo: FloatArray, hi: FloatArray, x: FloatArray
) -> tuple[IntArray, float]:
    """The plan as whole packages and pence, and its patients protected, if it meets every row (-inf if not: a
    floor the ICBs' plans missed once hours were taken away)."""
    whole = _integral(items, x)
    row = a @ whole.astype(np.float64)
    scale = 1e-6 * np.maximum(1.0, np.abs(row))
    ok = bool(np.all(row <= hi + scale) and np.all(row >= lo - scale))
    return whole, float(items.value @ whole) if ok else -math.inf


def _lp_constraints(cons: LinearConstraint) -> dict[str, object]:
    """A LinearConstraint (lb ≤ A x ≤ ub) as linprog's A_ub/b_ub and A_eq/b_eq."""
    a = csr_matrix(cons.A)
    lb, ub = np.asarray(cons.lb, dtype=np.float64), np.asarray(cons.ub, dtype=np.float64)
    eq = lb == ub
    up = ~eq & np.isfinite(ub)
    low = ~eq & np.isfinite(lb)
    a_ub = vstack([a[np.flatnonzero(up)], -a[np.flatnonzero(low)]]).tocsr()
    b_ub = np.concatenate((ub[up], -lb[low]))
    return {"A_ub": a_ub, "b_ub": b_ub, "A_eq": a[np.flatnonzero(eq)], "b_eq": ub[eq]}


def optimise(cands: Candidates, offers: Sequence[Offer], settings: Settings) -> Plan:
    """Solve the programme and the greedy baseline; explain the result."""
    items = build_items(cands, offers, settings)
    t = time.perf_counter()
    base = greedy(cands, items, settings)
    t_greedy = time.perf_counter() - t
    t = time.perf_counter()
    if items.cost.size == 0:
        chosen = np.zeros(0, dtype=np.int64)
        status, message, bound, feasible = "optimal", "No package is eligible within the per-practice cap.", 0.0, True
        feasible = settings.floor_share is None or all(b == 0 for b in settings.budgets_pence.values())
    else:
        chosen, bound, status, message, feasible = _solve(cands, items, settings, base.chosen)
    t_solve = time.perf_counter() - t
    if not feasible:
        return Plan(
            status=status,
            feasible=False,
            message=(
                "No plan meets every constraint: the fairness floors cannot be reached within the per-practice caps "
                "and coach hours. Lower the floor, raise the cap or add hours."
                if settings.floor_share is not None
                else message
            ),
            objective=0.0,
            bound=float("nan"),
            gap=float("nan"),
            solve_seconds=t_solve,
            greedy_seconds=t_greedy,
            spend_pence=0,
            hours=0.0,
            practices_funded=0,
            source="none",
            greedy=base,
            binding=(),
            practices=(),
            icbs=(),
            items=int(items.cost.size),
        )
    sol = _solution(cands, items, chosen, settings)
    source = "MILP (HiGHS)"
    if base.meets_floors and base.objective > sol.objective:
        # Within the gap the solver may stop on an incumbent a shade below the greedy plan: keep the better plan.
        sol, source = base, "greedy plan (within the MILP's optimality gap)"
    if not math.isfinite(bound) or bound < sol.objective:
        bound = max(sol.objective, bound if math.isfinite(bound) else sol.objective)
    gap = (bound - sol.objective) / max(abs(bound), 1e-12) if bound > 0 else 0.0
    ex = explain(cands, items, sol.chosen, base.chosen, settings, offers)
    return Plan(
        status=status,
        feasible=True,
        message=message,
        objective=sol.objective,
        bound=bound,
        gap=max(0.0, gap),
        solve_seconds=t_solve,
        greedy_seconds=t_greedy,
        spend_pence=sol.spend_pence,
        hours=sol.hours,
        practices_funded=sol.practices_funded,
        source=source,
        greedy=base,
        binding=ex.binding,
        practices=ex.practices,
        icbs=ex.icbs,
        items=int(items.cost.size),
        offers=tuple((o.code, o.title) for o in offers),
        lines=ex.lines,
        places=ex.places,
        outside_line=outside_line(items, sol.chosen, offers, settings.funding_lines()),
    )
