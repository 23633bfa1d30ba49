"""Walk-forward validation of the pressure index and its baselines, out of time, by kind of disappearance.

For each as-of date (1 April 2020, 2021, 2022, 2023):

1. the history is cut to what was **published** by then (:func:`analytics.history.as_published`);
2. the cohort is every practice open on the date (ODS dates), not dormant, with a workforce return in the latest
   published year;
3. methods scored with that data only:

   * **model** — :mod:`analytics.model`, its inputs chosen and its weights fitted on earlier as-of dates only:
     1 April of every year from ``FIRST_TRAINING_YEAR`` whose 24-month outcome window had ended by the as-of date,
     with outcomes from the rule without the hand labels (the labels were compiled in 2024: not known at the time);
   * **index (old composite)** — the shipped indicator definitions and weights on the same published data;
   * **list size alone**, **GP FTE alone** (smaller = riskier) and the **old rule count** (national criteria met);

4. outcomes over the next 24 months from :func:`analytics.disappearances.classify` (labels, lineage, co-located
   successor): a **true closure**, a **merger**, or **any disappearance**. Each is scored against the practices that
   did not disappear (the other kind of disappearance is left out of that comparison).

Reported per year, outcome and method: AUC with a seeded bootstrap 95% CI, precision in the top decile and its lift
over the base rate, and for the model (the only method that gives probabilities) calibration: observed / expected
closures and the calibration slope.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from analytics.backtest import add_months
from analytics.disappearances import CLOSURE, MERGER, classify, outcomes_between
from analytics.features import ALL_FEATURES, features
from analytics.history import History, as_published, national_as_of
from analytics.metrics import FloatArray, bootstrap_auc, bootstrap_counts, impute_median, precision_recall_at, roc_auc
from analytics.model import Model, calibration, choose_inputs
from analytics.scoring import score_as_of

AS_OF_DATES = (date(2020, 4, 1), date(2021, 4, 1), date(2022, 4, 1), date(2023, 4, 1))
HORIZON_MONTHS = 24
FIRST_TRAINING_YEAR = 2017
ANY = "any disappearance"
OUTCOMES = (CLOSURE, MERGER, ANY)
MODEL = "model (logistic, earlier years)"
INDEX = "index (old composite)"
LIST_SIZE = "list size alone"
GP_FTE = "GP FTE alone"
FLAGS = "old rule count (flags)"
METHODS = (MODEL, INDEX, LIST_SIZE, GP_FTE, FLAGS)


@dataclass(frozen=True)
class Row:
    as_of: date
    outcome: str
    method: str
    n: int
    events: int
    auc: float
    ci: tuple[float, float] | None
    top_decile_precision: float
    lift: float
    observed_over_expected: float | None = None
    calibration_slope: float | None = None


@dataclass(frozen=True)
class YearResult:
    as_of: date
    horizon_end: date
    cohort: int
    training_dates: tuple[date, ...]
    model: Model | None
    rows: tuple[Row, ...]
    scores: pl.DataFrame = field(repr=False)
    """practice_code, icb_code, model probability, each model input's contribution, and the baselines' scores."""


@dataclass(frozen=True)
class WalkForward:
    years: tuple[YearResult, ...]
    n_boot: int
    seed: int

    def row(self, as_of: date, outcome: str, method: str) -> Row:
        for y in self.years:
            for r in y.rows:
                if (r.as_of, r.outcome, r.method) == (as_of, outcome, method):
                    return r
        raise KeyError((as_of, outcome, method))

    def as_text(self) -> str:
        out = [
            f"Walk-forward back-test: scored with files published by each as-of date, outcomes over the next "
            f"{HORIZON_MONTHS} months; AUC against practices that did not disappear; bootstrap {self.n_boot} "
            f"resamples (seed {self.seed}); top 10% precision and lift over the base rate; calibration "
            "(observed/expected, slope) for the model only.",
            "",
            f"{'as of':10s} {'outcome':18s} {'method':32s} {'n':>5s} {'ev':>4s} {'AUC':>6s} {'95% CI':>15s} "
            f"{'P@10%':>6s} {'lift':>5s} {'O/E':>5s} {'slope':>5s}",
        ]
        for y in self.years:
            for r in y.rows:
                ci = f"[{r.ci[0]:.3f}, {r.ci[1]:.3f}]" if r.ci else ""
                oe = "" if r.observed_over_expected is None else f"{r.observed_over_expected:.2f}"
                sl = "" if r.calibration_slope is None else f"{r.calibration_slope:.2f}"
                out.append(
                    f"{r.as_of.isoformat():10s} {r.outcome:18s} {r.method:32s} {r.n:5d} {r.events:4d} "
                    f"{_num(r.auc, 3):>6s} {ci:>15s} {_num(100 * r.top_decile_precision, 1):>6s} "
                    f"{_num(r.lift, 1):>5s} {oe:>5s} {sl:>5s}"
                )
            trained = ", ".join(d.isoformat() for d in y.training_dates) or "none"
            m = y.model
            fitted = (
                f"{m.training_rows:,} rows, {m.training_events} closures; inputs chosen on the training years: "
                f"{m.inputs} ({', '.join(m.features)})"
                if m
                else "not fitted"
            )
            out.append(f"  {y.as_of}: cohort {y.cohort:,}; model trained on as-of {trained} ({fitted})")
        return "\n".join(out)


def _num(x: float, digits: int) -> str:
    return "n/a" if math.isnan(x) else f"{x:.{digits}f}"


def _labels_of(cohort: pl.DataFrame, classified: pl.DataFrame, as_of: date) -> pl.DataFrame:
    ev = outcomes_between(classified, as_of, add_months(as_of, HORIZON_MONTHS))
    return cohort.select("practice_code").join(ev, on="practice_code", how="left")


class _Features:
    """Feature frames by as-of date, computed once per walk-forward (each year's training reuses the earlier ones)."""

    def __init__(self, history: History, lineage: pl.DataFrame) -> None:
        self.history, self.lineage = history, lineage
        self._by_date: dict[date, pl.DataFrame] = {}

    def __call__(self, d: date) -> pl.DataFrame:
        if d not in self._by_date:
            self._by_date[d] = features(as_published(self.history, d), self.lineage)
        return self._by_date[d]


def training_set(
    history: History,
    lineage: pl.DataFrame,
    classified_rule: pl.DataFrame,
    as_of: date,
    cache: _Features | None = None,
) -> tuple[list[pl.DataFrame], list[np.ndarray], tuple[date, ...]]:
    """Feature frames and true-closure outcomes at every earlier as-of date whose outcome window ended by ``as_of``."""
    feats = cache if cache is not None else _Features(history, lineage)
    frames: list[pl.DataFrame] = []
    ys: list[np.ndarray] = []
    dates: list[date] = []
    for year in range(FIRST_TRAINING_YEAR, as_of.year):
        d = date(year, as_of.month, as_of.day)
        if add_months(d, HORIZON_MONTHS) > as_of:
            break
        f = feats(d)
        if f.height == 0:
            continue
        outcome = _labels_of(f, classified_rule, d).get_column("outcome")
        frames.append(f)
        ys.append((outcome == CLOSURE).fill_null(False).to_numpy())
        dates.append(d)
    return frames, ys, tuple(dates)


def _evaluate(
    as_of: date, scores: dict[str, FloatArray], outcome: np.ndarray, probs: FloatArray | None, n_boot: int, seed: int
) -> list[Row]:
    rows: list[Row] = []
    for k, name in enumerate(OUTCOMES):
        event = outcome != "" if name == ANY else outcome == name
        keep = event | (outcome == "")
        y = event[keep]
        rng = np.random.default_rng([seed, as_of.year, k])
        counts = bootstrap_counts(int(keep.sum()), n_boot, rng) if n_boot else None
        base = float(y.mean()) if y.size else float("nan")
        for method in METHODS:
            s = impute_median(scores[method][keep])
            auc = roc_auc(s, y)
            ci = None
            if counts is not None:
                boots = bootstrap_auc(s, y, counts)
                boots = boots[~np.isnan(boots)]
                if boots.size:
                    ci = (float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5)))
            p10, _ = precision_recall_at(s, y, 0.10)
            oe = slope = None
            if method == MODEL and name == CLOSURE and probs is not None and y.any():
                oe, slope = calibration(probs[keep], y)
            rows.append(Row(as_of, name, method, int(y.size), int(y.sum()), auc, ci, p10, p10 / base, oe, slope))
    return rows


