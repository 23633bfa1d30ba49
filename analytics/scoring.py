"""The pressure index, in pure polars: indicator values as of a date, percentiles, composite, flags, explanations.

Two steps:

1. :func:`indicator_values` — one row per English GP practice open on ``as_of``, one column per indicator id
   (``<id>``, Float64, null when missing — never 0), and ``<id>__period`` naming the data period used. Only data whose
   period ends on or before ``as_of`` is read:

   * workforce ``fy_end_year`` Y covers FY (Y-1)/Y ending 31 March Y: usable when ``date(Y, 3, 31) <= as_of``; the
     latest usable year is used, and the year before it for year-on-year change;
   * QOF and NHS payments (a financial year each) when the year has ended; QOF 2020-21 list sizes (TOTAL list type)
     likewise, as the earlier list size for list growth;
   * the registrations extract only when its extract date is on or before ``as_of``;
   * CQC ratings (in force April 2024, with their publication year) only when ``rating_year < as_of.year``;
   * IMD 2019 is static, but is read from the usable workforce rows only.

   The frame has no close dates, no payments "atypical" flags and no outcome of any kind.

2. :func:`score` — national and within-ICB percentiles per indicator, oriented so that higher = more pressure
   (0..100, ties averaged), each indicator's contribution to the composite (the weighted mean of the oriented
   national percentiles present, re-normalised over the indicators present; ``coverage`` = share of the weight
   present), national-criteria flags, composite (0..100) and rank (1 = most pressure).

:func:`explain` / :func:`explain_all` turn a scored practice into one :class:`Explanation` per indicator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property, partial
from itertools import repeat
from typing import NamedTuple, cast

import polars as pl

from analytics.indicators import IndicatorDefinition, load_definitions
from analytics.national import NationalData, fy_end, fy_label

PERIOD_SUFFIX = "__period"
PCT_SUFFIX = "__pct"
ICB_PCT_SUFFIX = "__icb_pct"
CONTRIB_SUFFIX = "__contrib"
KEY_COLUMNS = ("practice_code", "practice_name", "icb_code", "as_of")
MIN_COVERAGE_FOR_RANK = 0.5
"""A practice is ranked only when at least this share of the composite's weight has data."""


# ---------------------------------------------------------------------------------------------------------------------
# Indicator values as of a date
# ---------------------------------------------------------------------------------------------------------------------


def open_practices(data: NationalData, as_of: date) -> pl.DataFrame:
    """practice_code, practice_name, icb_code of the practices open on ``as_of`` (opened on or before it, and not
    closed on or before it). The close date is read here only to define who exists; it is not an indicator."""
    p = data.practices
    return p.filter(
        (pl.col("open_date") <= as_of) & (pl.col("close_date").is_null() | (pl.col("close_date") > as_of))
    ).select("practice_code", "practice_name", "icb_code")


@dataclass(frozen=True)
class _Sources:
    """The slices of each dataset usable on ``as_of``, with their period labels (None = nothing usable)."""

    as_of: date
    wf: pl.DataFrame  # latest usable workforce year (practice_code + measures), may be empty
    wf_label: str | None
    wf_mid: date | None
    wf_prev: pl.DataFrame  # practice_code, gp_fte_prev
    wf_prev_label: str | None
    imd: pl.DataFrame  # practice_code, imd_score
    qof: pl.DataFrame
    qof_label: str | None
    qof_list_date: date | None
    qof_list: pl.DataFrame  # earlier list (QOF 2020-21 TOTAL)
    qof_list_label: str | None
    qof_list_date_early: date | None
    pay: pl.DataFrame
    pay_label: str | None
    pay_mid: date | None
    reg: pl.DataFrame  # practice_code, reg_patients, reg_date
    cqc: pl.DataFrame  # practice_code, cqc_rating, cqc_year


_CQC_ORDINAL = {"Outstanding": 0.0, "Good": 1.0, "Requires improvement": 2.0, "Inadequate": 3.0}


