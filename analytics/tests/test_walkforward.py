"""The walk-forward back-test: only published data, training only on earlier years, lineage-adjusted change, and a
table with every year, outcome and method. Runs on the shipped files (parsed once for the module)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import polars as pl
import pytest

from analytics.disappearances import CLOSURE, LABELS_FILE, LINEAGE_FILE, read_labels, read_lineage, through_lineage
from analytics.features import FEATURES, features
from analytics.history import History, as_published, load_history_files, national_as_of
from analytics.model import calibration, fit_logistic
from analytics.national import NATIONAL_DIR
from analytics.walkforward import (
    ANY,
    AS_OF_DATES,
    FLAGS,
    GP_FTE,
    HORIZON_MONTHS,
    INDEX,
    LIST_SIZE,
    MODEL,
    OUTCOMES,
    evaluate_year,
    walk_forward,
)

AS_OF = date(2023, 4, 1)


@pytest.fixture(scope="module")
def history() -> History:
    if not (NATIONAL_DIR / LABELS_FILE).exists():
        pytest.skip("history files not shipped in this checkout")
    return load_history_files()


@pytest.fixture(scope="module")
def lineage() -> pl.DataFrame:
    return read_lineage(NATIONAL_DIR / LINEAGE_FILE)


@pytest.fixture(scope="module")
def labels() -> pl.DataFrame:
    return read_labels(NATIONAL_DIR / LABELS_FILE)


def test_the_index_as_of_2023_reads_only_what_was_published_by_then(history: History) -> None:
    data = national_as_of(history, AS_OF)
    # payments and QOF 2022-23 ended on 31 March 2023 but were published in the autumn: 2021-22 is the latest
    assert (data.payments_period, data.qof_period) == ("2021-22", "2021-22")
    assert data.workforce.get_column("fy_end_year").max() == 2022  # FY 2022/23 includes March 2023 (published May)
    assert data.cqc.height == 0 and data.registrations.height == 0  # the April 2024 / April 2025 snapshots


def test_changing_anything_published_later_changes_no_feature(history: History, lineage: pl.DataFrame) -> None:
    before = features(as_published(history, AS_OF), lineage)
    later = history.workforce.with_columns(
        pl.when(pl.col("fy_end_year") >= 2023).then(0.0).otherwise(pl.col("patients")).alias("patients")
    )
    pay = history.payments.with_columns(
        pl.when(pl.col("period") == "2022-23")
        .then(1.0)
        .otherwise(pl.col("payments_per_weighted_patient"))
        .alias("payments_per_weighted_patient")
    )
    after = features(as_published(replace(history, workforce=later, payments=pay), AS_OF), lineage)
    assert before.equals(after)


def test_features_refuse_an_uncut_history(history: History, lineage: pl.DataFrame) -> None:
    with pytest.raises(ValueError, match="as_published"):
        features(history, lineage)


def test_a_merger_is_not_growth(history: History, lineage: pl.DataFrame) -> None:
    # A81044 absorbed A81003 (closed 31 Oct 2017; its lineage last month is 01/10/2016) and others. As of 2018-04-01
    # its two-year list change compares with the lists of all of them in FY 2015/16, not with its own list alone.
    d = date(2018, 4, 1)
    cut = as_published(history, d)
    f = features(cut, lineage).filter(pl.col("practice_code") == "A81044").row(0, named=True)
    wf = cut.workforce
    p = {(r["practice_code"], r["fy_end_year"]): r["patients"] for r in wf.iter_rows(named=True)}
    latest = int(wf.get_column("fy_end_year").max())  # type: ignore[arg-type]
    gone = [
        code
        for code in through_lineage(lineage, d).filter(pl.col("successor") == "A81044").get_column("predecessor")
        if (code, latest) not in p
    ]
    assert "A81003" in gone
    earlier = p[("A81044", latest - 2)] + sum(p.get((c, latest - 2), 0.0) for c in gone)
    assert f["list_change_2y"] == pytest.approx(np.log(p[("A81044", latest)] / earlier))
    assert f["list_change_2y"] < np.log(p[("A81044", latest)] / p[("A81044", latest - 2)]) - 0.2  # not +31% growth


def test_the_model_trains_only_on_windows_that_ended_before_the_as_of_date(
    history: History, lineage: pl.DataFrame, labels: pl.DataFrame
) -> None:
    y = evaluate_year(history, lineage, labels, date(2021, 4, 1), n_boot=0)
    assert y.training_dates == (date(2017, 4, 1), date(2018, 4, 1), date(2019, 4, 1))
    assert all(d.year + HORIZON_MONTHS // 12 <= 2021 for d in y.training_dates)
    assert y.model is not None and set(y.model.features) <= set(FEATURES)
    # explainable: contributions plus the intercept give each practice's probability
    row = y.scores.row(0, named=True)
    logit = y.model.intercept + sum(row[f"{f}__contrib"] for f in y.model.features)
    assert row["probability"] == pytest.approx(1 / (1 + np.exp(-logit)))


def test_the_walk_forward_table_has_every_year_outcome_and_method(
    history: History, lineage: pl.DataFrame, labels: pl.DataFrame
) -> None:
    wf = walk_forward(history, lineage, labels, n_boot=100)
    assert [y.as_of for y in wf.years] == list(AS_OF_DATES)
    for y in wf.years:
        assert {(r.outcome, r.method) for r in y.rows} == {
            (o, m) for o in OUTCOMES for m in (MODEL, INDEX, LIST_SIZE, GP_FTE, FLAGS)
        }
        for r in y.rows:
            assert r.events > 20 and r.ci is not None and r.ci[0] <= r.auc <= r.ci[1], r
            assert r.lift == pytest.approx(r.top_decile_precision / (r.events / r.n))
        closure = {r.method: r for r in y.rows if r.outcome == CLOSURE}
        anyd = {r.method: r for r in y.rows if r.outcome == ANY}
        assert closure[MODEL].observed_over_expected is not None and anyd[MODEL].observed_over_expected is None
        assert closure[FLAGS].auc < closure[LIST_SIZE].auc  # the old rule count is the weakest baseline every year
    text = wf.as_text()
    assert "2020-04-01 closure" in text and "model trained on as-of 2017-04-01" in text


def test_logistic_fit_and_calibration_on_known_data() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4000, 2))
    p = 1 / (1 + np.exp(-(-2.0 + 1.5 * x[:, 0])))
    y = rng.random(4000) < p
    b0, b = fit_logistic(x, y, l2=0.0)
    assert b0 == pytest.approx(-2.0, abs=0.2) and b[0] == pytest.approx(1.5, abs=0.2) and abs(b[1]) < 0.15
    ratio, slope = calibration(p, y)
    assert ratio == pytest.approx(1.0, abs=0.1) and slope == pytest.approx(1.0, abs=0.15)
