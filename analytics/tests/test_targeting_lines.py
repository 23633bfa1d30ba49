"""The optimiser respects the programme (issue 17 §6): each funding line's money buys only the offers it funds,
targeted lines reach only eligible practices, universal lines buy places, and benefit is counted in patients."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.targeting.optimise import greedy, optimise
from analytics.targeting.plan import ASSUMED_EFFECT, Candidates, Line, build_items, line_settings, outside_line
from analytics.tests.targeting_support import offer


def cands(needs: list[float], lists: list[int], icbs: list[str] | None = None) -> Candidates:
    n = len(needs)
    return Candidates(
        code=tuple(f"P{i}" for i in range(n)),
        name=tuple(f"Practice {i}" for i in range(n)),
        icb_code=tuple(icbs or ["QAA"] * n),
        need=np.array(needs, dtype=np.float64),
        list_size=np.array(lists, dtype=np.float64),
        weighted_list=np.array(lists, dtype=np.float64),
        pressure=np.array([100 * x for x in needs], dtype=np.float64),
        ripple_neighbours=np.zeros(n, dtype=np.int64),
    )


MENU = [offer("coach", 10_000, 0, 0.10), offer("hr", 10_000, 0, 0.05), offer("pm-dev", 2_000, 0, 0.04)]


def test_a_line_spends_only_on_the_offers_it_funds() -> None:
    # Line A funds only "hr" (the weaker offer); line B only "coach". Each spends its own money on its own offer.
    c = cands([0.9, 0.8, 0.7], [5000, 5000, 5000])
    lines = [
        Line("a", "Line A", {"QAA": 20_000}, frozenset({"hr"})),
        Line("b", "Line B", {"QAA": 10_000}, frozenset({"coach"})),
    ]
    plan = optimise(c, MENU, line_settings(lines, 0, 100_000))
    by_line = {r.code: r for r in plan.lines}
    assert by_line["a"].spend_pence == 20_000 and by_line["a"].offers == ("hr",)
    assert by_line["b"].spend_pence == 10_000 and by_line["b"].offers == ("coach",)
    assert plan.outside_line == 0
    funded = {p.code: p.offers for p in plan.practices if p.offers}
    assert set(funded["P0"]) == {"Coach", "Hr"}  # the neediest gets the coach package from B and HR from A
    assert set(funded["P1"]) == {"Hr"}


def test_a_line_that_funds_nothing_on_the_menu_buys_nothing() -> None:
    c = cands([0.9], [5000])
    plan = optimise(c, MENU, line_settings([Line("x", "X", {"QAA": 50_000}, frozenset({"not-on-menu"}))], 0, 10**6))
    assert plan.spend_pence == 0 and plan.items == 0


def test_two_lines_funding_one_offer_buy_a_practice_one_package_of_it() -> None:
    c = cands([0.9], [5000])
    lines = [Line(k, k, {"QAA": 50_000}, frozenset({"coach"})) for k in ("a", "b")]
    plan = optimise(c, MENU, line_settings(lines, 0, 10**6))
    assert plan.spend_pence == 10_000
    base = greedy(c, build_items(c, MENU, line_settings(lines, 0, 10**6)), line_settings(lines, 0, 10**6))
    assert base.spend_pence == 10_000


def test_lines_that_share_an_offer_pay_for_a_package_together() -> None:
    # Neither £60 line can buy a £100 coach package alone; between them they buy one, each paying at most its £60.
    c = cands([0.9, 0.8], [5000, 5000])
    lines = [Line(k, k.upper(), {"QAA": 6_000}, frozenset({"coach"})) for k in ("a", "b")]
    plan = optimise(c, MENU, line_settings(lines, 0, 10**6))
    assert plan.practices_funded == 1 and plan.spend_pence == 10_000
    spend = [r.spend_pence for r in plan.lines]
    assert sum(spend) == 10_000 and all(x <= 6_000 for x in spend)
    assert sum(r.patients_protected for r in plan.lines) == pytest.approx(plan.objective)
    assert [r.shared_packages for r in plan.lines] == [1, 1]
    assert "paid from A or B (a shared offer)" in plan.practices[0].why[0]


def test_targeted_lines_reach_only_practices_with_a_pressure_score_and_high_impact_only_the_neediest() -> None:
    c = cands([0.0] + [0.05 * i for i in range(1, 20)], [5000] * 20)
    menu = [offer("rapid", 1_000, 0, 0.2, requires_impact=("high",)), offer("coach", 1_000, 0, 0.1)]
    s = line_settings([Line("t", "T", {"QAA": 10**7}, None)], 0, 10**6)
    items = build_items(c, menu, s)
    rapid = {c.code[p] for p, o in zip(items.practice, items.offer, strict=True) if o == 0}
    coach = {c.code[p] for p, o in zip(items.practice, items.offer, strict=True) if o == 1}
    assert rapid == {"P18", "P19"}
    assert "P0" not in coach and len(coach) == 19


def test_universal_lines_buy_places_spread_across_the_icbs_practices() -> None:
    # A universal line with £100 buys places on PM development at £20 a place: at most one per practice (3 here),
    # open to the practice with no pressure score as well; the benefit is the ICB's average practice's.
    c = cands([0.9, 0.3, 0.0], [6000, 3000, 3000])
    lines = [Line("u", "Development", {"QAA": 10_000}, frozenset({"pm-dev"}), universal=True)]
    plan = optimise(c, MENU, line_settings(lines, 0, 10**6))
    assert len(plan.places) == 1
    place = plan.places[0]
    assert (place.places, place.of_practices, place.cost_per_place_pence) == (3, 3, 2_000)
    assert place.spend_pence == 6_000
    mean_weight = (6000 * 0.9 + 3000 * 0.3 + 0) / 3
    assert place.patients_protected == pytest.approx(3 * 0.04 * mean_weight)
    assert place.effect_source == ASSUMED_EFFECT
    assert plan.lines[0].places == 3 and plan.lines[0].packages == 0
    assert plan.practices_funded == 0  # places are not packages for chosen practices


def test_a_small_practice_with_a_high_score_does_not_top_the_list() -> None:
    # 19 patients at the highest pressure against 9,000 at a lower one: the package protects far more patients at
    # the big practice, so it is bought there first.
    c = cands([1.0, 0.5], [19, 9000])
    plan = optimise(c, MENU[:1], line_settings([Line("t", "T", {"QAA": 10_000}, None)], 0, 10**6))
    assert [p.code for p in plan.practices if p.offers] == ["P1"]
    top = plan.practices[0]
    assert top.code == "P1" and top.patients == 9000
    assert top.benefit == pytest.approx(9000 * 0.5 * 0.10)
    assert "9,000 registered patients" in top.reason and "need 0.50, its risk index" in top.reason
    assert top.why and "effect 10%" in top.why[0] and ASSUMED_EFFECT in top.why[0] and "paid from T" in top.why[0]


def test_line_budgets_that_do_not_add_up_are_refused() -> None:
    s = line_settings([Line("a", "A", {"QAA": 100}, None)], 0, 1_000)
    bad = type(s)({"QAA": 50}, 0, 1_000, lines=s.lines)
    assert "line_budgets" in bad.problems()


instance = st.fixed_dictionaries(
    {
        "needs": st.lists(st.floats(0.0, 1.5), min_size=1, max_size=5),
        "lists": st.lists(st.integers(10, 12_000), min_size=5, max_size=5),
        "budgets": st.lists(st.integers(0, 30_000), min_size=3, max_size=3),
        "funds": st.lists(st.sets(st.sampled_from(["coach", "hr", "pm-dev"]), min_size=1), min_size=3, max_size=3),
        "universal": st.lists(st.booleans(), min_size=3, max_size=3),
        "cap": st.integers(1_000, 30_000),
    }
)


@settings(max_examples=40, deadline=None)
@given(instance)
def test_no_line_overspends_or_funds_an_offer_outside_its_list(d: dict[str, Any]) -> None:
    n = len(d["needs"])
    c = cands(d["needs"], d["lists"][:n], icbs=["QAA" if i % 2 == 0 else "QBB" for i in range(n)])
    lines = [
        Line(f"l{k}", f"L{k}", {"QAA": d["budgets"][k], "QBB": d["budgets"][k] // 2}, frozenset(f), u)
        for k, (f, u) in enumerate(zip(d["funds"], d["universal"], strict=True))
    ]
    s = line_settings(lines, 0, d["cap"])
    plan = optimise(c, MENU, s)
    items = build_items(c, MENU, s)
    base = greedy(c, items, s)
    assert plan.outside_line == 0 and outside_line(items, base.chosen, MENU, lines) == 0
    for r, line in zip(plan.lines, lines, strict=True):
        assert r.spend_pence <= sum(line.budgets_pence.values())
        assert set(r.offers) == set(line.offer_codes or ())
    assert sum(r.patients_protected for r in plan.lines) == pytest.approx(plan.objective)
    assert sum(r.spend_pence for r in plan.lines) == plan.spend_pence
    assert plan.objective >= base.objective - 1e-6
    assert plan.objective <= plan.bound + 1e-6
    assert all(p.cost_pence <= s.practice_cap_pence for p in plan.practices)
