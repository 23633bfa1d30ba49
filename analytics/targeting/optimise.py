"""Allocation optimiser: which support packages, for which practices, to do the most good with this year's money
and coach time. A mixed-integer programme solved with HiGHS (:func:`scipy.optimize.milp`), a greedy baseline in the
same run, and an explanation of both the binding constraints and each practice's result.

Decision: ``x[p, o] = 1`` buys practice *p* the **standard package** of offer *o* (``standard_units`` units, from
``analytics/menu/offers.toml``). Costs, coach hours and effects are read from the menu, never re-typed:

* cost ``c[p, o]`` in pence: ``unit_cost_pence × standard_units`` for fixed offers; ``unit_cost_pence × list size``
  (``patients``) or ``× weighted list`` (``weighted_patients``) for per-patient offers;
* coach hours ``h[o] = coach_hours_per_unit × standard_units``;
* effect ``e[o]``: the menu's ``effect``, an assumed relative reduction of the practice's pressure-driven risk
  after a standard package.

Objective: maximise ``Σ need[p] × e[o] × x[p, o]`` — the need-weighted expected benefit. ``need`` comes from the
pressure index and the ripple score (:func:`need_scores`). Effects **add up** within a practice, as a linear
programme needs; the menu's effects are small (2–18%) and the per-practice cap bounds what one practice can get, so
additive and multiplicative combination differ little over a funded package (each practice's combined reduction
``1 − Π(1 − e)`` is shown beside the additive benefit). A concave (diminishing-returns) version was tried: its LP
relaxation was loose enough that HiGHS could not prove a 0.1% gap on England in minutes (docs/targeting.md).

Constraints: each ICB's budget (``Σ c x ≤ budget``); coach/provider hours across the scope (``Σ h x ≤ hours``);
the per-practice cap (``Σ_o c[p, o] x[p, o] ≤ cap``); eligibility (``requires_impact = ["high"]`` offers only for
practices whose need is in the top :data:`HIGH_IMPACT_SHARE` of the scope); optional **fairness floors**: each ICB
spends at least ``floor_share`` of its budget (the money is year-bound — underspend is lost — and a floor keeps
shared coach time from flowing only to the ICBs with the most need).

Explanations: a constraint is **binding** when its slack is smaller than the cheapest package it could still admit
(nothing more fits), or, for a floor, when spending sits on it. Each practice gets a reason in words.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import coo_matrix, csr_matrix, vstack

from analytics.menu import Offer

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

HIGH_IMPACT_SHARE = 0.10
MONEY_SCALE = 100_000.0  # pence per £1,000
RIPPLE_WEIGHT = 0.5


def need_scores(composite: FloatArray, ripple_score: FloatArray, ripple_weight: float = RIPPLE_WEIGHT) -> FloatArray:
    """need = composite/100 × (1 + ripple_weight × ripple percentile).

    The ripple percentile is the rank of the practice's ripple score among practices with a ripple above 0 (0..1;
    0 for no ripple). A practice without a pressure score has need 0: the programme cannot rank it.
    """
    c = np.nan_to_num(np.asarray(composite, dtype=np.float64), nan=0.0) / 100.0
    r = np.nan_to_num(np.asarray(ripple_score, dtype=np.float64), nan=0.0)
    pct = np.zeros_like(r)
    pos = r > 0
    if pos.any():
        order = np.argsort(np.argsort(r[pos], kind="stable"), kind="stable")
        pct[pos] = (order + 1) / pos.sum()
    return np.asarray(np.clip(c, 0.0, 1.0) * (1.0 + ripple_weight * pct), dtype=np.float64)


@dataclass(frozen=True)
class Candidates:
    """The practices the money may go to."""

    code: tuple[str, ...]
    name: tuple[str, ...]
    icb_code: tuple[str, ...]
    need: FloatArray
    list_size: FloatArray
    weighted_list: FloatArray
    pressure: FloatArray
    ripple_neighbours: IntArray

    def __len__(self) -> int:
        return len(self.code)


@dataclass(frozen=True)
class Settings:
    """One optimiser run's inputs. Money in pence."""

    budgets_pence: Mapping[str, int]
    coach_hours: float
    practice_cap_pence: int
    floor_share: float | None = None
    mip_rel_gap: float = 0.001
    time_limit_s: float = 120.0

    def problems(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if not self.budgets_pence or any(b < 0 for b in self.budgets_pence.values()):
            out["budget"] = "Enter a budget of £0 or more"
        if not math.isfinite(self.coach_hours) or self.coach_hours < 0:
            out["coach_hours"] = "Enter coach hours of 0 or more"
        if self.practice_cap_pence <= 0:
            out["practice_cap"] = "Enter a per-practice cap above £0"
        if self.floor_share is not None and not 0 < self.floor_share <= 1:
            out["floor_share"] = "Enter a floor between 1% and 100% of each ICB's budget"
        return out


@dataclass(frozen=True)
class Items:
    """Every (practice, offer) standard package that may be bought."""

    practice: IntArray
    offer: IntArray
    cost: IntArray
    hours: FloatArray
    effect: FloatArray


def build_items(cands: Candidates, offers: Sequence[Offer], settings: Settings) -> Items:
    """Eligible packages, priced. Practices outside the budgets' ICBs, with no list, or packages above the
    per-practice cap on their own are left out."""
    n = len(cands)
    in_scope = np.array([c in settings.budgets_pence for c in cands.icb_code], dtype=bool)
    need = cands.need
    scoped_need = need[in_scope & (need > 0)]
    cutoff = float(np.quantile(scoped_need, 1.0 - HIGH_IMPACT_SHARE)) if scoped_need.size else math.inf
    high = need >= cutoff
    ps, os_, cs, hs, ss = [], [], [], [], []
    listed = np.nan_to_num(cands.list_size) > 0
    for k, o in enumerate(offers):
        if o.unit_basis == "patients":
            cost = np.round(np.nan_to_num(cands.list_size)).astype(np.int64) * o.unit_cost_pence * o.standard_units
        elif o.unit_basis == "weighted_patients":
            cost = np.round(np.nan_to_num(cands.weighted_list)).astype(np.int64) * o.unit_cost_pence * o.standard_units
        else:
            cost = np.full(n, o.unit_cost_pence * o.standard_units, dtype=np.int64)
        ok = in_scope & listed & (need > 0) & (cost > 0) & (cost <= settings.practice_cap_pence)
        if "high" in o.requires_impact and not ({"low", "medium"} & set(o.requires_impact)):
            ok &= high
        idx = np.flatnonzero(ok)
        ps.append(idx)
        os_.append(np.full(idx.size, k, dtype=np.int64))
        cs.append(cost[idx])
        hs.append(np.full(idx.size, o.coach_hours_per_unit * o.standard_units))
        ss.append(np.full(idx.size, o.effect))
    return Items(
        practice=np.concatenate(ps).astype(np.int64),
        offer=np.concatenate(os_).astype(np.int64),
        cost=np.concatenate(cs).astype(np.int64),
        hours=np.concatenate(hs).astype(np.float64),
        effect=np.concatenate(ss).astype(np.float64),
    )


@dataclass(frozen=True)
class PracticeResult:
    code: str
    name: str
    icb_code: str
    need: float
    pressure: float | None
    ripple_neighbours: int
    offers: tuple[str, ...]
    cost_pence: int
    hours: float
    risk_reduction: float
    benefit: float
    reason: str


@dataclass(frozen=True)
class IcbResult:
    icb_code: str
    budget_pence: int
    spend_pence: int
    floor_pence: int | None
    hours: float
    practices: int
    funded: int
    benefit: float
    budget_binding: bool
    floor_binding: bool
    greedy_spend_pence: int
    greedy_benefit: float


@dataclass(frozen=True)
class Solution:
    """One plan: chosen items (positions in :class:`Items`) and its totals."""

    chosen: npt.NDArray[np.bool_]
    objective: float
    spend_pence: int
    hours: float
    practices_funded: int
    meets_floors: bool


@dataclass(frozen=True)
class Plan:
    status: str
    feasible: bool
    message: str
    objective: float
    bound: float
    gap: float
    solve_seconds: float
    greedy_seconds: float
    spend_pence: int
    hours: float
    practices_funded: int
    source: str
    greedy: Solution | None
    binding: tuple[str, ...]
    practices: tuple[PracticeResult, ...]
    icbs: tuple[IcbResult, ...]
    items: int
    offers: tuple[tuple[str, str], ...] = field(default=())

    @property
    def gain_over_greedy(self) -> float:
        if self.greedy is None or self.greedy.objective <= 0:
            return float("nan")
        return self.objective / self.greedy.objective - 1.0


def _practice_benefit(cands: Candidates, items: Items, chosen: npt.NDArray[np.bool_]) -> tuple[FloatArray, FloatArray]:
    """(combined risk reduction 1 − Π(1 − e), benefit need × Σ e) per practice."""
    log_keep = np.zeros(len(cands))
    np.add.at(log_keep, items.practice[chosen], np.log1p(-items.effect[chosen]))
    total = np.zeros(len(cands))
    np.add.at(total, items.practice[chosen], items.effect[chosen])
    return 1.0 - np.exp(log_keep), cands.need * total


def _solution(cands: Candidates, items: Items, chosen: npt.NDArray[np.bool_], settings: Settings) -> Solution:
    _, benefit = _practice_benefit(cands, items, chosen)
    return Solution(
        chosen=chosen,
        objective=float(benefit.sum()),
        spend_pence=int(items.cost[chosen].sum()),
        hours=float(items.hours[chosen].sum()),
        practices_funded=int(np.unique(items.practice[chosen]).size),
        meets_floors=_meets_floors(cands, items, chosen, settings),
    )


def _icb_spend(cands: Candidates, items: Items, chosen: npt.NDArray[np.bool_]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p, c in zip(items.practice[chosen].tolist(), items.cost[chosen].tolist(), strict=True):
        out[cands.icb_code[p]] = out.get(cands.icb_code[p], 0) + int(c)
    return out


def _meets_floors(cands: Candidates, items: Items, chosen: npt.NDArray[np.bool_], settings: Settings) -> bool:
    if settings.floor_share is None:
        return True
    spend = _icb_spend(cands, items, chosen)
    return all(spend.get(icb, 0) >= settings.floor_share * b - 0.5 for icb, b in settings.budgets_pence.items())


def greedy(cands: Candidates, items: Items, settings: Settings) -> Solution:
    """The baseline: buy packages in order of benefit per pound, each one that still fits its ICB budget, the coach
    hours and the practice cap (floors are not pursued)."""
    budget_left = {k: float(v) for k, v in settings.budgets_pence.items()}
    hours_left = settings.coach_hours
    spent = np.zeros(len(cands))
    chosen = np.zeros(items.cost.size, dtype=bool)
    ratio = cands.need[items.practice] * items.effect / items.cost
    practice, cost, hours = items.practice.tolist(), items.cost.tolist(), items.hours.tolist()
    icb = [cands.icb_code[p] for p in practice]
    for i in np.argsort(-ratio, kind="stable").tolist():
        if ratio[i] <= 0:
            break
        p, c, h = practice[i], float(cost[i]), hours[i]
        if c <= budget_left[icb[i]] + 1e-9 and h <= hours_left + 1e-9 and spent[p] + c <= settings.practice_cap_pence:
            chosen[i] = True
            budget_left[icb[i]] -= c
            hours_left -= h
            spent[p] += c
    return _solution(cands, items, chosen, settings)


def _model(cands: Candidates, items: Items, settings: Settings) -> tuple[FloatArray, LinearConstraint]:
    """Objective (to minimise: minus the benefit) and constraints over x, one binary per item. Money rows are in
    £1,000s (pence would give HiGHS a coefficient range of 1e8)."""
    m = items.cost.size
    c = -(cands.need[items.practice] * items.effect)
    cost_k = items.cost.astype(np.float64) / MONEY_SCALE
    blocks: list[csr_matrix] = []
    lo: list[FloatArray] = []
    hi: list[FloatArray] = []

    def add(rows: IntArray, cols: IntArray, vals: FloatArray, nrows: int, low: FloatArray, high: FloatArray) -> None:
        blocks.append(coo_matrix((vals, (rows, cols)), shape=(nrows, m)).tocsr())
        lo.append(low)
        hi.append(high)

    # Per-practice cap, only where the practice's packages could together exceed it (other rows are redundant).
    used, ip = np.unique(items.practice, return_inverse=True)
    total_p = np.zeros(used.size)
    np.add.at(total_p, ip, items.cost.astype(np.float64))
    capped = np.flatnonzero(total_p > settings.practice_cap_pence)
    cap_row = np.full(used.size, -1, dtype=np.int64)
    cap_row[capped] = np.arange(capped.size)
    in_cap = cap_row[ip] >= 0
    add(
        cap_row[ip][in_cap],
        np.flatnonzero(in_cap),
        cost_k[in_cap],
        capped.size,
        np.full(capped.size, -np.inf),
        np.full(capped.size, settings.practice_cap_pence / MONEY_SCALE),
    )
    # ICB budgets (and floors)
    icbs = sorted(settings.budgets_pence)
    icb_row = {k: r for r, k in enumerate(icbs)}
    rows = np.array([icb_row[cands.icb_code[p]] for p in items.practice.tolist()], dtype=np.int64)
    budgets = np.array([float(settings.budgets_pence[k]) for k in icbs])
    floors = (
        np.floor(budgets * settings.floor_share) if settings.floor_share is not None else np.full(len(icbs), -np.inf)
    )
    add(rows, np.arange(m), cost_k, len(icbs), floors / MONEY_SCALE, budgets / MONEY_SCALE)
    # Coach hours
    add(
        np.zeros(m, dtype=np.int64), np.arange(m), items.hours, 1, np.array([-np.inf]), np.array([settings.coach_hours])
    )
    return c, LinearConstraint(vstack(blocks).tocsr(), np.concatenate(lo), np.concatenate(hi))


def _solve(cands: Candidates, items: Items, settings: Settings) -> tuple[npt.NDArray[np.bool_], float, str, str, bool]:
    """Solve the programme: LP relaxation, then the MILP over what the relaxation leaves undecided.

    1. The LP relaxation (HiGHS dual simplex) bounds the benefit of every plan and decides almost every package:
       a basic solution has at most as many fractional packages as there are binding linking rows (ICB budgets,
       hours, the caps of capped practices).
    2. The MILP (HiGHS) with the packages the relaxation bought fixed, over the fractional ones and those it left
       out that still fit in what is left of a budget, the hours and the practice's cap — a small problem.
    3. The gap is measured against the relaxation's bound, so a gap under the target proves the plan within it. If
       it is not under the target, the full MILP is solved (within the time limit) and the better plan kept.

    Returns (chosen, bound on the optimum, status, message, feasible).
    """
    m = items.cost.size
    c, cons = _model(cands, items, settings)
    lp = linprog(c, bounds=(0.0, 1.0), method="highs", **_lp_constraints(cons))
    if lp.status == 2:
        return np.zeros(m, dtype=bool), float("nan"), "infeasible", str(lp.message), False
    if lp.status != 0:
        return np.zeros(m, dtype=bool), float("nan"), "error", str(lp.message), False
    bound = -float(lp.fun)
    x = np.asarray(lp.x)
    ones, zeros = x >= 1 - 1e-7, x <= 1e-7
    a = csr_matrix(cons.A)
    used_by_fixed = a[:, np.flatnonzero(ones)] @ np.ones(int(ones.sum()))
    lb, ub = np.asarray(cons.lb) - used_by_fixed, np.asarray(cons.ub) - used_by_fixed
    # Undecided: the fractional packages, and every package the relaxation left out that would still fit in what
    # the decided ones leave of each budget, the hours and its practice's cap (so leftovers can be filled).
    coo = a.tocoo()
    too_big = np.unique(coo.col[coo.data > ub[coo.row] + 1e-9])
    fits = np.ones(m, dtype=bool)
    fits[too_big] = False
    free = np.flatnonzero(~(ones | zeros) | (zeros & fits))
    best = ones.copy()
    value = -float(c[ones].sum())
    if free.size:
        res = milp(
            c[free],
            constraints=[LinearConstraint(a[:, free], lb, ub)],
            integrality=np.ones(free.size),
            bounds=Bounds(0.0, 1.0),
            options={"mip_rel_gap": settings.mip_rel_gap / 10, "time_limit": settings.time_limit_s},
        )
        if res.x is not None:
            best[free] = res.x > 0.5
            value = -float(c[best].sum())
        else:
            best, value = np.zeros(m, dtype=bool), -math.inf
    if value > -math.inf and (bound - value) <= settings.mip_rel_gap * max(abs(bound), 1e-12):
        return best, bound, "optimal", "LP relaxation, then the MILP over the packages it left undecided", True
    full = milp(
        c,
        constraints=[cons],
        integrality=np.ones(m),
        bounds=Bounds(0.0, 1.0),
        options={"mip_rel_gap": settings.mip_rel_gap, "time_limit": settings.time_limit_s},
    )
    if full.x is not None and -float(full.fun) > value:
        best, value = full.x > 0.5, -float(full.fun)
        bound = min(bound, -float(getattr(full, "mip_dual_bound", -bound)))
    if value == -math.inf:
        return np.zeros(m, dtype=bool), float("nan"), "infeasible", str(full.message), False
    return best, bound, "optimal" if full.status == 0 else "time limit reached", str(full.message), True


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
        chosen = np.zeros(0, dtype=bool)
        status, message, bound, feasible = "optimal", "No package is eligible within the per-practice cap.", 0.0, True
        feasible = settings.floor_share is None or all(b == 0 for b in settings.budgets_pence.values())
    else:
        chosen, bound, status, message, feasible = _solve(cands, items, settings)
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
    binding, icb_rows, practice_rows = explain(cands, items, sol.chosen, base.chosen, settings, offers)
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
        binding=binding,
        practices=practice_rows,
        icbs=icb_rows,
        items=int(items.cost.size),
        offers=tuple((o.code, o.title) for o in offers),
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
    s, benefit = _practice_benefit(cands, items, chosen)
    _, g_benefit = _practice_benefit(cands, items, greedy_chosen)
    spent = np.zeros(len(cands))
    np.add.at(spent, items.practice[chosen], items.cost[chosen])
    hours_used = float(items.hours[chosen].sum())
    hours_left = settings.coach_hours - hours_used
    icb_spend = _icb_spend(cands, items, chosen)
    g_spend = _icb_spend(cands, items, greedy_chosen)
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
