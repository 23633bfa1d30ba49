"""Indicator values as of a date, in pure polars: one row per open practice, one column per indicator.

Step 1 of the pressure index (:mod:`analytics.scoring` is step 2). See the :mod:`analytics.scoring` docstring for the
periods each source contributes; the data given here should already be cut to what was published by the as-of date
(:func:`analytics.history.national_as_of`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from analytics.national import NationalData, fy_end, fy_label

PERIOD_SUFFIX = "__period"


def open_practices(data: NationalData, as_of: date) -> pl.DataFrame:
    """practice_code, practice_name, icb_code of the practices open on ``as_of`` (opened on or before it, and not
    closed on or before it) and not dormant in ODS (a dormant code has no patients to support) when the ODS status
    snapshot was published by then. The close date is read here only to define who exists; it is not an indicator."""
    return data.practices.filter(open_on(data, as_of)).select("practice_code", "practice_name", "icb_code")


def open_on(data: NationalData, as_of: date) -> pl.Expr:
    """Open on ``as_of`` by the ODS dates, and not dormant when the status snapshot was published by then."""
    is_open = (pl.col("open_date") <= as_of) & (pl.col("close_date").is_null() | (pl.col("close_date") > as_of))
    if data.status_published is not None and data.status_published <= as_of:
        return is_open & (pl.col("status") != "dormant")
    return is_open


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