def _sources(data: NationalData, as_of: date) -> _Sources:
    wf = data.workforce
    years = sorted(int(y) for y in wf.get_column("fy_end_year").unique().drop_nulls().to_list())
    usable = [y for y in years if date(y, 3, 31) <= as_of]
    cur = usable[-1] if usable else None
    prev = cur - 1 if cur is not None and cur - 1 in years else None
    measures = [
        "patients",
        "gp_fte",
        "gp_hc",
        "locum_trainee_fte",
        "nurse_fte",
        "dpc_fte",
        "partners_per_gp_fte",
    ]
    if cur is not None:
        wf_cur = wf.filter(pl.col("fy_end_year") == cur).select("practice_code", *measures)
    else:
        wf_cur = pl.DataFrame(schema={"practice_code": pl.Utf8, **dict.fromkeys(measures, pl.Float64)})
    if prev is not None:
        wf_prev = wf.filter(pl.col("fy_end_year") == prev).select(
            "practice_code", pl.col("gp_fte").alias("gp_fte_prev")
        )
    else:
        wf_prev = pl.DataFrame(schema={"practice_code": pl.Utf8, "gp_fte_prev": pl.Float64})
    # IMD 2019 is static, but it is still read only from usable years (latest first), so that rows of later years
    # can never change an as-of value.
    imd = (
        wf.filter(pl.col("imd_score").is_not_null() & pl.col("fy_end_year").is_in(usable))
        .sort("fy_end_year", descending=True)
        .group_by("practice_code", maintain_order=True)
        .agg(pl.col("imd_score").first())
    )

    # An empty period means nothing of that source was published by the as-of date (analytics.history).
    qof_ok = bool(data.qof_period) and fy_end(data.qof_period) <= as_of
    qof_list_ok = bool(data.qof_list_period) and fy_end(data.qof_list_period) <= as_of
    pay_ok = bool(data.payments_period) and fy_end(data.payments_period) <= as_of
    reg = data.registrations.filter(pl.col("extract_date") <= as_of)
    reg = (
        reg.sort("extract_date", descending=True)
        .group_by("code", maintain_order=True)
        .agg(pl.col("patients").first().cast(pl.Float64).alias("reg_patients"), pl.col("extract_date").first())
        .rename({"code": "practice_code", "extract_date": "reg_date"})
    )
    cqc = (
        data.cqc.filter(pl.col("rating_year") < as_of.year)
        .with_columns(pl.col("rating").replace_strict(_CQC_ORDINAL, default=None, return_dtype=pl.Float64).alias("r"))
        .sort(["r", "rating_year"], descending=[True, True])
        .group_by("practice_code", maintain_order=True)
        .agg(pl.col("r").first().alias("cqc_rating"), pl.col("rating_year").first().alias("cqc_year"))
    )
    qof_end = fy_end(data.qof_period).year if qof_ok else 0
    qof_list_end = fy_end(data.qof_list_period).year if qof_list_ok else 0
    pay_end = fy_end(data.payments_period).year if pay_ok else 0
    empty = pl.DataFrame(schema={"practice_code": pl.Utf8})
    return _Sources(
        as_of=as_of,
        wf=wf_cur,
        wf_label=f"workforce FY {fy_label(cur)} (mean)" if cur is not None else None,
        wf_mid=date(cur - 1, 9, 30) if cur is not None else None,
        wf_prev=wf_prev,
        wf_prev_label=(f"workforce FY {fy_label(prev)} to {fy_label(cur)}" if cur is not None and prev else None),
        imd=imd,
        qof=data.qof.select("practice_code", "list_size", "percent_of_max") if qof_ok else empty,
        qof_label=f"QOF {data.qof_period}" if qof_ok else None,
        qof_list_date=date(qof_end, 1, 1) if qof_ok else None,
        qof_list=data.qof_list.select("practice_code", pl.col("list_size").alias("early_list"))
        if qof_list_ok
        else empty,
        qof_list_label=f"QOF {data.qof_list_period}" if qof_list_ok else None,
        qof_list_date_early=date(qof_list_end, 1, 1) if qof_list_ok else None,
        pay=data.payments.select(
            "practice_code", "registered_patients", "payments_per_weighted_patient", "rurality"
        ).unique("practice_code", keep="first")
        if pay_ok
        else empty,
        pay_label=f"payments {data.payments_period}" if pay_ok else None,
        pay_mid=date(pay_end - 1, 9, 30) if pay_ok else None,
        reg=reg,
        cqc=cqc,
    )


def _ratio(num: pl.Expr, den: pl.Expr, scale: float = 1.0) -> pl.Expr:
    """num/den * scale; null when either is null or den <= 0 (an undefined ratio is missing, not 0 or inf)."""
    return pl.when(den > 0).then(num / den * scale).otherwise(None)


