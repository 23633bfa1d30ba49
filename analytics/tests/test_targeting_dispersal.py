"""The gravity model, the KD-tree neighbours and the ripple score on hand-checkable practices on a line."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.targeting.dispersal import (
    DispersalParams,
    Model,
    Thresholds,
    capped_proportional,
    default_thresholds,
    disperse,
)
from analytics.targeting.geo import great_circle_km
from analytics.targeting.ripple import ripple_scores
from analytics.tests.targeting_support import KM_PER_DEGREE, line_table


def params(cap: float, gp: float | None = 4000.0, **kw: float) -> DispersalParams:
    return DispersalParams(
        max_distance_km=kw.get("max_km", 8.0),
        max_neighbours=int(kw.get("k", 25)),
        decay_scale_km=1.0,
        decay_exponent=2.0,
        cap_share=cap,
        headroom_floor_share=0.02,
        thresholds=Thresholds(gp=gp, clinical=None),
    )


def test_one_degree_on_the_equator_is_the_expected_great_circle_distance() -> None:
    km = great_circle_km(np.array([0.0]), np.array([0.0]), np.array([0.0]), np.array([1 / KM_PER_DEGREE]))
    assert km[0] == pytest.approx(1.0, rel=1e-9)


def test_three_practices_on_a_line_share_by_distance_decay_times_headroom() -> None:
    # P0 closes; P1 is 1 km away, P2 2 km. Both have 1,000 patients and 1 GP FTE: headroom 4000 - 1000 = 3000.
    # Weights 3000/(1+1)^2 = 750 and 3000/(1+2)^2 = 333.3: shares 1000 × 750/1083.3 and 1000 × 333.3/1083.3.
    t = line_table([0, 1, 2], [1000, 1000, 1000], [1, 1, 1])
    d = disperse(t, "P0", params(cap=1.0))
    got = {n.code: n.received for n in d.neighbours}
    assert got["P1"] == pytest.approx(1000 * 750 / (750 + 3000 / 9))
    assert got["P2"] == pytest.approx(1000 * (3000 / 9) / (750 + 3000 / 9))
    assert d.unabsorbed == pytest.approx(0.0, abs=1e-9)
    assert [n.code for n in d.neighbours] == ["P1", "P2"]  # nearest first
    assert d.neighbours[0].km == pytest.approx(1.0)
    assert d.neighbours[0].new_list == pytest.approx(1000 + got["P1"])
    assert d.neighbours[0].gp_after == pytest.approx(1000 + got["P1"])
    assert d.neighbours[0].clinical_after == pytest.approx((1000 + got["P1"]) / 2)


def test_a_neighbour_over_its_cap_is_cut_to_it_and_the_rest_goes_to_the_others() -> None:
    # Cap 50% of 1,000 = 500: P1's share (692) is cut to 500, P2 takes the other 500 (exactly its cap).
    t = line_table([0, 1, 2], [1000, 1000, 1000], [1, 1, 1])
    d = disperse(t, "P0", params(cap=0.5))
    assert [round(n.received, 6) for n in d.neighbours] == [500.0, 500.0]
    assert all(n.at_cap for n in d.neighbours)
    assert d.unabsorbed == pytest.approx(0.0, abs=1e-9)


def test_patients_no_neighbour_can_take_are_unabsorbed() -> None:
    t = line_table([0, 1, 2], [1000, 1000, 1000], [1, 1, 1])
    d = disperse(t, "P0", params(cap=0.2))
    assert [round(n.received, 6) for n in d.neighbours] == [200.0, 200.0]
    assert d.unabsorbed == pytest.approx(600.0)


def test_practices_beyond_the_distance_are_not_neighbours() -> None:
    t = line_table([0, 1, 9], [1000, 1000, 1000], [1, 1, 1])
    d = disperse(t, "P0", params(cap=1.0, max_km=8.0))
    assert [n.code for n in d.neighbours] == ["P1"]
    assert d.neighbours[0].received == pytest.approx(1000.0)


def test_a_neighbour_pushed_over_the_gp_threshold_is_flagged() -> None:
    # Threshold 1,500: headroom 500 each, same 9:4 split; P1 goes to 1,692 per GP FTE (crosses), P2 to 1,308.
    t = line_table([0, 1, 2], [1000, 1000, 1000], [1, 1, 1])
    d = disperse(t, "P0", params(cap=1.0, gp=1500.0))
    assert [n.crosses_gp for n in d.neighbours] == [True, False]
    assert d.patients_at_risk == pytest.approx(d.neighbours[0].new_list)


def test_a_neighbour_already_over_the_threshold_does_not_cross_again() -> None:
    t = line_table([0, 1], [1000, 3000], [1, 1])
    d = disperse(t, "P0", params(cap=1.0, gp=2000.0))
    assert d.neighbours[0].gp_before == pytest.approx(3000.0)
    assert not d.neighbours[0].crosses_gp


def test_co_located_practices_are_neighbours_but_never_their_own() -> None:
    t = line_table([0, 0, 0], [1000, 1000, 1000], [1, 1, 1])
    d = disperse(t, "P1", params(cap=1.0))
    assert sorted(n.code for n in d.neighbours) == ["P0", "P2"]
    assert all(n.km == pytest.approx(0.0, abs=1e-6) for n in d.neighbours)


def test_default_thresholds_are_read_from_the_indicator_definitions() -> None:
    from analytics.indicators.definition import load_definitions

    gp = next(d for d in load_definitions() if d.id == "patients_per_gp_fte")
    assert gp.flag is not None
    assert default_thresholds().gp == float(gp.flag.value)  # type: ignore[arg-type]


def test_bad_parameters_are_named() -> None:
    bad = DispersalParams(max_distance_km=-1, max_neighbours=0, cap_share=0, decay_exponent=math.nan)
    assert set(bad.problems()) >= {"max_distance_km", "max_neighbours", "cap_share", "decay_exponent"}
    assert DispersalParams().problems() == {}


def test_ripple_score_counts_patients_pushed_over_the_edge_and_unabsorbed() -> None:
    t = line_table([0, 1, 2], [1000, 1000, 1000], [1, 1, 1])
    r = ripple_scores(t, params(cap=1.0, gp=1500.0)).sort("practice_code")
    row = r.row(0, named=True)
    d = disperse(t, "P0", params(cap=1.0, gp=1500.0))
    assert row["crossing_neighbours"] == 1
    assert row["ripple_score"] == pytest.approx(d.patients_at_risk + d.unabsorbed)
    assert r.height == 3


def test_batch_ripple_matches_one_practice_at_a_time() -> None:
    rng = np.random.default_rng(5)
    n = 40
    t = line_table(list(rng.uniform(0, 15, n)), list(rng.integers(500, 15000, n)), list(rng.uniform(0.5, 8, n)))
    p = params(cap=0.3, gp=2500.0, k=6)
    r = ripple_scores(t, p)
    m = Model(t, p)
    for row in r.iter_rows(named=True):
        d = disperse(t, row["practice_code"], model=m)
        assert row["absorbed"] == pytest.approx(d.absorbed)
        assert row["crossing_neighbours"] == len(d.crossing)


@settings(max_examples=600, deadline=None)
@given(
    total=st.floats(0, 1e5),
    weights=st.lists(st.floats(0, 1e4), min_size=1, max_size=8),
    caps=st.lists(st.floats(0, 5e4), min_size=8, max_size=8),
    valid=st.lists(st.booleans(), min_size=8, max_size=8),
)
def test_capped_allocation_conserves_patients_and_respects_caps(
    total: float, weights: list[float], caps: list[float], valid: list[bool]
) -> None:
    k = len(weights)
    w = np.array([weights], dtype=np.float64)
    c = np.array([caps[:k]], dtype=np.float64)
    v = np.array([valid[:k]], dtype=bool)
    alloc = capped_proportional(np.array([total]), w, c, v)
    assert (alloc >= -1e-9).all()
    assert (alloc <= c + 1e-6 * (1 + c)).all()
    assert (alloc[~v] == 0).all()
    absorbed = alloc.sum()
    assert absorbed <= total * (1 + 1e-9) + 1e-6
    room = np.where(v & (w > 0), c, 0).sum()
    # Either everything is placed, or every neighbour with weight is full.
    assert absorbed == pytest.approx(min(total, room) if room < total else total, rel=1e-6, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    km=st.lists(st.floats(0, 12), min_size=2, max_size=12),
    seed=st.integers(0, 10_000),
    cap=st.floats(0.01, 1.5),
)
def test_every_dispersal_conserves_the_closing_list(km: list[float], seed: int, cap: float) -> None:
    rng = np.random.default_rng(seed)
    n = len(km)
    t = line_table(km, list(rng.integers(100, 20000, n)), list(rng.uniform(0.3, 10, n)))
    p = params(cap=cap, k=5)
    for code in t.code:
        d = disperse(t, code, p)
        assert d.absorbed + d.unabsorbed == pytest.approx(d.list_size, rel=1e-9)
        assert all(nb.received <= nb.cap * (1 + 1e-9) + 1e-9 for nb in d.neighbours)
        assert all(nb.km <= 8.0 + 1e-6 for nb in d.neighbours)
