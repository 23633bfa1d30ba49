"""Fitting the composite's weights: the coarse, documented procedure behind the shipped weights.

The shipped weights live in the definition files; :func:`fit_weights` is how they were chosen: coordinate ascent of
the back-test's AUC (:mod:`analytics.backtest`) over a small grid, orientation never fitted.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from analytics.metrics import BoolArray, FloatArray, impute_median, roc_auc

WEIGHT_GRID = (0.0, 0.5, 1.0, 2.0, 3.0)


def composite_from(pcts: FloatArray, weights: FloatArray) -> FloatArray:
    """Weighted mean of the percentiles present in each row (NaN = missing), re-normalised; NaN when none."""
    present = ~np.isnan(pcts)
    num = np.where(present, pcts, 0.0) @ weights
    den = present.astype(np.float64) @ weights
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def fit_weights(
    pcts: FloatArray,
    outcome: BoolArray,
    start: Sequence[float],
    fixed: Sequence[bool] | None = None,
    grid: Sequence[float] = WEIGHT_GRID,
    passes: int = 2,
) -> FloatArray:
    """Coordinate ascent of the composite's AUC over a small weight grid.

    ``pcts`` is practices x indicators (oriented percentiles, NaN = missing); ``start`` the starting weights;
    ``fixed`` marks indicators left at their start weight (not assessable in the back-test). Each pass tries every
    grid value for each free indicator in turn and keeps the best (first best on ties, so the grid order favours
    smaller weights). Orientation is never fitted: it comes from the definitions.
    """
    w = np.asarray(start, dtype=np.float64).copy()
    free = [j for j in range(w.size) if not (fixed is not None and fixed[j])]
    y = np.asarray(outcome, dtype=bool)

    def auc_of(weights: FloatArray) -> float:
        if weights.sum() <= 0:
            return -1.0
        return roc_auc(impute_median(composite_from(pcts, weights)), y)

    best = auc_of(w)
    for _ in range(passes):
        for j in free:
            keep = w[j]
            for g in grid:
                w[j] = g
                a = auc_of(w)
                if a > best + 1e-12:
                    best, keep = a, g
            w[j] = keep
    return w