def _wide(base: pl.DataFrame, s: _Sources) -> pl.DataFrame:
    """Join every usable source onto the open practices (no indicator logic yet); absent columns become nulls."""
    df = base
    for frame in (s.wf, s.wf_prev, s.imd, s.qof, s.qof_list, s.pay, s.reg, s.cqc):
        if frame.width > 1:
            df = df.join(frame, on="practice_code", how="left")

    def ensure(col: str, dtype: pl.DataType) -> None:
        nonlocal df
        if col not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=dtype).alias(col))

    for c in ("patients", "gp_fte", "gp_hc", "locum_trainee_fte", "nurse_fte", "dpc_fte", "partners_per_gp_fte"):
        ensure(c, pl.Float64())
    for c in ("gp_fte_prev", "imd_score", "percent_of_max", "registered_patients", "payments_per_weighted_patient"):
        ensure(c, pl.Float64())
    for c in ("list_size", "early_list"):
        ensure(c, pl.Int64())
    ensure("rurality", pl.Utf8())
    ensure("reg_patients", pl.Float64())
    ensure("reg_date", pl.Date())
    ensure("cqc_rating", pl.Float64())
    ensure("cqc_year", pl.Int64())
    return df


IndicatorExprs = tuple[pl.Expr, pl.Expr]
"""(value expression, period expression) of one indicator over the joined frame."""


def _list_size(s: _Sources) -> IndicatorExprs:
    """Latest list snapshot: of the usable sources, the one with the latest reference date wins per practice.

    Reference dates: registrations = the extract date; QOF = 1 January of its year; workforce and payments = the
    middle of their financial year (both are means over it; workforce wins a tie, payments is the fallback).
    """
    one_day = timedelta(days=1)
    candidates: list[tuple[pl.Expr, pl.Expr, pl.Expr]] = []  # (reference date, value, period label)
    if s.pay_label and s.pay_mid:
        label = f"{s.pay_label} (mean registered)"
        candidates.append((pl.lit(s.pay_mid - one_day), pl.col("registered_patients"), pl.lit(label)))
    if s.wf_label and s.wf_mid:
        candidates.append((pl.lit(s.wf_mid), pl.col("patients"), pl.lit(s.wf_label)))
    if s.qof_label and s.qof_list_date:
        label = f"{s.qof_label} (list at 1 Jan {s.qof_list_date.year})"
        candidates.append((pl.lit(s.qof_list_date), pl.col("list_size").cast(pl.Float64), pl.lit(label)))
    reg_label = pl.concat_str(pl.lit("registrations "), pl.col("reg_date").cast(pl.Utf8))
    candidates.append((pl.col("reg_date"), pl.col("reg_patients"), reg_label))
    looked_at = [lbl for lbl in (s.qof_label, s.wf_label, s.pay_label) if lbl]
    value: pl.Expr = pl.lit(None, dtype=pl.Float64)
    period: pl.Expr = pl.lit(", ".join(looked_at) if looked_at else None, dtype=pl.Utf8)
    when: pl.Expr = pl.lit(None, dtype=pl.Date)
    for ref, v, p in candidates:
        take = v.is_not_null() & (v > 0) & ref.is_not_null() & (when.is_null() | (ref >= when))
        value = pl.when(take).then(v).otherwise(value)
        period = pl.when(take).then(p).otherwise(period)
        when = pl.when(take).then(ref).otherwise(when)
    return value, period


def _list_growth(s: _Sources) -> IndicatorExprs:
    """Annualised % change from the QOF 2020-21 list (1 Jan 2021) to the registrations extract when usable, else
    the later QOF list (1 Jan of its year)."""
    if not (s.qof_list_label and s.qof_list_date_early):
        return pl.lit(None, dtype=pl.Float64), pl.lit(None, dtype=pl.Utf8)
    early = pl.col("early_list").cast(pl.Float64)
    early_date = s.qof_list_date_early
    # Fallback: the QOF list at 1 January of its year; a usable registrations extract overrides it.
    later_v: pl.Expr = pl.lit(None, dtype=pl.Float64)
    years: pl.Expr = pl.lit(None, dtype=pl.Float64)
    later_label: pl.Expr = pl.lit("the latest list")
    if s.qof_label and s.qof_list_date:
        qof_ok = pl.col("list_size").is_not_null() & (pl.col("list_size") > 0)
        qof_years = (s.qof_list_date - early_date).days / 365.25
        later_v = pl.when(qof_ok).then(pl.col("list_size").cast(pl.Float64)).otherwise(None)
        years = pl.when(qof_ok).then(pl.lit(qof_years)).otherwise(None)
        later_label = pl.lit(f"{s.qof_label} (1 Jan {s.qof_list_date.year})")
    reg_ok = pl.col("reg_date").is_not_null() & pl.col("reg_patients").is_not_null() & (pl.col("reg_patients") > 0)
    later_v = pl.when(reg_ok).then(pl.col("reg_patients")).otherwise(later_v)
    years = pl.when(reg_ok).then((pl.col("reg_date") - pl.lit(early_date)).dt.total_days() / 365.25).otherwise(years)
    reg_label = pl.concat_str(pl.lit("registrations "), pl.col("reg_date").cast(pl.Utf8))
    later_label = pl.when(reg_ok).then(reg_label).otherwise(later_label)
    ok = early.is_not_null() & (early > 0) & later_v.is_not_null() & (years > 0)
    value = pl.when(ok).then(((later_v / early) ** (1.0 / years) - 1.0) * 100.0).otherwise(None)
    label_early = f"{s.qof_list_label} (1 Jan {early_date.year})"
    period = pl.concat_str(pl.lit(label_early + " to "), later_label)
    return value, period


