"""Ranking metrics shared by the back-tests: ROC AUC (Mann-Whitney, ties averaged), vectorised bootstrap AUC,
precision and recall in the top share, median imputation of missing scores."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


# ---------------------------------------------------------------------------------------------------------------------


def average_ranks(x: FloatArray) -> FloatArray:
    """1-based ranks with ties given their average rank (what Mann–Whitney needs). ``x`` must have no NaN."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    if n == 0:
        return np.empty(0)
    if np.isnan(x).any():
        raise ValueError("scores contain NaN: impute or drop missing scores first")
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    new = np.empty(n, dtype=bool)
    new[0] = True
    new[1:] = xs[1:] != xs[:-1]
    starts = np.flatnonzero(new)
    counts = np.diff(np.append(starts, n))
    avg = starts + (counts + 1) / 2.0
    ranks = np.empty(n)
    ranks[order] = np.repeat(avg, counts)
    return ranks


def roc_auc(scores: Sequence[float] | FloatArray, outcome: Sequence[bool] | BoolArray) -> float:
    """ROC AUC by the Mann–Whitney rank formula, ties averaged (a tie between a positive and a negative counts 1/2).

    Higher score = predicted more likely positive. NaN when one class is empty.
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(outcome, dtype=bool)
    if s.shape != y.shape:
        raise ValueError("scores and outcome differ in length")
    n1 = int(y.sum())
    n0 = y.size - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = average_ranks(s)
    return float((r[y].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def precision_recall_at(
    scores: Sequence[float] | FloatArray, outcome: Sequence[bool] | BoolArray, fraction: float
) -> tuple[float, float]:
    """Precision and recall among the top ``ceil(fraction * n)`` scores.

    Ties at the cut-off are shared out at random in expectation: the tied group fills the remaining places with its
    own share of positives. (So a score with many ties, like a flag count, is not helped or hurt by sort order.)
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(outcome, dtype=bool)
    n = s.size
    positives = int(y.sum())
    if n == 0 or not 0 < fraction <= 1:
        return float("nan"), float("nan")
    k = max(1, math.ceil(fraction * n - 1e-9))
    threshold = np.sort(s)[::-1][k - 1]
    above = s > threshold
    tied = s == threshold
    slots = k - int(above.sum())
    expected_tp = float(y[above].sum()) + slots * float(y[tied].mean())
    precision = expected_tp / k
    recall = expected_tp / positives if positives else float("nan")
    return precision, recall


def bootstrap_counts(n: int, n_boot: int, rng: np.random.Generator) -> npt.NDArray[np.int32]:
    """How many times each of ``n`` observations is drawn in each of ``n_boot`` resamples (n_boot x n)."""
    idx = rng.integers(0, n, size=(n_boot, n))
    flat = (idx + (np.arange(n_boot) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=n_boot * n).reshape(n_boot, n).astype(np.int32)


def bootstrap_auc(scores: FloatArray, outcome: BoolArray, counts: npt.NDArray[np.int32]) -> FloatArray:
    """AUC of each bootstrap resample given as per-observation draw counts (vectorised, ties averaged)."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(outcome, dtype=bool)
    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    if pos.size == 0 or neg.size == 0:
        return np.full(counts.shape[0], np.nan)
    order = np.argsort(s[neg], kind="mergesort")
    neg_sorted = s[neg][order]
    lo = np.searchsorted(neg_sorted, s[pos], side="left")
    hi = np.searchsorted(neg_sorted, s[pos], side="right")
    wn = counts[:, neg[order]].astype(np.float64)
    cum = np.zeros((counts.shape[0], neg.size + 1))
    np.cumsum(wn, axis=1, out=cum[:, 1:])
    wp = counts[:, pos].astype(np.float64)
    below = cum[:, lo]
    equal = cum[:, hi] - below
    num = (wp * (below + 0.5 * equal)).sum(axis=1)
    den = wp.sum(axis=1) * cum[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def impute_median(scores: FloatArray) -> FloatArray:
    """Missing scores take the median of the others: neither flagged nor cleared (documented in the report)."""
    s = np.asarray(scores, dtype=np.float64).copy()
    missing = np.isnan(s)
    if missing.all():
        return np.zeros_like(s)
    s[missing] = float(np.median(s[~missing]))
    return s
