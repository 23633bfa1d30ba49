"""The allocation MILP solved ICB by ICB: a Lagrangian bound tighter than the LP relaxation, and a plan within 0.1%
of it (docs/targeting.md §5).

Every row of the programme but one lives inside one ICB: each line's budget there, each shared pool there, each
practice's cap (a practice is in one ICB), each fairness floor. The one row that joins the ICBs is the coach-hours
pool. Price an hour at ``mu`` patients protected and drop that row: what is left falls apart into one MILP per ICB,
and for every plan that keeps to the hours

    Σ value·x  ≤  Σ value·x + mu·(H − Σ hours·x)  =  mu·H + Σ_k (value − mu·hours)·x_k  ≤  mu·H + Σ_k best_k(mu)

so ``L(mu) = mu·H + Σ_k best_k(mu)`` is an upper bound on every plan (weak Lagrangian duality). With ``mu`` the LP
relaxation's price of an hour, ``L(mu)`` is never above the LP bound and usually well below it: each ICB's best plan
buys whole packages, which is where the LP relaxation's slack was (a fractional package in every budget of every
ICB). ``best_k`` enters ``L`` as HiGHS' *dual bound* of ICB k's MILP, not its plan, so ``L`` stays a true bound even
if a subproblem stops before it is solved to the end. Each ICB's MILP also keeps an hours row of its own (at most the
whole pool), which every plan meets, so it tightens ``L`` and does no harm.

The ICBs' plans together are a plan for England when they keep to the hours between them. If they overrun them, the
caller prices an hour higher for a second set of plans, and :func:`combine` picks in each ICB the plan of either set
(or one trimmed to the hours by :func:`fit_hours`) that does most within the hours. That plan is within a few hundred
to a few thousand patients of ``L``; :func:`residual` then re-decides, with the hours row back and HiGHS starting from
it, only the packages nearest the margin (smallest reduced cost in the LP relaxation) and stops as soon as the plan
is within the target of ``L``. Each ICB's MILP is first shrunk by exact reduced-cost fixing
(:func:`_fix_by_reduced_cost`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt
from scipy.sparse import csc_matrix, csr_matrix, vstack

from analytics.targeting.plan import FloatArray, Items

# Packages the residual MILP may re-decide: the ones with the smallest reduced cost in the LP relaxation (the margin).
# Measured on England (57,620 decisions): 600 reach a plan within 0.1% of the bound in a few seconds; 2,000 leave
# HiGHS too much to search and it is slower to reach the same plan.
RESIDUAL_PACKAGES = 600


@dataclass(frozen=True)
class Solved:
    """What HiGHS returned for a maximisation: the values (``None`` if it found no plan), their objective, its dual
    bound (a true upper bound on the problem it was given) and its model status in words."""

    x: FloatArray | None
    value: float
    bound: float
    status: str
    infeasible: bool


def highs(
    value: FloatArray,
    a: csr_matrix,
    row_lo: FloatArray,
    row_hi: FloatArray,
    col_lo: FloatArray,
    col_hi: FloatArray,
    integer: npt.NDArray[np.bool_],
    *,
    time_limit: float,
    rel_gap: float,
    start: FloatArray | None = None,
    target: float | None = None,
) -> Solved:
    """Maximise ``value·x`` subject to ``row_lo ≤ a x ≤ row_hi`` and ``col_lo ≤ x ≤ col_hi`` with HiGHS; ``start``
    is a plan it starts from, ``target`` an objective at which it may stop."""
    h = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy 1.15 leaves its constructor unannotated
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)  # the machine is shared; HiGHS' MIP is single-threaded in any case
    h.setOptionValue("mip_rel_gap", rel_gap)
    h.setOptionValue("time_limit", max(0.5, time_limit))
    if target is not None:
        h.setOptionValue("objective_target", target)
    lp = highspy.HighsLp()
    cols = csc_matrix(a)
    inf = highspy.kHighsInf
    lp.num_col_, lp.num_row_ = cols.shape[1], cols.shape[0]
    lp.col_cost_ = value
    lp.col_lower_, lp.col_upper_ = col_lo, col_hi
    lp.row_lower_ = np.where(np.isfinite(row_lo), row_lo, -inf)
    lp.row_upper_ = np.where(np.isfinite(row_hi), row_hi, inf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = cols.shape[1], cols.shape[0]
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = cols.indptr, cols.indices, cols.data
    lp.sense_ = highspy.ObjSense.kMaximize
    kinds = (highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger)
    lp.integrality_ = [kinds[int(i)] for i in integer.tolist()]
    h.passModel(lp)
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = start.tolist()
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    infeasible = status == highspy.HighsModelStatus.kInfeasible
    found = int(info.primal_solution_status) == 2  # kSolutionStatusFeasible
    x = np.asarray(h.getSolution().col_value, dtype=np.float64) if found else None
    value_found = float(info.objective_function_value) if found else -math.inf
    bound = float(info.mip_dual_bound)
    if not math.isfinite(bound):
        # no bound reported: exact only if HiGHS solved it outright (in presolve), else unknown
        bound = value_found if status == highspy.HighsModelStatus.kOptimal else math.inf
    return Solved(x, value_found, max(bound, value_found), h.modelStatusToString(status), infeasible)


def row_prices(
    a: csr_matrix, lo: FloatArray, hi: FloatArray, up: FloatArray, low: FloatArray, eq: FloatArray
) -> FloatArray:
    """Each row's price in the LP relaxation (patients protected per unit of the row), from linprog's marginals of its
    "at most" rows (``up``), "at least" rows (``low``, written negated) and equalities (``eq``), in that order."""
    price = np.zeros(a.shape[0])
    is_eq = lo == hi
    price[np.flatnonzero(~is_eq & np.isfinite(hi))] = -up
    price[np.flatnonzero(~is_eq & np.isfinite(lo))] += low
    price[np.flatnonzero(is_eq)] = -eq
    return price


def icb_blocks(
    items: Items, a: csr_matrix, hours_row: int
) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
    """Columns and rows of each ICB's MILP: every row but the hours row must lie within one ICB (else one block)."""
    rest = np.delete(np.arange(a.shape[0]), hours_row)
    coo = a[rest].tocoo()
    first = np.full(rest.size, -1, dtype=np.int64)
    first[coo.row[::-1]] = items.icb[coo.col[::-1]]
    if np.any(items.icb[coo.col] != first[coo.row]):
        return [(np.arange(a.shape[1], dtype=np.int64), rest.astype(np.int64))]
    return [
        (np.flatnonzero(items.icb == k).astype(np.int64), rest[first == k].astype(np.int64))
        for k in np.unique(items.icb).tolist()
    ]