def _list_change_in_year(s: _Sources) -> IndicatorExprs:
    """% difference between the QOF list at 1 January and the payments year's mean registered list (same FY)."""
    if not (s.qof_label and s.pay_label) or s.qof_label.split()[-1] != s.pay_label.split()[-1]:
        return pl.lit(None, dtype=pl.Float64), pl.lit(None, dtype=pl.Utf8)
    value = _ratio(pl.col("list_size").cast(pl.Float64) - pl.col("registered_patients"), pl.col("registered_patients"))
    return value * 100.0, pl.lit(f"{s.qof_label} list (1 Jan) vs {s.pay_label} mean list")


def _wf(expr: Callable[[], pl.Expr]) -> Callable[[_Sources], IndicatorExprs]:
    def build(s: _Sources) -> IndicatorExprs:
        return expr(), pl.lit(s.wf_label, dtype=pl.Utf8)

    return build


def _gp_fte_change(s: _Sources) -> IndicatorExprs:
    value = _ratio(pl.col("gp_fte") - pl.col("gp_fte_prev"), pl.col("gp_fte_prev"), 100.0)
    return value, pl.lit(s.wf_prev_label, dtype=pl.Utf8)


def _imd(s: _Sources) -> IndicatorExprs:
    return pl.col("imd_score"), pl.lit("IMD 2019 (static)")


def _qof(s: _Sources) -> IndicatorExprs:
    return pl.col("percent_of_max"), pl.lit(s.qof_label, dtype=pl.Utf8)


def _payments(s: _Sources) -> IndicatorExprs:
    return pl.col("payments_per_weighted_patient"), pl.lit(s.pay_label, dtype=pl.Utf8)


def _rurality(s: _Sources) -> IndicatorExprs:
    value = (
        pl.when(pl.col("rurality") == "Rural")
        .then(pl.lit(1.0))
        .when(pl.col("rurality") == "Urban")
        .then(pl.lit(0.0))
        .otherwise(None)
    )
    return value, pl.lit(s.pay_label, dtype=pl.Utf8)


def _cqc(s: _Sources) -> IndicatorExprs:
    period = (
        pl.when(pl.col("cqc_year").is_not_null())
        .then(
            pl.concat_str(
                pl.lit("CQC rating published "), pl.col("cqc_year").cast(pl.Utf8), pl.lit(" (in force Apr 2024)")
            )
        )
        .otherwise(pl.lit(f"CQC ratings published before {s.as_of.year}"))
    )
    return pl.col("cqc_rating"), period


def _clinical_fte() -> pl.Expr:
    return pl.col("gp_fte") + pl.col("locum_trainee_fte") + pl.col("nurse_fte") + pl.col("dpc_fte")


