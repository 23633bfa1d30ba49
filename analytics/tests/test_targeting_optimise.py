"""The allocation optimiser: hand-checked tiny plans, brute force on small random ones, and its invariants."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.menu.offers import Offer, load_menu
from analytics.targeting.optimise import greedy, optimise
from analytics.targeting.plan import Candidates, Settings, build_items, need_scores
from analytics.tests.targeting_support import offer


def cands(needs: list[float], icbs: list[str] | None = None, lists: list[int] | None = None) -> Candidates:
    n = len(needs)
    return Candidates(
        code=tuple(f"P{i}" for i in range(n)),
        name=tuple(f"Practice {i}" for i in range(n)),
        icb_code=tuple(icbs or ["QAA"] * n),
        need=np.array(needs, dtype=np.float64),
        list_size=np.array(lists or [5000] * n, dtype=np.float64),
        weighted_list=np.array(lists or [5000] * n, dtype=np.float64),
        pressure=np.array([100 * x for x in needs], dtype=np.float64),
        ripple_neighbours=np.zeros(n, dtype=np.int64),
    )


def test_the_budget_goes_where_it_protects_the_most_patients() -> None:
    # One offer costing £100 with effect 0.1; £200 buys two packages: the two neediest practices (of equal lists,
    # 5,000 patients each) get them; patients protected = list × risk × effect.
    c = cands([0.9, 0.2, 0.7])
    plan = optimise(
        c, [offer("a", 10_000, 1.0, 0.1)], Settings({"QAA": 20_000}, coach_hours=10, practice_cap_pence=10_000)
    )
    funded = {p.code for p in plan.practices if p.offers}
    assert funded == {"P0", "P2"}
    assert plan.objective == pytest.approx(5000 * 0.1 * (0.9 + 0.7))
    assert plan.spend_pence == 20_000
    reasons = {p.code: p.reason for p in plan.practices}
    assert reasons["P0"].startswith("Funded")
    assert "below" in reasons["P1"] or "budget" in reasons["P1"]
    assert any("Budget of QAA" in b for b in plan.binding)


def test_the_milp_beats_greedy_where_greedy_fills_the_budget_badly() -> None:
    # Budget £100. Greedy takes the best ratio first (£60 for 0.61 need-benefit: ratio 0.0102/£), leaving £40
    # which buys nothing; the optimum is two £50 packages worth 0.5 each (ratio 0.01/£): 1.0 > 0.61.
    c = cands([1.0, 1.0, 1.0])
    offers = [offer("big", 6_000, 0, 0.61), offer("small", 5_000, 0, 0.5)]
    s = Settings({"QAA": 10_000}, coach_hours=0, practice_cap_pence=6_000)
    plan = optimise(c, offers, s)
    assert plan.greedy is not None
    assert plan.greedy.objective == pytest.approx(5000 * 0.61)
    assert plan.objective == pytest.approx(5000 * 1.0)
    assert plan.gain_over_greedy == pytest.approx(1.0 / 0.61 - 1)


def test_coach_hours_bind_and_are_reported() -> None:
    c = cands([0.9, 0.8])
    plan = optimise(c, [offer("coach", 1_000, 10.0, 0.1)], Settings({"QAA": 100_000}, 10.0, 50_000))
    assert plan.hours == 10.0
    assert plan.practices_funded == 1
    assert any(b.startswith("Coach hours") for b in plan.binding)
    assert "Coach hours ran out" in next(p.reason for p in plan.practices if p.code == "P1")


def test_high_impact_offers_go_only_to_the_neediest_tenth() -> None:
    c = cands([0.1 * i for i in range(1, 21)])
    menu = [offer("rapid", 1_000, 0, 0.2, requires_impact=("high",))]
    items = build_items(c, menu, Settings({"QAA": 1_000_000}, 0, 10_000))
    assert sorted(c.code[p] for p in items.practice) == ["P18", "P19"]


def test_per_patient_offers_cost_the_unit_price_times_the_list() -> None:
    c = cands([0.5], lists=[6000])
    menu = [offer("reception", 18, 0, 0.03, unit_basis="patients", unit="patient")]
    items = build_items(c, menu, Settings({"QAA": 1_000_000}, 0, 1_000_000))
    assert items.cost.tolist() == [18 * 6000]


def test_unmeetable_fairness_floors_are_reported_not_hidden() -> None:
    c = cands([0.5, 0.5], icbs=["QAA", "QBB"])
    s = Settings({"QAA": 100_000, "QBB": 100_000}, 0, 1_000, floor_share=0.5)
    plan = optimise(c, [offer("a", 1_000, 0, 0.1)], s)
    assert not plan.feasible
    assert "floor" in plan.message


def test_fairness_floors_make_each_icb_spend_its_share() -> None:
    # ICB QBB's practice has little need: without a floor its £50 goes unspent; with a 50% floor it must be used.
    c = cands([0.9, 0.01], icbs=["QAA", "QBB"])
    menu = [offer("a", 5_000, 0, 0.1), offer("b", 4_000, 0, 0.001)]
    s_free = Settings({"QAA": 5_000, "QBB": 5_000}, 0, 10_000)
    s_floor = Settings({"QAA": 5_000, "QBB": 5_000}, 0, 10_000, floor_share=0.5)
    assert optimise(c, menu, s_free).spend_pence >= 5_000
    with_floor = optimise(c, menu, s_floor)
    assert {i.icb_code: i.spend_pence >= 2_500 for i in with_floor.icbs} == {"QAA": True, "QBB": True}


def test_need_rises_with_pressure_and_ripple() -> None:
    need = need_scores(np.array([50.0, 50.0, 80.0, np.nan]), np.array([0.0, 1000.0, 0.0, 500.0]))
    assert need[0] == pytest.approx(0.5)
    assert need[1] > need[0]
    assert need[2] == pytest.approx(0.8)
    assert need[3] == 0.0


def test_the_shipped_menu_is_what_the_optimiser_prices() -> None:
    menu = load_menu()
    c = cands([0.9])
    items = build_items(c, menu, Settings({"QAA": 10**9}, 10**6, 10**9))
    by_offer = dict(zip(items.offer.tolist(), items.cost.tolist(), strict=True))
    for k, o in enumerate(menu):
        if o.unit_basis == "fixed" and "high" not in o.requires_impact:
            assert by_offer[k] == o.unit_cost_pence * o.standard_units


def brute_force(c: Candidates, offers: list[Offer], s: Settings) -> float:
    items = build_items(c, offers, s)
    best = 0.0
    for mask in itertools.product([False, True], repeat=items.cost.size):
        x = np.array(mask, dtype=bool)
        if items.hours[x].sum() > s.coach_hours + 1e-9:
            continue
        spend: dict[str, int] = {}
        per: dict[int, int] = {}
        for i in np.flatnonzero(x):
            p = items.practice[i]
            spend[c.icb_code[p]] = spend.get(c.icb_code[p], 0) + items.cost[i]
            per[p] = per.get(p, 0) + items.cost[i]
        if any(v > s.budgets_pence[k] for k, v in spend.items()) or any(v > s.practice_cap_pence for v in per.values()):
            continue
        best = max(best, float((c.list_size[items.practice] * c.need[items.practice] * items.effect)[x].sum()))
    return best


instance = st.fixed_dictionaries(
    {
        "needs": st.lists(st.floats(0.0, 1.5), min_size=1, max_size=4),
        "costs": st.lists(st.integers(100, 5_000), min_size=1, max_size=3),
        "hours": st.lists(st.sampled_from([0.0, 1.0, 2.5, 6.0]), min_size=3, max_size=3),
        "effects": st.lists(st.floats(0.01, 0.3), min_size=3, max_size=3),
        "budget_a": st.integers(0, 12_000),
        "budget_b": st.integers(0, 12_000),
        "coach_hours": st.floats(0, 12),
        "cap": st.integers(100, 10_000),
    }
)


def _build(d: dict[str, Any]) -> tuple[Candidates, list[Offer], Settings]:
    n = len(d["needs"])
    c = cands(d["needs"], icbs=["QAA" if i % 2 == 0 else "QBB" for i in range(n)])
    offers = [offer(f"o{k}", cost, d["hours"][k], d["effects"][k]) for k, cost in enumerate(d["costs"])]
    s = Settings({"QAA": d["budget_a"], "QBB": d["budget_b"]}, d["coach_hours"], d["cap"])
    return c, offers, s


@settings(max_examples=40, deadline=None)
@given(instance)
def test_the_plan_never_breaks_a_constraint_and_is_at_least_as_good_as_greedy(d: dict[str, Any]) -> None:
    c, offers, s = _build(d)
    plan = optimise(c, offers, s)
    assert plan.feasible
    assert plan.hours <= s.coach_hours + 1e-6
    for icb in plan.icbs:
        assert icb.spend_pence <= icb.budget_pence
    assert all(p.cost_pence <= s.practice_cap_pence for p in plan.practices)
    base = greedy(c, build_items(c, offers, s), s)
    assert plan.objective >= base.objective - 1e-9
    assert plan.objective <= plan.bound + 1e-9


@settings(max_examples=25, deadline=None)
@given(instance)
def test_the_plan_is_optimal_within_the_gap_on_small_instances(d: dict[str, Any]) -> None:
    c, offers, s = _build(d)
    plan = optimise(c, offers, s)
    best = brute_force(c, offers, s)
    assert plan.objective >= best * (1 - s.mip_rel_gap) - 1e-9
    assert plan.objective <= best + 1e-9
