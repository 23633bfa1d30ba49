"""Back-test of the pressure index: would scores computed from older data have picked out practices that closed?

:func:`backtest` scores every practice open on ``as_of`` (default 1 April 2023) from data whose period ended by then
(:func:`analytics.scoring.indicator_values`), then follows the cohort for ``horizon_months``: the outcome is an ODS
close date in ``(as_of, as_of + horizon]``. Close dates and the NHS payments "atypical" flags are read here, for the
cohort and the outcome only; no indicator reads them.

Cohorts:

* **clean** (the headline): practices with a payments 2022-23 row that is not "No registered patients" or "Part year
  of data" (91 of those 96 practices closed within the horizon: their closure was already under way, an
  administrative certainty rather than a prediction). Practices with no payments 2022-23 row at all (56, of which 6
  closed) are left out too, because their atypical status cannot be checked; with them out the cohort is the
  expected ~6,390 practices and ~90 closures;
* the excluded groups, each reported with its own counts and AUC, and the **full** cohort of every open practice.

Methods, each scored the same way (ROC AUC with a seeded bootstrap 95% CI, precision/recall in the top 5% and 10%):
the composite; list size alone (smaller = riskier); the flag count (national 2015 criteria); GP FTE alone
(smaller = riskier, for reference). Indicators in ``blank`` (default: CQC) are treated as unavailable for everyone
in the headline rows, because the CQC file is a snapshot of ratings in force in April 2024: practices that closed
before then have no rating at all, so "rating missing" would leak the outcome (see the "missing data" diagnostic
row). The composite as deployed (with CQC) is reported beside it.

Weights: the shipped weights are in the definition files. :func:`analytics.weights.fit_weights` is the coarse,
documented procedure they were chosen with (coordinate ascent of the AUC over a small grid, orientations fixed by the
definitions). The
result reports the weights that procedure picks in-sample and a split check: fit on half of the ICBs, evaluate on
the other half, repeated with seeded splits, so the composite's figure is not only in-sample.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

from analytics.indicator_values import open_on
from analytics.indicators.definition import IndicatorDefinition, load_definitions
from analytics.metrics import (
    BoolArray,
    FloatArray,
    average_ranks,
    bootstrap_auc,
    bootstrap_counts,
    impute_median,
    precision_recall_at,
    roc_auc,
)
from analytics.national import NationalData
from analytics.scoring import PCT_SUFFIX, PERIOD_SUFFIX, Scored, indicator_values, score
from analytics.weights import composite_from, fit_weights

__all__ = [
    "average_ranks",
    "bootstrap_auc",
    "bootstrap_counts",
    "impute_median",
    "precision_recall_at",
    "roc_auc",
]  # the metrics moved to analytics.metrics; re-exported for existing callers

EXCLUDED_ATYPICAL = ("No registered patients", "Part year of data")


# ---------------------------------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MethodResult:
    method: str
    auc: float
    ci: tuple[float, float] | None
    p5: float
    r5: float
    p10: float
    r10: float
    missing: int = 0


@dataclass(frozen=True)
class CohortResult:
    name: str
    description: str
    n: int
    closures: int
    methods: tuple[MethodResult, ...]

    def method(self, name: str) -> MethodResult:
        for m in self.methods:
            if m.method == name:
                return m
        raise KeyError(name)


@dataclass(frozen=True)
class SplitResult:
    """Fit on half of the ICBs, evaluate on the other half (both ways), over seeded random splits."""

    repeats: int
    fitted: tuple[float, ...]
    shipped: tuple[float, ...]
    list_size: tuple[float, ...]
    flag_count: tuple[float, ...]
    fold_weights: Mapping[str, tuple[float, ...]] = field(default_factory=dict)

    def mean_weight(self, indicator: str) -> float | None:
        ws = self.fold_weights.get(indicator)
        return float(np.mean(ws)) if ws else None

    @staticmethod
    def _ms(xs: tuple[float, ...]) -> str:
        a = np.array([x for x in xs if not math.isnan(x)])
        return f"{a.mean():.3f} ± {a.std(ddof=1) if a.size > 1 else 0.0:.3f}" if a.size else "n/a"

    def as_text(self) -> str:
        return "\n".join(
            [
                f"Split check: fit weights on half of the ICBs, test on the other half ({self.repeats} seeded splits "
                f"x 2 folds = {len(self.fitted)} held-out halves); mean ± sd AUC on the held-out halves:",
                f"  {'composite, weights re-fitted on the training half':58s} {self._ms(self.fitted)}",
                f"  {'composite, shipped weights (chosen on all ICBs: in-sample)':58s} {self._ms(self.shipped)}",
                f"  {'list size alone':58s} {self._ms(self.list_size)}",
                f"  {'flag count':58s} {self._ms(self.flag_count)}",
            ]
        )


COMPOSITE = "composite"
COMPOSITE_DEPLOYED = "composite incl. CQC (as deployed)"
LIST_SIZE = "list size (smaller = riskier)"
FLAG_COUNT = "flag count (2015 criteria)"
FLAG_COUNT_DEPLOYED = "flag count incl. CQC"
GP_FTE = "GP FTE (smaller = riskier)"
MISSINGNESS = "missing data (1 - coverage)"
MISSINGNESS_DEPLOYED = "missing data incl. CQC"


@dataclass(frozen=True)
class BacktestResult:
    as_of: date
    horizon_end: date
    horizon_months: int
    seed: int
    n_boot: int
    cohorts: tuple[CohortResult, ...]
    excluded: Mapping[str, int]
    periods: Mapping[str, tuple[str, ...]]
    blanked: tuple[str, ...]
    shipped_weights: Mapping[str, float]
    fitted_weights: Mapping[str, float]
    split: SplitResult | None
    notes: tuple[str, ...] = field(default=())

    @property
    def headline(self) -> CohortResult:
        return self.cohorts[0]

    def cohort(self, name: str) -> CohortResult:
        for c in self.cohorts:
            if c.name == name:
                return c
        raise KeyError(name)

    def as_text(self) -> str:
        out: list[str] = []
        out.append(
            f"Back-test of the pressure index: scored as of {self.as_of}, closures in "
            f"({self.as_of}, {self.horizon_end}] ({self.horizon_months} months). Bootstrap: {self.n_boot} "
            f"resamples, seed {self.seed}."
        )
        if self.blanked:
            out.append(
                f"Blanked in the headline rows (unavailable for everyone): {', '.join(self.blanked)} — "
                "the CQC file is a snapshot of ratings in force in April 2024, so closed practices lack one."
            )
        out.append("")
        for c in self.cohorts:
            out.append(f"== {c.name}: {c.description} — {c.n:,} practices, {c.closures} closures ==")
            out.append(_table(c))
            out.append("")
        out.append("Excluded from the clean cohort: " + ", ".join(f"{k} {v}" for k, v in self.excluded.items()))
        if self.split is not None:
            out.append("")
            out.append(self.split.as_text())
        out.append("")
        out.append(
            "Weights: shipped (definition files) | picked by fit_weights on the whole clean cohort | mean of the "
            "ICB-half fits"
        )
        for k, w in self.shipped_weights.items():
            fitted = self.fitted_weights.get(k)
            f_text = "fixed (not assessable)" if fitted is None else f"{fitted:g}"
            mean = self.split.mean_weight(k) if self.split is not None and fitted is not None else None
            m_text = "" if mean is None else f"{mean:.2f}"
            out.append(f"  {k:32s} {w:>4g} | {f_text:>22s} | {m_text:>5s}")
        out.append("")
        out.append("Data periods used (as of the scoring date):")
        for k, ps in self.periods.items():
            out.append(f"  {k:32s} {'; '.join(ps) if ps else '(none usable)'}")
        for note in self.notes:
            out.append(f"Note: {note}")
        return "\n".join(out)


def _pct(x: float) -> str:
    return "  n/a" if math.isnan(x) else f"{100 * x:5.1f}"


def _table(c: CohortResult) -> str:
    head = f"  {'method':36s} {'AUC':>6s} {'95% CI':>15s} {'P@5%':>6s} {'R@5%':>6s} {'P@10%':>6s} {'R@10%':>6s}"
    lines = [head]
    for m in c.methods:
        auc = "   n/a" if math.isnan(m.auc) else f"{m.auc:6.3f}"
        ci = f"[{m.ci[0]:.3f}, {m.ci[1]:.3f}]" if m.ci is not None and not math.isnan(m.ci[0]) else ""
        lines.append(
            f"  {m.method:36s} {auc} {ci:>15s} {_pct(m.p5):>6s} {_pct(m.r5):>6s} {_pct(m.p10):>6s} {_pct(m.r10):>6s}"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------------
# The back-test
# ---------------------------------------------------------------------------------------------------------------------


def add_months(d: date, months: int) -> date:
    """``d`` plus ``months`` calendar months (day clipped to the month's length)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    next_first = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_first - date(year, month, 1)).days
    return date(year, month, min(d.day, last_day))


def cohort_frame(data: NationalData, as_of: date, horizon_end: date) -> pl.DataFrame:
    """practice_code, icb_code, closed (outcome), group (clean / excluded reason) of practices open on ``as_of``.

    The only place close dates and the payments atypical flags are read.
    """
    p = data.practices.filter(open_on(data, as_of))  # the same practices as analytics.scoring.open_practices
    pay = data.payments.select("practice_code", "atypical", pl.lit(True).alias("_paid")).unique(
        "practice_code", keep="first"
    )
    p = p.join(pay, on="practice_code", how="left")
    atypical = pl.col("atypical").fill_null("")
    group = (
        pl.when(pl.col("_paid").is_null())
        .then(pl.lit("no payments row"))
        .when(atypical.str.contains(EXCLUDED_ATYPICAL[0], literal=True))
        .then(pl.lit("no registered patients"))
        .when(atypical.str.contains(EXCLUDED_ATYPICAL[1], literal=True))
        .then(pl.lit("part year of data"))
        .otherwise(pl.lit("clean"))
    )
    closed = pl.col("close_date").is_not_null() & (pl.col("close_date") <= horizon_end)
    return p.select("practice_code", "icb_code", closed.alias("closed"), group.alias("group")).sort("practice_code")


def _method_scores(values: pl.DataFrame, blanked: Scored, deployed: Scored, has_blank: bool) -> dict[str, FloatArray]:
    """Score arrays (higher = riskier, NaN = missing) aligned to ``values`` rows (sorted by practice_code)."""

    def col(frame: pl.DataFrame, name: str) -> FloatArray:
        return frame.get_column(name).cast(pl.Float64).fill_null(np.nan).to_numpy().astype(np.float64)

    out: dict[str, FloatArray] = {COMPOSITE: col(blanked.frame, "composite")}
    if has_blank:
        out[COMPOSITE_DEPLOYED] = col(deployed.frame, "composite")
    out[LIST_SIZE] = -col(values, "list_size")
    out[FLAG_COUNT] = col(blanked.frame, "flag_count")
    if has_blank:
        out[FLAG_COUNT_DEPLOYED] = col(deployed.frame, "flag_count")
    out[GP_FTE] = -col(values, "gp_fte")
    out[MISSINGNESS] = 1.0 - col(blanked.frame, "coverage")
    if has_blank:
        out[MISSINGNESS_DEPLOYED] = 1.0 - col(deployed.frame, "coverage")
    return out


def _evaluate(
    name: str,
    description: str,
    mask: BoolArray,
    y_all: BoolArray,
    methods: Mapping[str, FloatArray],
    counts: npt.NDArray[np.int32] | None,
) -> CohortResult:
    y = y_all[mask]
    results = []
    for method, s_all in methods.items():
        raw = s_all[mask]
        s = impute_median(raw)
        auc = roc_auc(s, y)
        ci: tuple[float, float] | None = None
        if counts is not None:
            boots = bootstrap_auc(s, y, counts)
            boots = boots[~np.isnan(boots)]
            if boots.size:
                ci = (float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5)))
        p5, r5 = precision_recall_at(s, y, 0.05)
        p10, r10 = precision_recall_at(s, y, 0.10)
        results.append(MethodResult(method, auc, ci, p5, r5, p10, r10, missing=int(np.isnan(raw).sum())))
    return CohortResult(name, description, int(mask.sum()), int(y.sum()), tuple(results))