INDICATORS: dict[str, Callable[[_Sources], IndicatorExprs]] = {
    "patients_per_gp_fte": _wf(lambda: _ratio(pl.col("patients"), pl.col("gp_fte"))),
    "patients_per_clinical_fte": _wf(lambda: _ratio(pl.col("patients"), _clinical_fte())),
    "gp_fte": _wf(lambda: pl.col("gp_fte")),
    "gp_fte_change_yoy": _gp_fte_change,
    "locum_trainee_share": _wf(
        lambda: _ratio(pl.col("locum_trainee_fte"), pl.col("gp_fte") + pl.col("locum_trainee_fte"), 100.0)
    ),
    "partners_per_gp": _wf(lambda: pl.col("partners_per_gp_fte")),
    "small_practice": _wf(lambda: pl.col("gp_hc")),
    "list_size": _list_size,
    "list_growth": _list_growth,
    "list_change_in_year": _list_change_in_year,
    "deprivation_imd": _imd,
    "rurality": _rurality,
    "cqc_rating": _cqc,
    "qof_achievement": _qof,
    "payments_per_weighted_patient": _payments,
}
"""How each indicator id is computed (value, period) from the usable sources. A definition file needs an entry."""


def indicator_values(data: NationalData, as_of: date, ids: Iterable[str] | None = None) -> pl.DataFrame:
    """One row per practice open on ``as_of``: practice_code, practice_name, icb_code, as_of, then ``<id>`` (Float64,
    null when missing) and ``<id>__period`` (Utf8) for every indicator in :data:`INDICATORS` (or ``ids``)."""
    wanted = list(INDICATORS) if ids is None else list(ids)
    unknown = [i for i in wanted if i not in INDICATORS]
    if unknown:
        raise KeyError(f"no computation for indicator(s): {', '.join(unknown)}")
    s = _sources(data, as_of)
    wide = _wide(open_practices(data, as_of), s)
    exprs: list[pl.Expr] = []
    for ident in wanted:
        value, period = INDICATORS[ident](s)
        v = value.cast(pl.Float64)
        v = pl.when(v.is_finite()).then(v).otherwise(None)  # NaN/inf would be a bug upstream; never let it through
        exprs.append(v.alias(ident))
        exprs.append(period.cast(pl.Utf8).alias(ident + PERIOD_SUFFIX))
    out = wide.select("practice_code", "practice_name", "icb_code", pl.lit(as_of, dtype=pl.Date).alias("as_of"), *exprs)
    return out.sort("practice_code")


# ---------------------------------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------------------------------


def percentile_expr(value: pl.Expr, high_is_worse: bool) -> pl.Expr:
    """Oriented percentile 0..100 (100 = most pressure), ties averaged, null where the value is null.

    ``100 * (average rank - 1) / (n - 1)`` over the non-null values; a single value (or all tied) gives 50.
    Use ``.over(...)`` on the result for a within-group percentile.
    """
    oriented = value if high_is_worse else -value
    n = oriented.count()
    rank = oriented.rank("average")
    return pl.when(oriented.is_null()).then(None).when(n > 1).then((rank - 1.0) / (n - 1.0) * 100.0).otherwise(50.0)


@dataclass(frozen=True)
class Scored:
    """The index for one set of practices.

    ``frame`` has practice_code, practice_name, icb_code, as_of, composite (0..100, null when no weighted indicator
    is present), coverage (share of the total weight present, 0..1), rank (1 = most pressure; null when coverage
    is below ``min_coverage``), flags (list of the
    national-criteria labels met), flag_count, and per indicator ``<id>`` (value), ``<id>__period``, ``<id>__pct``
    (national percentile), ``<id>__icb_pct`` (within-ICB percentile), ``<id>__contrib`` (points of the composite).
    """

    frame: pl.DataFrame
    definitions: tuple[IndicatorDefinition, ...]

    @cached_property
    def _index(self) -> dict[str, int]:
        return {code: i for i, code in enumerate(self.frame.get_column("practice_code").to_list())}

    def row(self, practice_code: str) -> dict[str, object]:
        i = self._index.get(practice_code)
        if i is None:
            raise KeyError(f"practice {practice_code} is not in this score (not open on the as-of date?)")
        return self.frame.row(i, named=True)


