"""The domino check: true closures only, isolated, calibrated on earlier closures only, against a naive baseline."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from analytics.disappearances import CLOSURE, LABELS_FILE, LINEAGE_FILE, classify, read_labels, read_lineage
from analytics.national import NATIONAL_DIR
from analytics.targeting.dispersal import DispersalParams
from analytics.targeting.domino import CALIBRATED, NAIVE, SIMULATOR, Closure, _naive, _score, calibrate, domino_check


def _closure(excess: list[float], km: list[float], lists: list[float], year: int = 2021) -> Closure:
    return Closure(
        year=year,
        code="X",
        closing_list=1000.0,
        neighbour=np.arange(len(km)),
        km=np.array(km),
        lists=np.array(lists),
        excess=np.array(excess),
    )


def test_capture_and_error_of_a_perfect_and_a_wrong_prediction() -> None:
    c = _closure([600, 300, 100, 0], [0.5, 1, 2, 3], [5000, 5000, 5000, 5000])
    assert _score(c, np.array([600.0, 300, 100, 0])) == (1.0, 0.0)
    capture, error = _score(c, np.array([0.0, 0, 0, 1000]))
    assert error == pytest.approx(1.0)  # every patient placed where none went
    assert capture == pytest.approx(0.9)  # its top 3 (by tie order) still holds the two largest real gainers


def test_the_naive_baseline_shares_by_list_among_the_five_nearest() -> None:
    c = _closure([0] * 6, [6, 5, 4, 3, 2, 1], [1000, 1000, 1000, 1000, 3000, 4000])
    pred = _naive(c)
    assert pred[0] == 0 and pred.sum() == pytest.approx(1000)
    assert pred[5] == pytest.approx(1000 * 4000 / 10000)


def test_calibration_uses_the_given_earlier_closures_only() -> None:
    base = DispersalParams()
    # patients went far: a long decay scale fits; with no earlier closures the shipped parameters stay
    far = [_closure([0, 0, 500, 500], [0.2, 0.3, 6, 7], [5000] * 4, year=2019)]
    assert calibrate([], base) == base
    assert calibrate(far, base).decay_scale_km > base.decay_scale_km


def test_on_the_shipped_files_every_reported_year_has_the_three_methods() -> None:
    if not (NATIONAL_DIR / LABELS_FILE).exists():
        pytest.skip("history files not shipped in this checkout")
    from analytics.history import load_history_files
    from analytics.targeting.table import load_locations

    h = load_history_files()
    classified = classify(
        h.practices, read_labels(NATIONAL_DIR / LABELS_FILE), read_lineage(NATIONAL_DIR / LINEAGE_FILE)
    )
    rows = domino_check(h.workforce, load_locations(), classified)
    years = sorted({r.year for r in rows})
    assert years and years[0] >= 2020
    for y in years:
        got = {r.method: r for r in rows if r.year == y}
        assert set(got) == {SIMULATOR, CALIBRATED, NAIVE}
        assert all(0 <= r.error <= 1 and 0 <= r.top3_capture <= 1 for r in got.values())
    assert classified.filter(pl.col("outcome") == CLOSURE).height > 0