@dataclass(frozen=True)
class Prices:
    """What the LP relaxation says, for fixing packages by reduced cost in each ICB's MILP: each row's price and
    plans known to meet every row of an ICB (the greedy plan, the relaxation rounded down), the better one used in
    each ICB. Not used for an ICB with a floor (a plan that leaves packages out may miss it)."""

    rows: FloatArray
    incumbents: tuple[FloatArray, ...]


def by_icb(
    items: Items, a: csr_matrix, lo: FloatArray, hi: FloatArray, hours_row: int, mu: float, deadline: float,
    rel_gap: float, prices: Prices | None = None,
) -> tuple[FloatArray, float, bool]:  # fmt: skip
    """Each ICB's MILP with an hour priced at ``mu``: (the ICBs' plans together, the bound L(mu), infeasible).
    ``rel_gap`` is the target for the whole plan: each ICB's MILP is solved to a fifth of it, as their gaps add up."""
    hours_cap = float(hi[hours_row])
    blocks = icb_blocks(items, a, hours_row)
    if len(blocks) == 1:
        # Nothing to split (an ICB's scenario): the one MILP with the hours row is the programme itself, and its gap
        # is the plan's (a little inside the target: whole pence for the transfers can move the objective a shade).
        mu, rel_gap = 0.0, rel_gap * 0.9
    else:
        rel_gap /= 5
    x = np.zeros(a.shape[1])
    bound = mu * hours_cap
    for block, rows in blocks:
        cols = block
        red = items.value[cols] - mu * items.hours[cols]
        has_floor = bool(np.any(np.isfinite(lo[rows]) & (lo[rows] != hi[rows])))
        col_lo, col_hi = np.zeros(cols.size), items.upper[cols].astype(np.float64)
        known, plan = -math.inf, np.zeros(cols.size)
        if prices is not None and prices.incumbents and not has_floor:
            plan = max((known_plan[cols] for known_plan in prices.incumbents), key=lambda p: float(red @ p))
            known = float(red @ plan)
            hour_price = max(0.0, float(prices.rows[hours_row]) - mu)
            col_lo, col_hi = _fix_by_reduced_cost(
                items, a[rows][:, cols], lo[rows], hi[rows], prices.rows[rows], hour_price, hours_cap, cols, red, known
            )
        if not has_floor:
            # A package worth less than its hours cannot help: leaving it out keeps every "at most" row, and a pool's
            # transfers shrink with its packages. (A floor could need it, so not then.) Nor can one fixed at 0.
            keep = ((red > 0) | items.transfer[cols]) & (col_hi > 0)
            cols, red, col_lo, col_hi = cols[keep], red[keep], col_lo[keep], col_hi[keep]
        res = (
            highs(
                red,
                vstack([a[rows][:, cols], csr_matrix(items.hours[cols][None, :])]).tocsr(),
                np.append(lo[rows], -np.inf),
                np.append(hi[rows], hours_cap),
                col_lo,
                col_hi,
                ~items.transfer[cols],
                time_limit=deadline - time.perf_counter(),
                rel_gap=rel_gap,
            )
            if cols.size
            else Solved(np.zeros(0), 0.0, 0.0, "nothing to decide", False)
        )
        if res.infeasible and known == -math.inf:
            return x, math.nan, True
        if res.x is not None and res.value >= known:
            x[cols] = res.x
        else:
            x[block] = plan  # nothing better than the known plan is left: it is this ICB's best
        # the restricted MILP's bound covers every plan better than the known one; the known one covers the rest
        bound += max(known, -math.inf if res.infeasible else res.bound)
    return x, bound, False