def score(
    values: pl.DataFrame,
    definitions: Sequence[IndicatorDefinition] | None = None,
    min_coverage: float = MIN_COVERAGE_FOR_RANK,
) -> Scored:
    """Percentiles, contributions, flags, composite and rank for every row of ``values``.

    ``values`` needs ``practice_code``, ``icb_code`` and a Float64 column per definition id (``<id>__period``
    optional). Missing values stay null: they get no percentile, no contribution and no flag, and the composite is
    re-normalised over the weight present. Every practice with any weighted indicator gets a composite, but only
    those with ``coverage >= min_coverage`` get a rank: a composite re-normalised over one or two indicators is
    shown, not ranked against complete ones.
    """
    defs = tuple(definitions) if definitions is not None else tuple(load_definitions())
    missing = [d.id for d in defs if d.id not in values.columns]
    if missing:
        raise KeyError(f"values lack indicator column(s): {', '.join(missing)}")
    for key in ("practice_code", "icb_code"):
        if key not in values.columns:
            raise KeyError(f"values lack the {key!r} column")
    total_weight = sum(d.weight for d in defs)

    clean = [
        pl.col(d.id).cast(pl.Float64).fill_nan(None).alias(d.id) for d in defs
    ]  # NaN would rank as largest: treat as missing
    df = values.with_columns(clean)
    pct = [percentile_expr(pl.col(d.id), d.high_is_worse).alias(d.id + PCT_SUFFIX) for d in defs]
    icb = [percentile_expr(pl.col(d.id), d.high_is_worse).over("icb_code").alias(d.id + ICB_PCT_SUFFIX) for d in defs]
    df = df.with_columns(pct + icb)
    present_weight = (
        pl.sum_horizontal([pl.when(pl.col(d.id).is_not_null()).then(pl.lit(d.weight)).otherwise(0.0) for d in defs])
        if defs
        else pl.lit(0.0)
    )
    df = df.with_columns(present_weight.alias("_w"))
    # Weights too small to matter (a subnormal float, say) count as no weight: dividing by them gives inf/NaN.
    contrib = [
        pl.when(pl.col("_w") > WEIGHT_EPSILON)
        .then(pl.col(d.id + PCT_SUFFIX) * d.weight / pl.col("_w"))
        .otherwise(None)
        .alias(d.id + CONTRIB_SUFFIX)
        for d in defs
    ]
    df = df.with_columns(contrib)
    composite = (
        pl.when(pl.col("_w") > WEIGHT_EPSILON)
        .then(pl.sum_horizontal([pl.col(d.id + CONTRIB_SUFFIX).fill_null(0.0) for d in defs]).clip(0.0, 100.0))
        .otherwise(None)
    )
    coverage = (
        (pl.col("_w") / total_weight).fill_nan(0.0).clip(0.0, 1.0)
        if total_weight > WEIGHT_EPSILON
        else pl.lit(None, dtype=pl.Float64)
    )
    flagged = [d for d in defs if d.flag is not None]
    if flagged:
        flags = pl.concat_list(
            [
                pl.when(d.flag.expr(d.id)).then(pl.lit(d.flag.label)).otherwise(pl.lit(None, dtype=pl.Utf8))
                for d in flagged
                if d.flag is not None
            ]
        ).list.drop_nulls()
    else:
        flags = pl.lit([], dtype=pl.List(pl.Utf8))
    df = df.with_columns(composite.alias("composite"), coverage.alias("coverage"), flags.alias("flags"))
    df = df.with_columns(
        pl.col("flags").list.len().cast(pl.Int64).alias("flag_count"),
        pl.when(pl.col("coverage") >= min_coverage)
        .then(pl.col("composite"))
        .otherwise(None)
        .rank("min", descending=True)
        .cast(pl.Int64)
        .alias("rank"),
    )
    keys = [c for c in KEY_COLUMNS if c in df.columns]
    per_indicator = []
    for d in defs:
        per_indicator += [d.id]
        if d.id + PERIOD_SUFFIX in df.columns:
            per_indicator.append(d.id + PERIOD_SUFFIX)
        per_indicator += [d.id + PCT_SUFFIX, d.id + ICB_PCT_SUFFIX, d.id + CONTRIB_SUFFIX]
    frame = df.select(*keys, "composite", "coverage", "rank", "flags", "flag_count", *per_indicator)
    return Scored(frame=frame, definitions=defs)


# ---------------------------------------------------------------------------------------------------------------------
# Explanations
# ---------------------------------------------------------------------------------------------------------------------


class Explanation(NamedTuple):
    """One indicator of one practice, ready to show: value, percentiles, contribution, period and a sentence.

    Immutable (a named tuple: cheap enough to build for every indicator of every practice in well under a second).
    """

    indicator_id: str
    title: str
    group: str
    value: float | None
    value_text: str
    unit: str
    national_percentile: float | None
    icb_percentile: float | None
    contribution: float | None
    weight: float
    period: str | None
    flagged: bool
    flag_label: str | None
    sentence: str

    @property
    def missing(self) -> bool:
        return self.value is None


_new_explanation = partial(tuple.__new__, Explanation)
"""Build an :class:`Explanation` from a full row tuple without NamedTuple's per-call checks (hot loop)."""