def _periods(values: pl.DataFrame, defs: Sequence[IndicatorDefinition]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for d in defs:
        col = d.id + PERIOD_SUFFIX
        if col not in values.columns:
            continue
        present = values.filter(pl.col(d.id).is_not_null())
        counts = present.group_by(col).len().sort("len", descending=True)
        labels = [f"{p} ({n:,})" if counts.height > 1 else str(p) for p, n in counts.iter_rows() if p is not None]
        if len(labels) > 4:
            labels = [*labels[:3], f"... {len(labels) - 3} more"]
        out[d.id] = tuple(labels)
    return out


def backtest(
    data: NationalData,
    as_of: date = date(2023, 4, 1),
    horizon_months: int = 24,
    seed: int = 20230401,
    definitions: Sequence[IndicatorDefinition] | None = None,
    n_boot: int = 1000,
    blank: Sequence[str] = ("cqc_rating",),
    split_repeats: int = 5,
) -> BacktestResult:
    """Score as of ``as_of``, follow closures for ``horizon_months``, compare the composite with the baselines."""
    defs = list(definitions) if definitions is not None else load_definitions()
    ids = [d.id for d in defs]
    for needed in ("list_size", "gp_fte"):
        if needed not in ids:
            ids.append(needed)
    horizon_end = add_months(as_of, horizon_months)
    values = indicator_values(data, as_of, ids)
    blank_ids = tuple(b for b in blank if b in values.columns)
    blanked_values = values.with_columns(pl.lit(None, dtype=pl.Float64).alias(b) for b in blank_ids)
    blanked = score(blanked_values, defs)
    deployed = score(values, defs)

    cohort = cohort_frame(data, as_of, horizon_end)
    codes = values.get_column("practice_code")
    if not codes.equals(cohort.get_column("practice_code")):
        raise RuntimeError("cohort and indicator frames disagree on the practices open at as_of")
    y = cohort.get_column("closed").to_numpy().astype(bool)
    group = np.asarray(cohort.get_column("group").to_list())
    methods = _method_scores(values, blanked, deployed, bool(blank_ids))

    rng = np.random.default_rng(seed)
    clean = group == "clean"
    cohorts = [
        _evaluate(
            "clean cohort",
            "open on the as-of date, payments 2022-23 row not atypical (headline)",
            clean,
            y,
            methods,
            bootstrap_counts(int(clean.sum()), n_boot, rng) if n_boot else None,
        ),
        _evaluate(
            "full cohort",
            "every English GP practice open on the as-of date",
            np.ones_like(clean),
            y,
            methods,
            bootstrap_counts(clean.size, n_boot, rng) if n_boot else None,
        ),
    ]
    excluded: dict[str, int] = {}
    for g in ("no registered patients", "part year of data", "no payments row"):
        mask = group == g
        excluded[g] = int(mask.sum())
        if mask.any():
            cohorts.append(_evaluate(f"excluded: {g}", "reported separately", mask, y, methods, None))

    # Weights: what the fitting procedure picks in-sample, and the split check.
    fit_defs = [d for d in defs if d.id not in blank_ids]
    pcts = np.column_stack(
        [blanked.frame.get_column(d.id + PCT_SUFFIX).cast(pl.Float64).fill_null(np.nan).to_numpy() for d in fit_defs]
    ).astype(np.float64)
    assessable = [bool((~np.isnan(pcts[clean, j])).any()) for j in range(len(fit_defs))]
    fixed = [not a for a in assessable]
    start = [d.weight if f else 1.0 for d, f in zip(fit_defs, fixed, strict=True)]
    fitted_all = fit_weights(pcts[clean], y[clean], start, fixed)
    fitted_weights = {d.id: float(w) for d, w, f in zip(fit_defs, fitted_all, fixed, strict=True) if not f}
    shipped = np.array([d.weight for d in fit_defs])
    split = None
    if split_repeats > 0:
        split_rng = np.random.default_rng([seed, 1])  # independent of n_boot, so the split is reproducible alone
        split = _split_check(
            pcts, y, clean, cohort, methods, shipped, start, fixed, split_repeats, split_rng, [d.id for d in fit_defs]
        )

    notes = (
        "Missing scores are imputed with the cohort median (neither flagged nor cleared); counts per method are in "
        "the 'missing' field of the result.",
        "List size is the most recent usable snapshot (QOF list at 1 Jan 2023, else workforce/payments means).",
        "The 'missing data' row scores practices only by how much of the index is missing: it should be near 0.5; "
        "above that, missingness itself carries outcome information (survivor-biased sources).",
    )
    return BacktestResult(
        as_of=as_of,
        horizon_end=horizon_end,
        horizon_months=horizon_months,
        seed=seed,
        n_boot=n_boot,
        cohorts=tuple(cohorts),
        excluded=excluded,
        periods=_periods(values.filter(pl.Series(clean)), defs),
        blanked=blank_ids,
        shipped_weights={d.id: d.weight for d in defs},
        fitted_weights=fitted_weights,
        split=split,
        notes=notes,
    )


def _split_check(
    pcts: FloatArray,
    y: BoolArray,
    clean: BoolArray,
    cohort: pl.DataFrame,
    methods: Mapping[str, FloatArray],
    shipped: FloatArray,
    start: Sequence[float],
    fixed: Sequence[bool],
    repeats: int,
    rng: np.random.Generator,
    ids: Sequence[str],
) -> SplitResult:
    icb = np.asarray(cohort.get_column("icb_code").fill_null("?").to_list())
    icbs = np.array(sorted(set(icb[clean].tolist())))
    fitted: list[float] = []
    ship: list[float] = []
    size: list[float] = []
    flags: list[float] = []
    weights: list[FloatArray] = []
    for _ in range(repeats):
        half = set(rng.permutation(icbs)[: icbs.size // 2].tolist())
        in_half = np.array([c in half for c in icb])
        for train in (in_half, ~in_half):
            tr = clean & train
            te = clean & ~train
            w = fit_weights(pcts[tr], y[tr], start, fixed)
            weights.append(w)
            fitted.append(roc_auc(impute_median(composite_from(pcts[te], w)), y[te]))
            ship.append(roc_auc(impute_median(composite_from(pcts[te], shipped)), y[te]))
            size.append(roc_auc(impute_median(methods[LIST_SIZE][te]), y[te]))
            flags.append(roc_auc(impute_median(methods[FLAG_COUNT][te]), y[te]))
    fold_weights = {ident: tuple(float(w[j]) for w in weights) for j, ident in enumerate(ids) if not fixed[j]}
    return SplitResult(repeats, tuple(fitted), tuple(ship), tuple(size), tuple(flags), fold_weights)
