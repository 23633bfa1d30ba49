"""The optimiser's ICB-by-ICB solve: the Lagrangian bound is a true upper bound (never below the best plan, found by
brute force), tighter than the LP relaxation where packages are lumpy, and the pieces behave as documented."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from scipy.sparse import csr_matrix

from analytics.targeting import optimise as opt
from analytics.targeting import optimise_split as split
from analytics.targeting.plan import Settings, build_items
from analytics.tests.targeting_support import offer
from analytics.tests.test_targeting_optimise import _build, brute_force, cands, instance


def _parts(d: dict[str, Any]) -> tuple[Any, ...]:
    c, offers, s = _build(d)
    items = build_items(c, offers, s)
    _, cons = opt._model(c, items, s)
    a = csr_matrix(cons.A)
    return c, offers, s, items, a, np.asarray(cons.lb, dtype=float), np.asarray(cons.ub, dtype=float)


@settings(max_examples=30, deadline=None)
@given(instance, st.floats(0.0, 500.0))
def test_the_lagrangian_bound_is_never_below_the_best_plan_whatever_an_hour_is_priced_at(
    d: dict[str, Any], mu: float
) -> None:
    c, offers, s, items, a, lo, hi = _parts(d)
    if items.cost.size == 0:
        return
    best = brute_force(c, offers, s)
    x, bound, infeasible = split.by_icb(items, a, lo, hi, a.shape[0] - 1, mu, 1e18, 0.0)
    assert not infeasible
    assert bound >= best - 1e-6 * max(1.0, best)
    # fixing packages by the LP's reduced costs against the greedy plan changes neither the bound's truth nor the plan
    cost, cons = opt._model(c, items, s)
    parts = opt._lp_constraints(cons)
    lp = linprog(cost, bounds=np.column_stack((np.zeros(items.cost.size), items.upper)), **parts)
    n_up = np.asarray(parts["b_ub"]).size - int(np.isfinite(lo[lo != hi]).sum())
    eq = np.asarray(lp.eqlin.marginals) if np.asarray(parts["b_eq"]).size else np.zeros(0)
    price = split.row_prices(a, lo, hi, lp.ineqlin.marginals[:n_up], lp.ineqlin.marginals[n_up:], eq)
    known = opt.greedy(c, items, s).chosen.astype(float)
    rounded = split.rounded_down(items, lp.x)
    assert np.all(a @ rounded <= hi + 1e-6) and np.all(a @ rounded >= lo - 1e-6)  # meets every row (no floors here)
    prices = split.Prices(price, (known, rounded))
    x_fixed, bound_fixed, _ = split.by_icb(items, a, lo, hi, a.shape[0] - 1, mu, 1e18, 0.0, prices)
    assert bound_fixed >= best - 1e-6 * max(1.0, best)
    assert bound_fixed == pytest.approx(bound, rel=1e-6, abs=1e-6)
    # the ICBs' plans each keep to their ICB's rows; together, once kept to the hours, they are a plan
    for plan in (x, x_fixed):
        assert np.all(a[:-1] @ plan <= hi[:-1] + 1e-6) and np.all(a[:-1] @ plan >= lo[:-1] - 1e-6)
    fitted = split.fit_hours(items, x, s.coach_hours)
    assert items.hours @ fitted <= s.coach_hours + 1e-6
    assert items.value @ fitted <= best + 1e-6 * max(1.0, best)


@settings(max_examples=30, deadline=None)
@given(instance)
def test_the_plans_bound_is_a_true_bound_and_the_gap_is_measured_against_it(d: dict[str, Any]) -> None:
    c, offers, s = _build(d)
    plan = opt.optimise(c, offers, s)
    best = brute_force(c, offers, s)
    assert plan.bound >= best - 1e-6 * max(1.0, best)
    assert plan.gap == pytest.approx(max(0.0, (plan.bound - plan.objective) / plan.bound) if plan.bound > 0 else 0.0)
    assert plan.gap <= s.mip_rel_gap + 1e-12


def test_the_bound_is_tighter_than_the_lp_relaxation_where_packages_are_lumpy() -> None:
    # Each ICB's £150 buys one £100 package of its two; the hours (2 of the 3 the packages need) bind across both
    # ICBs. The LP relaxation buys 1.5 packages' worth in each ICB; the best plan is one package in each (value
    # 5,000 × 0.1 each); the Lagrangian bound proves it exactly.
    c = cands([1.0, 1.0, 1.0, 1.0], icbs=["QAA", "QAA", "QBB", "QBB"])
    offers = [offer("a", 10_000, 1.0, 0.1)]
    s = Settings({"QAA": 15_000, "QBB": 15_000}, coach_hours=3, practice_cap_pence=10_000)
    items = build_items(c, offers, s)
    cost, cons = opt._model(c, items, s)
    lp = linprog(cost, bounds=np.column_stack((np.zeros(items.cost.size), items.upper)), **opt._lp_constraints(cons))
    plan = opt.optimise(c, offers, s)
    assert -lp.fun == pytest.approx(3 * 500)  # hours bind first in the relaxation: three packages' worth
    assert plan.objective == pytest.approx(2 * 500)
    assert plan.bound == pytest.approx(2 * 500)
    assert plan.gap == pytest.approx(0.0)
    assert plan.status == "optimal"


def test_a_row_that_spans_icbs_makes_one_problem_not_one_per_icb() -> None:
    c = cands([1.0, 1.0], icbs=["QAA", "QBB"])
    s = Settings({"QAA": 10_000, "QBB": 10_000}, coach_hours=5, practice_cap_pence=10_000)
    items = build_items(c, [offer("a", 10_000, 1.0, 0.1)], s)
    by_icb = csr_matrix(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    assert [(cols.tolist(), rows.tolist()) for cols, rows in split.icb_blocks(items, by_icb, 2)] == [
        ([0], [0]),
        ([1], [1]),
    ]
    joined = csr_matrix(np.array([[1.0, 1.0], [0.0, 1.0], [1.0, 1.0]]))
    assert [(cols.tolist(), rows.tolist()) for cols, rows in split.icb_blocks(items, joined, 2)] == [([0, 1], [0, 1])]


def test_fitting_the_hours_drops_what_protects_fewest_patients_an_hour() -> None:
    c = cands([1.0, 0.2, 0.6])
    s = Settings({"QAA": 100_000}, coach_hours=2, practice_cap_pence=10_000)
    items = build_items(c, [offer("a", 10_000, 1.0, 0.1)], s)
    fitted = split.fit_hours(items, np.ones(3), 2.0)
    assert fitted.tolist() == [1.0, 0.0, 1.0]
    assert split.fit_hours(items, np.ones(3), 3.0).tolist() == [1.0, 1.0, 1.0]


def test_combining_plans_takes_the_best_choice_in_each_icb_that_keeps_to_the_hours() -> None:
    # Two ICBs, one practice each, one £100 package of 1 hour: plan "both" overruns 1 hour, plan "none" keeps to it.
    # With 1 hour the best mix is the package in the ICB where it protects more patients (need 0.9, not 0.3).
    c = cands([0.3, 0.9], icbs=["QAA", "QBB"])
    s = Settings({"QAA": 10_000, "QBB": 10_000}, coach_hours=1, practice_cap_pence=10_000)
    items = build_items(c, [offer("a", 10_000, 1.0, 0.1)], s)
    both, none = np.ones(2), np.zeros(2)
    mixed = split.combine(items, [both, none], 1.0, 1e18)
    assert mixed.tolist() == [0.0, 1.0]
    assert split.combine(items, [both, none], 2.0, 1e18).tolist() == [1.0, 1.0]