def format_number(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def format_value(d: IndicatorDefinition, value: float | None) -> str:
    """The value as shown: coded values as words, ``%`` and ``£`` attached, thousands separated."""
    if value is None:
        return "missing"
    label = d.label_for(value)
    if label is not None:
        return label
    decimals = d.decimals if d.decimals is not None else (0 if d.unit == "patients" else 2 if d.unit == "£" else 1)
    return _with_unit(d, format_number(value, decimals))


def _percent_suffix(unit: str) -> str:
    """``%`` -> ``%``; ``% a year`` -> ``% a year``; anything else -> no suffix (the title names the unit)."""
    return unit if unit == "%" or unit.startswith("% ") else ""


def _with_unit(d: IndicatorDefinition, text: str) -> str:
    if d.unit == "£":
        return ("-£" + text[1:]) if text.startswith("-") else "£" + text
    return text + _percent_suffix(d.unit)


def threshold_text(d: IndicatorDefinition, value: float) -> str:
    """A criterion threshold without spurious decimals: 85%, 4,000, 1.5, -20%."""
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,g}"
    return _with_unit(d, text)


_OP_WORDS = {"<": "below", "<=": "at or below", ">": "above", ">=": "at or above"}


def _flag_text(d: IndicatorDefinition) -> str:
    flag = d.flag
    assert flag is not None
    if flag.op == "in" or isinstance(flag.value, tuple):
        return f"meets the criterion: {flag.label}"
    threshold = threshold_text(d, float(flag.value))
    text = f"{_OP_WORDS[flag.op]} the {threshold} criterion"
    return text if threshold in flag.label else f"{text} ({flag.label})"


def _value_texts(d: IndicatorDefinition, values: Sequence[float | None]) -> list[str]:
    """:func:`format_value` over a column (one format string, no per-value branching on the definition)."""
    if d.unit == "£":
        return [format_value(d, v) for v in values]
    labels = dict(d.value_labels)
    decimals = d.decimals if d.decimals is not None else (0 if d.unit == "patients" else 1)
    fmt = "{:,.%df}" % decimals  # noqa: UP031 - builds a format string
    suffix = _percent_suffix(d.unit)
    if labels:
        return ["missing" if v is None else labels[v] if v in labels else fmt.format(v) + suffix for v in values]
    return ["missing" if v is None else fmt.format(v) + suffix for v in values]


WEIGHT_EPSILON = 1e-12


def rank_words(high_is_worse: bool) -> tuple[str, str]:
    """Words for (the pressure end, the other end) of an indicator, so a small list reads "lowest 1%"."""
    return ("top", "bottom") if high_is_worse else ("lowest", "highest")


def _rank_text_expr(pct: pl.Expr, high_is_worse: bool = True) -> pl.Expr:
    """'top 5% nationally' / 'lowest 5% nationally' at the pressure end, else 'bottom 20%' / 'highest 20%'.

    ``pct`` is the oriented percentile (higher = more pressure); null where there is no percentile.
    """
    worse, better = rank_words(high_is_worse)
    top = (100.0 - pct).round(0).clip(lower_bound=1.0).cast(pl.Int64).cast(pl.Utf8)
    bottom = pct.round(0).clip(lower_bound=1.0).cast(pl.Int64).cast(pl.Utf8)
    return (
        pl.when(pct.is_null())
        .then(None)
        .when(pct >= 50)
        .then(pl.concat_str(pl.lit(f"{worse} "), top, pl.lit("% nationally")))
        .otherwise(pl.concat_str(pl.lit(f"{better} "), bottom, pl.lit("% nationally")))
    )


def _missing_reason_expr(d: IndicatorDefinition, period: pl.Expr, as_of: date | None) -> pl.Expr:
    when = as_of.isoformat() if as_of is not None else "the as-of date"
    if d.missing_text:
        pieces = d.missing_text.replace("{as_of}", when).split("{period}")
        exprs: list[pl.Expr] = [pl.lit(pieces[0])]
        for piece in pieces[1:]:
            exprs += [period.fill_null("—"), pl.lit(piece)]
        return pl.concat_str(exprs)
    return (
        pl.when(period.is_null())
        .then(pl.lit(f"no {d.dataset} data for a period ending on or before {when}"))
        .otherwise(pl.concat_str(pl.lit("no value for this practice in "), period))
    )


