"""Back-test metrics against hand-computed cases, and the back-test on the real national files."""

from __future__ import annotations

import itertools
import math
from datetime import date

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.backtest import (
    COMPOSITE,
    FLAG_COUNT,
    LIST_SIZE,
    add_months,
    average_ranks,
    backtest,
    bootstrap_auc,
    bootstrap_counts,
    precision_recall_at,
    roc_auc,
)
from analytics.indicators.definition import load_definitions
from analytics.national import NATIONAL_DIR, NationalData, load_national
from analytics.scoring import indicator_values, score
from analytics.weights import composite_from, fit_weights


def pairwise_auc(scores: list[float], outcome: list[bool]) -> float:
    """The definition: share of (positive, negative) pairs ordered correctly, ties counting one half."""
    pos = [s for s, y in zip(scores, outcome, strict=True) if y]
    neg = [s for s, y in zip(scores, outcome, strict=True) if not y]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_average_ranks() -> None:
    assert average_ranks(np.array([3.0, 1.0, 2.0, 1.0])).tolist() == [4.0, 1.5, 3.0, 1.5]
    with pytest.raises(ValueError, match="NaN"):
        average_ranks(np.array([1.0, np.nan]))


@pytest.mark.parametrize(
    ("scores", "outcome", "expected"),
    [
        ([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], 0.75),  # the textbook example
        ([1, 2, 3, 4], [0, 0, 1, 1], 1.0),
        ([4, 3, 2, 1], [0, 0, 1, 1], 0.0),
        ([1, 1, 2, 2], [0, 1, 0, 1], 0.5),  # ties between classes count one half
        ([1, 2, 2, 3], [0, 0, 1, 1], 0.875),  # (1 + 0.5 + 1 + 1) / 4
        ([5, 5, 5], [1, 0, 0], 0.5),  # all tied
        ([2, 1, 1, 1, 3], [1, 0, 1, 0, 0], 0.5),  # pos {2, 1} vs neg {1, 1, 3}: (1+1+0 + .5+.5+0)/6
    ],
)
def test_roc_auc_hand_cases(scores: list[float], outcome: list[int], expected: float) -> None:
    assert roc_auc(scores, [bool(y) for y in outcome]) == pytest.approx(expected)


def test_roc_auc_one_class_is_nan() -> None:
    assert math.isnan(roc_auc([1.0, 2.0], [True, True]))
    assert math.isnan(roc_auc([1.0, 2.0], [False, False]))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(min_value=0, max_value=5), st.booleans()), min_size=2, max_size=40).filter(
        lambda xs: 0 < sum(y for _, y in xs) < len(xs)
    )
)
def test_roc_auc_matches_pairwise_definition(pairs: list[tuple[int, bool]]) -> None:
    scores = [float(s) for s, _ in pairs]
    outcome = [y for _, y in pairs]
    assert roc_auc(scores, outcome) == pytest.approx(pairwise_auc(scores, outcome))


def test_precision_recall_at_top_k() -> None:
    scores = list(range(20, 0, -1))  # 20 practices, best first
    outcome = [True, False, True] + [False] * 16 + [True]
    # top 10% = 2 practices: one closure among them; 3 closures in all
    assert precision_recall_at(scores, outcome, 0.10) == pytest.approx((0.5, 1 / 3))
    # top 5% = ceil(1) = 1 practice
    assert precision_recall_at(scores, outcome, 0.05) == pytest.approx((1.0, 1 / 3))
    # top 20% = 4 practices: two closures
    assert precision_recall_at(scores, outcome, 0.20) == pytest.approx((0.5, 2 / 3))


def test_precision_recall_shares_ties_at_the_cut() -> None:
    # Top 50% = 2 places, but three practices tie on top with one closure among them: expect 2/3 of a closure.
    p, r = precision_recall_at([3.0, 3.0, 3.0, 1.0], [True, False, False, False], 0.5)
    assert p == pytest.approx(1 / 3)
    assert r == pytest.approx(2 / 3)


def test_bootstrap_auc_agrees_with_resampling() -> None:
    rng = np.random.default_rng(7)
    s = rng.integers(0, 6, 60).astype(float)
    y = rng.random(60) < 0.3
    ones = np.ones((1, 60), dtype=np.int32)
    assert bootstrap_auc(s, y, ones)[0] == pytest.approx(roc_auc(s, y))
    counts = bootstrap_counts(60, 5, np.random.default_rng(1))
    assert (counts.sum(axis=1) == 60).all()
    boots = bootstrap_auc(s, y, counts)
    for b in range(5):
        idx = np.repeat(np.arange(60), counts[b])
        assert boots[b] == pytest.approx(roc_auc(s[idx], y[idx]))