def evaluate_year(
    history: History,
    lineage: pl.DataFrame,
    labels: pl.DataFrame,
    as_of: date,
    *,
    n_boot: int = 1000,
    seed: int = 20200401,
    _shared: tuple[pl.DataFrame, pl.DataFrame, _Features] | None = None,
) -> YearResult:
    """Score every cohort practice as of ``as_of`` with published data only, fit the model on earlier years, and
    evaluate every method on the next 24 months."""
    if _shared is None:
        _shared = _share(history, lineage, labels)
    classified, classified_rule, feats = _shared
    f = feats(as_of)
    frames, ys, dates = training_set(history, lineage, classified_rule, as_of, feats)
    model = choose_inputs(frames, ys) if frames and any(y.any() for y in ys) else None
    probs = model.predict(f) if model is not None else np.full(f.height, np.nan)
    index = score_as_of(national_as_of(history, as_of), as_of).frame.select("practice_code", "composite", "flag_count")
    joined = f.join(index, on="practice_code", how="left")

    def col(name: str) -> FloatArray:
        return joined.get_column(name).cast(pl.Float64).fill_null(np.nan).to_numpy().astype(np.float64)

    scores = {
        MODEL: probs,
        INDEX: col("composite"),
        LIST_SIZE: -col("log_list"),
        GP_FTE: -col("log_gp_fte"),
        FLAGS: col("flag_count"),
    }
    outcome = _labels_of(f, classified, as_of).get_column("outcome").fill_null("").to_numpy()
    rows = _evaluate(as_of, scores, outcome, probs if model is not None else None, n_boot, seed)
    contrib = (
        pl.DataFrame(model.contributions(f), schema=[f"{c}__contrib" for c in model.features], orient="row")
        if model is not None
        else pl.DataFrame()
    )
    table = pl.concat(
        [
            joined.select("practice_code", "icb_code", pl.Series("probability", probs), "composite", "flag_count"),
            joined.select(*ALL_FEATURES),
            contrib,
        ],
        how="horizontal",
    )
    return YearResult(
        as_of=as_of,
        horizon_end=add_months(as_of, HORIZON_MONTHS),
        cohort=f.height,
        training_dates=dates,
        model=model,
        rows=tuple(rows),
        scores=table,
    )


def _share(
    history: History, lineage: pl.DataFrame, labels: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, _Features]:
    """What every year of a walk-forward shares: outcomes with and without the hand labels, and the feature cache."""
    return (
        classify(history.practices, labels, lineage),
        classify(history.practices, labels.clear(), lineage),
        _Features(history, lineage),
    )


def walk_forward(
    history: History,
    lineage: pl.DataFrame,
    labels: pl.DataFrame,
    dates: tuple[date, ...] = AS_OF_DATES,
    *,
    n_boot: int = 1000,
    seed: int = 20200401,
) -> WalkForward:
    shared = _share(history, lineage, labels)
    years = tuple(evaluate_year(history, lineage, labels, d, n_boot=n_boot, seed=seed, _shared=shared) for d in dates)
    return WalkForward(years=years, n_boot=n_boot, seed=seed)