def _sentence_exprs(d: IndicatorDefinition, as_of: date | None) -> tuple[pl.Expr, pl.Expr]:
    """(sentence, flagged) expressions for one indicator over a scored frame that has ``<id>__text`` added."""
    value, pct = pl.col(d.id), pl.col(d.id + PCT_SUFFIX)
    period = pl.col(d.id + PERIOD_SUFFIX)
    flagged = d.flag.expr(d.id) if d.flag is not None else pl.lit(False)
    rank = _rank_text_expr(pct, d.high_is_worse)
    sep = ": " if d.unit in ("rating", "category") else " "
    head = pl.concat_str(pl.lit(d.title + sep), pl.col(d.id + "__text"))
    tail = rank
    if d.flag is not None:
        criterion = pl.lit(_flag_text(d))
        tail = (
            pl.when(flagged & rank.is_not_null())
            .then(pl.concat_str(criterion, pl.lit("; "), rank))
            .when(flagged)
            .then(criterion)
            .otherwise(rank)
        )
    sentence = (
        pl.when(value.is_null())
        .then(pl.concat_str(pl.lit(f"{d.title}: missing ("), _missing_reason_expr(d, period, as_of), pl.lit(")")))
        .when(tail.is_not_null())
        .then(pl.concat_str(head, pl.lit(" — "), tail))
        .otherwise(head)
    )
    return sentence.alias(d.id + "__sentence"), flagged.fill_null(False).alias(d.id + "__flagged")


def _explanations(scored: Scored, indices: Sequence[int] | None = None) -> list[list[Explanation]]:
    f = scored.frame if indices is None else scored.frame[list(indices)]
    n = f.height
    first = f.get_column("as_of").drop_nulls().head(1).to_list() if "as_of" in f.columns else []
    as_of = first[0] if first and isinstance(first[0], date) else None
    defs = scored.definitions
    values = {d.id: f.get_column(d.id).fill_nan(None).to_list() for d in defs}
    texts = {d.id: _value_texts(d, values[d.id]) for d in defs}
    extra = [pl.Series(d.id + "__text", texts[d.id], dtype=pl.Utf8) for d in defs]
    missing_periods = [
        pl.lit(None, dtype=pl.Utf8).alias(d.id + PERIOD_SUFFIX) for d in defs if d.id + PERIOD_SUFFIX not in f.columns
    ]
    g = f.with_columns(extra).with_columns(missing_periods)
    exprs = [e for d in defs for e in _sentence_exprs(d, as_of)]
    built = g.select(exprs) if exprs else g.clear()
    columns: list[list[Explanation]] = []
    for d in defs:
        flagged = built.get_column(d.id + "__flagged").to_list()
        label = d.flag.label if d.flag is not None else None
        rows = zip(
            repeat(d.id, n),
            repeat(d.title, n),
            repeat(d.group, n),
            values[d.id],
            texts[d.id],
            repeat(d.unit, n),
            f.get_column(d.id + PCT_SUFFIX).to_list(),
            f.get_column(d.id + ICB_PCT_SUFFIX).to_list(),
            f.get_column(d.id + CONTRIB_SUFFIX).to_list(),
            repeat(d.weight, n),
            g.get_column(d.id + PERIOD_SUFFIX).to_list(),
            flagged,
            [label if x else None for x in flagged],
            built.get_column(d.id + "__sentence").to_list(),
            strict=True,
        )
        columns.append(cast(list[Explanation], list(map(_new_explanation, rows))))
    return [list(row) for row in zip(*columns, strict=True)] if columns else [[] for _ in range(n)]


def explain(scored: Scored, practice_code: str) -> list[Explanation]:
    """One :class:`Explanation` per indicator for one practice, in definition order."""
    i = scored._index.get(practice_code)
    if i is None:
        raise KeyError(f"practice {practice_code} is not in this score (not open on the as-of date?)")
    return _explanations(scored, [i])[0]


def explain_all(scored: Scored) -> dict[str, list[Explanation]]:
    """Explanations for every practice (one pass over the columns; fast enough for the whole country)."""
    codes = scored.frame.get_column("practice_code").to_list()
    return dict(zip(codes, _explanations(scored), strict=True))


def score_as_of(data: NationalData, as_of: date, definitions: Sequence[IndicatorDefinition] | None = None) -> Scored:
    """Convenience: :func:`indicator_values` then :func:`score` with the shipped (or given) definitions."""
    defs = list(definitions) if definitions is not None else load_definitions()
    return score(indicator_values(data, as_of, [d.id for d in defs]), defs)