def _fix_by_reduced_cost(
    items: Items, a: csr_matrix, lo: FloatArray, hi: FloatArray, price: FloatArray, hour_price: float,
    hours_cap: float, cols: npt.NDArray[np.int64], red: FloatArray, known: float,
) -> tuple[FloatArray, FloatArray]:  # fmt: skip
    """Column bounds for one ICB's MILP with every package fixed that no plan better than ``known`` can change.

    For any prices of the right sign (at least 0 on an "at most" row, at most 0 on an "at least" row), each plan x
    of the ICB has ``red·x ≤ U − Σ_{d>0} d (u − x) − Σ_{d<0} |d| x`` with d = red − prices·A the reduced costs and
    ``U = prices·rhs + Σ_{d>0} d u``. So a plan worth more than ``known`` leaves out no item with d > U − known and
    takes none with −d > U − known (places: at most (U − known)/|d| fewer or more). Exact, not a heuristic."""
    y = np.asarray(price, dtype=np.float64).copy()
    at_most, at_least = np.isinf(lo), np.isinf(hi)
    y[at_most] = np.maximum(y[at_most], 0.0)
    y[at_least] = np.minimum(y[at_least], 0.0)
    rhs = np.where(y >= 0, hi, lo)
    rhs = np.where(np.isfinite(rhs), rhs, 0.0)
    d = red - a.T @ y - hour_price * items.hours[cols]
    upper = items.upper[cols].astype(np.float64)
    whole = ~items.transfer[cols]
    ceiling = float(y @ rhs) + hour_price * hours_cap + float(np.where(d > 0, d, 0.0) @ upper)
    slack = max(0.0, ceiling - known) + 1e-7 * max(1.0, abs(ceiling))  # never below 0 (LP tolerances)
    col_lo, col_hi = np.zeros(cols.size), upper.copy()
    with np.errstate(divide="ignore", over="ignore"):
        reach = np.floor(slack / np.abs(d))
    neg, pos = whole & (d < 0), whole & (d > 0)
    col_hi[neg] = np.minimum(upper[neg], reach[neg])
    col_lo[pos] = np.maximum(0.0, upper[pos] - reach[pos])
    return col_lo, col_hi


def rounded_down(items: Items, x: FloatArray) -> FloatArray:
    """The LP relaxation's plan with every fractional package and place rounded down and each pool's transfers
    shrunk in proportion to what its packages now cost: it meets every "at most" row the relaxation met."""
    return _shrink_transfers(items, x, np.where(items.transfer, x, np.floor(x + 1e-9)))