def test_add_months() -> None:
    assert add_months(date(2023, 4, 1), 24) == date(2025, 4, 1)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 11, 30), 3) == date(2024, 2, 29)
    assert add_months(date(2023, 12, 15), 1) == date(2024, 1, 15)


def test_composite_from_and_fit_weights() -> None:
    pcts = np.array([[100.0, 0.0], [0.0, np.nan], [50.0, 100.0]])
    assert composite_from(pcts, np.array([1.0, 1.0])).tolist() == [50.0, 0.0, 75.0]
    assert np.isnan(composite_from(np.array([[np.nan, np.nan]]), np.array([1.0, 1.0]))[0])
    # Indicator 0 carries signal, indicator 1 is noise: the fit never does worse than its start, and leans on 0.
    rng = np.random.default_rng(3)
    y = np.array([True] * 10 + [False] * 40)
    good = np.where(y, 40.0, 0.0) + rng.random(50) * 60
    noise = rng.random(50) * 100
    pcts2 = np.column_stack([good, noise])
    w = fit_weights(pcts2, y, [1.0, 1.0])
    assert roc_auc(composite_from(pcts2, w), y) >= roc_auc(composite_from(pcts2, np.array([1.0, 1.0])), y)
    assert w[0] > w[1]
    # Fixed indicators keep their start weight.
    assert fit_weights(np.column_stack([good, noise]), y, [1.0, 2.0], fixed=[False, True])[1] == 2.0


# ---------------------------------------------------------------------------------------------------------------------
# The real national files
# ---------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def national() -> NationalData:
    if not (NATIONAL_DIR / "ods_epraccur" / "epraccur.csv").exists():
        pytest.skip("data/national is not in this checkout")
    return load_national()


def test_no_indicator_reads_close_dates_or_atypical_flags(national: NationalData) -> None:
    as_of = date(2023, 4, 1)
    values = indicator_values(national, as_of)
    forbidden = {"close_date", "status", "atypical", "closed", "group"}
    assert not forbidden & set(values.columns)
    defs = load_definitions()
    for d in defs:
        assert not any("close" in c or "atypical" in c for c in d.source_columns), d.id
    before = score(values, defs).frame
    # Move every close date after as_of somewhere else after as_of (or erase it), and rewrite the atypical flags:
    # the cohort's outcome changes completely, the scores must not.
    p = national.practices
    moved = p.with_columns(
        pl.when(pl.col("close_date") > as_of)
        .then(pl.when(pl.col("practice_code").hash() % 2 == 0).then(None).otherwise(pl.lit(date(2030, 1, 1))))
        .otherwise(pl.col("close_date"))
        .alias("close_date")
    )
    pay = national.payments.with_columns(pl.lit("No registered patients").alias("atypical"))
    after = score(indicator_values(national.replace(practices=moved, payments=pay), as_of), defs).frame
    assert after.equals(before)


@pytest.fixture(scope="module")
def result(national: NationalData):  # type: ignore[no-untyped-def]
    return backtest(national, n_boot=200, split_repeats=1)


def test_backtest_on_real_data(result) -> None:  # type: ignore[no-untyped-def]
    clean = result.headline
    assert clean.name == "clean cohort"
    assert abs(clean.n - 6390) <= 100
    assert 70 <= clean.closures <= 120
    size = clean.method(LIST_SIZE)
    assert 0.65 <= size.auc <= 0.80
    assert size.ci is not None and size.ci[0] < size.auc < size.ci[1]
    composite = clean.method(COMPOSITE)
    flags = clean.method(FLAG_COUNT)
    assert 0.5 < flags.auc < composite.auc
    assert composite.auc > size.auc  # what the weights were chosen for; the report gives the held-out figure
    for m in clean.methods:
        for v in (m.p5, m.r5, m.p10, m.r10):
            assert 0.0 <= v <= 1.0
    # Excluded groups are reported with their own counts.
    assert result.excluded["no registered patients"] > 0 and result.excluded["part year of data"] > 0
    full = result.cohort("full cohort")
    assert full.n == clean.n + sum(result.excluded.values())
    assert result.split is not None and len(result.split.fitted) == 2


def test_backtest_report_reads_well(result) -> None:  # type: ignore[no-untyped-def]
    text = result.as_text()
    for needle in (
        "clean cohort",
        "full cohort",
        "excluded: part year of data",
        "AUC",
        "P@5%",
        "R@10%",
        LIST_SIZE,
        FLAG_COUNT,
        "Split check",
        "workforce FY 2022-23",
        "QOF 2022-23",
        "Excluded from the clean cohort",
    ):
        assert needle in text, needle
    print(text)
