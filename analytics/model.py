"""A small, explainable closure model: L2-regularised logistic regression on standardised indicators.

Method (fixed before any evaluation, never tuned on a reported year):

* inputs: the columns of :data:`analytics.features.FEATURES`; an input is used only when at least
  ``MIN_PRESENT`` of the training rows have it (early years have no payments or QOF yet);
* each input is standardised with the training mean and standard deviation; a missing value becomes 0 (the
  training mean), so a missing input neither raises nor lowers the risk;
* the L2 penalty ``L2_PRIOR`` on the standardised coefficients (not the intercept) is a stated prior, equivalent to
  a normal prior with standard deviation ~0.7 on each coefficient at ~30,000 training rows; it is not searched;
* fitted by Newton's method (the problem is convex; converges in a few steps);
* which inputs: one of :data:`CANDIDATES`, chosen by :func:`choose_inputs` on the training years alone: each set is
  fitted on all but the latest training year and scored (AUC for true closures) on that latest year; the best set is
  then refitted on every training year. The year being reported never takes part in the choice.

A practice's explanation is each input's contribution to the log-odds, ``coef * z``, which sum (with the
intercept) to the logit of its predicted probability.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from analytics.features import EXTRA_FEATURES, FEATURES
from analytics.metrics import BoolArray, FloatArray, roc_auc

# Input sets tried (issue 18 §3). The first is the default when there are too few training years to choose.
CANDIDATES: dict[str, tuple[str, ...]] = {
    "indicators": FEATURES,
    "indicators + trends and interactions": FEATURES + EXTRA_FEATURES,
    "list size alone": ("log_list",),
    "compact": ("log_list", "log_list_sq", "single_handed", "small_x_single", "list_change_1y", "gp_per_1k",
                "partner_loss"),
    "compact + change": ("log_list", "log_list_sq", "single_handed", "small_x_single", "list_change_1y",
                         "list_change_2y", "gp_per_1k", "gp_per_1k_change", "partner_loss", "locum_share", "imd",
                         "qof_percent"),
}  # fmt: skip
L2_PRIOR = 2.0
MIN_PRESENT = 0.5
MAX_NEWTON_STEPS = 50


@dataclass(frozen=True)
class Model:
    features: tuple[str, ...]
    mean: tuple[float, ...]
    sd: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    training_rows: int
    training_events: int
    inputs: str = ""
    """Which of :data:`CANDIDATES` this model uses."""
    validation: tuple[tuple[str, float], ...] = ()
    """Each candidate's AUC on the latest training year (fitted on the years before it): how the inputs were chosen."""

    def _z(self, frame: pl.DataFrame) -> FloatArray:
        cols = [frame.get_column(f).cast(pl.Float64).fill_null(np.nan).to_numpy() for f in self.features]
        x = np.column_stack(cols).astype(np.float64) if cols else np.zeros((frame.height, 0))
        z = (x - np.asarray(self.mean)) / np.asarray(self.sd)
        return np.where(np.isnan(z), 0.0, z)

    def contributions(self, frame: pl.DataFrame) -> FloatArray:
        """rows x features: each input's contribution to the log-odds."""
        return np.asarray(self._z(frame) * np.asarray(self.coef), dtype=np.float64)

    def predict(self, frame: pl.DataFrame) -> FloatArray:
        """Predicted probability of the event within the horizon, per row."""
        logit = self.intercept + self.contributions(frame).sum(axis=1)
        return np.asarray(1.0 / (1.0 + np.exp(-logit)), dtype=np.float64)


def fit_logistic(x: FloatArray, y: BoolArray, l2: float = L2_PRIOR) -> tuple[float, FloatArray]:
    """(intercept, coefficients) maximising the L2-penalised log-likelihood (intercept unpenalised)."""
    n, k = x.shape
    a = np.column_stack([np.ones(n), x])
    w = np.zeros(k + 1)
    prior = l2 * np.eye(k + 1)
    prior[0, 0] = 0.0
    target = y.astype(np.float64)
    for _ in range(MAX_NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-(a @ w)))
        grad = a.T @ (p - target) + prior @ w
        hess = (a * (p * (1 - p))[:, None]).T @ a + prior
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return float(w[0]), w[1:]


def fit(frames: Sequence[pl.DataFrame], outcomes: Sequence[BoolArray], features: Sequence[str]) -> Model:
    """Fit on the stacked training cohorts (each frame with the ``features`` columns, each outcome aligned to it)."""
    train = pl.concat([f.select(features) for f in frames], how="vertical_relaxed").cast(pl.Float64)
    y = np.concatenate([np.asarray(o, dtype=bool) for o in outcomes])
    if train.height == 0 or not y.any():
        raise ValueError("no training rows with an event: nothing to fit on")
    used = [f for f in features if train.get_column(f).is_not_null().mean() >= MIN_PRESENT]  # type: ignore[operator]
    x = np.column_stack([train.get_column(f).fill_null(np.nan).to_numpy() for f in used]).astype(np.float64)
    mean = np.nanmean(x, axis=0)
    sd = np.nanstd(x, axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    z = np.where(np.isnan(x), 0.0, (x - mean) / sd)
    intercept, coef = fit_logistic(z, y)
    return Model(
        features=tuple(used),
        mean=tuple(float(v) for v in mean),
        sd=tuple(float(v) for v in sd),
        coef=tuple(float(v) for v in coef),
        intercept=intercept,
        training_rows=int(y.size),
        training_events=int(y.sum()),
    )


def choose_inputs(frames: Sequence[pl.DataFrame], outcomes: Sequence[BoolArray]) -> Model:
    """Choose the inputs on the training years only (see the module docstring), then fit on all of them."""
    first = next(iter(CANDIDATES))
    scores: list[tuple[str, float]] = []
    if len(frames) >= 2 and any(o.any() for o in outcomes[:-1]) and outcomes[-1].any():
        for name, inputs in CANDIDATES.items():
            trial = fit(frames[:-1], outcomes[:-1], inputs)
            scores.append((name, roc_auc(trial.predict(frames[-1]), np.asarray(outcomes[-1], dtype=bool))))
    best = max(scores, key=lambda s: s[1])[0] if scores else first  # ties: the earlier candidate
    model = fit(frames, outcomes, CANDIDATES[best])
    return Model(**{**model.__dict__, "inputs": best, "validation": tuple((n, round(a, 4)) for n, a in scores)})


def calibration(p: FloatArray, y: BoolArray) -> tuple[float, float]:
    """(observed / expected events, calibration slope): 1 and 1 when the probabilities are right on average and
    neither over- nor under-confident. The slope is the logistic regression of the outcome on logit(p)."""
    expected = float(p.sum())
    ratio = float(y.sum()) / expected if expected > 0 else float("nan")
    logit = np.log(np.clip(p, 1e-9, 1 - 1e-9) / np.clip(1 - p, 1e-9, 1))
    _, slope = fit_logistic(logit[:, None], y, l2=0.0)
    return ratio, float(slope[0])