def _shrink_transfers(items: Items, before: FloatArray, after: FloatArray) -> FloatArray:
    """``after`` (a plan with fewer packages than ``before``) with each pool's transfers cut in proportion to what
    its packages now cost, so the pool still balances and no line pays more."""
    out = np.asarray(after, dtype=np.float64).copy()
    t = np.flatnonzero(items.transfer)
    if t.size:
        pool_of = items.offer * max(1, len(items.icbs)) + items.icb
        shared = np.flatnonzero(items.shared)
        was, now = np.zeros(int(pool_of.max()) + 1), np.zeros(int(pool_of.max()) + 1)
        np.add.at(was, pool_of[shared], items.cost[shared] * before[shared])
        np.add.at(now, pool_of[shared], items.cost[shared] * out[shared])
        share = np.divide(now, was, out=np.zeros_like(now), where=was > 0)
        out[t] = before[t] * share[pool_of[t]]
    return out


def fit_hours(items: Items, x: FloatArray, hours_cap: float) -> FloatArray:
    """The plan with the packages and places that protect the fewest patients an hour dropped until it keeps to the
    hours (the ICBs' plans, each within the pool, can overrun it together)."""
    out = x.copy()
    over = float(items.hours @ out) - hours_cap
    if over <= 1e-6:
        return out
    used = np.flatnonzero((out > 0.5) & (items.hours > 0) & ~items.transfer)
    for i in used[np.argsort(items.value[used] / items.hours[used], kind="stable")].tolist():
        take = min(out[i], math.ceil(over / items.hours[i] - 1e-9))
        out[i] -= take
        over -= take * items.hours[i]
        if over <= 1e-6:
            break
    return _shrink_transfers(items, x, out)


def combine(items: Items, plans: list[FloatArray], hours_cap: float, deadline: float) -> FloatArray:
    """The best plan for England made of one of ``plans`` in each ICB (each meets its ICB's rows; the last keeps to
    the hours on its own, so there is always one) that keeps to the hours: a choice per ICB, a tiny MILP."""
    icbs = np.unique(items.icb)
    n = len(plans)
    value = np.array([[float(items.value[items.icb == k] @ p[items.icb == k]) for p in plans] for k in icbs])
    hours = np.array([[float(items.hours[items.icb == k] @ p[items.icb == k]) for p in plans] for k in icbs])
    one_each = csr_matrix(np.kron(np.eye(icbs.size), np.ones((1, n))))
    rows = vstack([one_each, csr_matrix(hours.reshape(1, -1))]).tocsr()
    res = highs(
        value.ravel(),
        rows,
        np.append(np.ones(icbs.size), -np.inf),
        np.append(np.ones(icbs.size), hours_cap),
        np.zeros(value.size),
        np.ones(value.size),
        np.ones(value.size, dtype=bool),
        time_limit=deadline - time.perf_counter(),
        rel_gap=0.0,
    )
    pick = np.full(icbs.size, n - 1) if res.x is None else np.argmax(res.x.reshape(icbs.size, n), axis=1)
    out = np.zeros(items.cost.size)
    for k, j in zip(icbs.tolist(), pick.tolist(), strict=True):
        out[items.icb == k] = plans[j][items.icb == k]
    return out


def residual(
    items: Items, a: csr_matrix, lo: FloatArray, hi: FloatArray, start: FloatArray, reduced: FloatArray,
    target: float, deadline: float,
) -> Solved:  # fmt: skip
    """The whole MILP with every package fixed as in ``start`` except the :data:`RESIDUAL_PACKAGES` nearest the
    margin (smallest |reduced cost|), places and transfers; HiGHS starts from ``start`` and stops at ``target``."""
    packages = np.flatnonzero(items.package)
    near = packages[np.argsort(np.abs(reduced[packages]), kind="stable")[:RESIDUAL_PACKAGES]]
    free = ~items.package
    free[near] = True
    upper = items.upper.astype(np.float64)
    return highs(
        items.value,
        a,
        lo,
        hi,
        np.where(free, 0.0, start),
        np.where(free, upper, start),
        ~items.transfer,
        time_limit=deadline - time.perf_counter(),
        rel_gap=1e-4,
        start=start,
        target=target,
    )
