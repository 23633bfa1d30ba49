"""Indicators of change for the walk-forward model, from what was published by the as-of date only.

:func:`features` takes a :class:`~analytics.history.History` already cut by :func:`~analytics.history.as_published`
(it refuses one that was not) and returns one row per practice in the cohort with the model's inputs:

=====================  ==============================================================================================
column                 meaning (workforce = the latest published financial-year mean, "Y"; Y-1, Y-2 the years before)
=====================  ==============================================================================================
log_list               log registered patients, year Y
list_change_1y         log(list now / list a year before), lineage-adjusted: registrations extracts (see below), else
                       the workforce list of Y and Y-1
list_change_2y         log(list now / list two years before), the same way
log_gp_fte             log(1 + fully qualified GP FTE), year Y
gp_fte_change          log(1 + GP FTE Y) - log(1 + GP FTE Y-1), lineage-adjusted
single_handed          1 when the qualified GP headcount is at most 1 (null when not reported)
log_patients_per_gp    log(patients per qualified GP FTE), GP FTE floored at 0.1
locum_share            locum and trainee FTE / all GP FTE (from FY 2018/19 on: the series breaks before it)
admin_per_10k          admin FTE per 10,000 patients
admin_change           log(1 + admin FTE Y) - log(1 + admin FTE Y-1), lineage-adjusted
nurse_per_10k          nurse FTE per 10,000 patients
pay_per_weighted       log £ per weighted patient, latest published payments year
pay_change             change in log £ per registered patient between the two latest published payments years
qof_percent            QOF points as % of the maximum, latest published QOF year
imd                    IMD 2019 score (static)
small_and_shrinking    1 when the list is under 4,000 and fell over the year (an interaction)
log_list_sq            log_list squared (risk need not fall evenly with size)
small_x_single         1 when single-handed and the list is under 4,000 (an interaction)
gp_per_1k              GP FTE per 1,000 patients, year Y
gp_per_1k_change       GP FTE per 1,000 patients, Y minus Y-1 (lineage-adjusted)
partner_loss           1 when partner FTE fell by more than 0.5 from Y-1 to Y (lineage-adjusted)
list_x_change          log_list x list_change_1y (shrinking matters more for a small list)
=====================  ==============================================================================================

**List change from the registrations history**: when the published registrations extracts include the latest one
by the as-of date and the extract 12 (24) months before it, the change is read from them (the registered list on a
date, not a year's mean); a practice without both extracts falls back to the workforce years.

**Mergers are not growth**: a practice that absorbed another between two years compares its list with the two
lists added together in the earlier year. The lineage links used are those whose predecessor had stopped by the
as-of date (:func:`analytics.disappearances.through_lineage`), so no later knowledge enters.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from analytics.disappearances import through_lineage
from analytics.history import History, status_published

FEATURES = (
    "log_list",
    "list_change_1y",
    "list_change_2y",
    "log_gp_fte",
    "gp_fte_change",
    "single_handed",
    "log_patients_per_gp",
    "locum_share",
    "admin_per_10k",
    "admin_change",
    "nurse_per_10k",
    "pay_per_weighted",
    "pay_change",
    "qof_percent",
    "imd",
    "small_and_shrinking",
)
# Tried for issue 18 §3 (trends, interactions, list-size-relative measures); which set a model uses is chosen on
# earlier years only (analytics.walkforward.choose_inputs).
EXTRA_FEATURES = (
    "log_list_sq",
    "small_x_single",
    "gp_per_1k",
    "gp_per_1k_change",
    "partner_loss",
    "list_x_change",
)
ALL_FEATURES = FEATURES + EXTRA_FEATURES
PARTNER_LOSS_FTE = 0.5  # a fall of more than half a full-time partner between the two latest years
LOCUM_SERIES_FROM = 2019  # fy_end_year: locum+trainee FTE more than doubles 2018 -> 2019 (definitional break)
SMALL_LIST = 4000


def _adjusted(wf: pl.DataFrame, year: int, current: set[str], links: pl.DataFrame, cols: list[str]) -> pl.DataFrame:
    """``cols`` of ``year`` per practice, with each absorbed predecessor (gone by the current year) added to its
    successor: the like-for-like footprint of today's practice in an earlier year."""
    rows = wf.filter(pl.col("fy_end_year") == year).select("practice_code", *cols)
    mapped = rows.join(links, left_on="practice_code", right_on="predecessor", how="left").with_columns(
        pl.when(pl.col("successor").is_not_null() & ~pl.col("practice_code").is_in(sorted(current)))
        .then(pl.col("successor"))
        .otherwise(pl.col("practice_code"))
        .alias("practice_code")
    )
    return mapped.group_by("practice_code").agg(
        pl.when(pl.col(c).is_not_null().any()).then(pl.col(c).sum()).otherwise(None).alias(c) for c in cols
    )


def _months_before(d: date, months: int) -> date:
    m = d.year * 12 + d.month - 1 - months
    return date(m // 12, m % 12 + 1, 1)


def registered_list_changes(registrations: pl.DataFrame, links: pl.DataFrame) -> pl.DataFrame:
    """practice_code, reg_change_1y, reg_change_2y: log(list at the latest extract / list at the extract 12 or 24
    months earlier), from registrations rows (code, extract_date, patients) already cut by the as-of gate.

    Each earlier extract is lineage-adjusted like the workforce years: an absorbed predecessor that is not in the
    latest extract counts towards its successor then, so a merger shows as no change rather than growth. Null where
    either extract lacks the practice (or the earlier extract was not published)."""
    schema = {"practice_code": pl.Utf8, "reg_change_1y": pl.Float64, "reg_change_2y": pl.Float64}
    if registrations.height == 0:
        return pl.DataFrame(schema=schema)
    latest = registrations.get_column("extract_date").max()
    assert isinstance(latest, date)
    now = registrations.filter(pl.col("extract_date") == latest).select(
        pl.col("code").alias("practice_code"), pl.col("patients").cast(pl.Float64).alias("now")
    )
    current = set(now.get_column("practice_code").to_list())
    out = now
    for months, name in ((12, "reg_change_1y"), (24, "reg_change_2y")):
        then = registrations.filter(pl.col("extract_date") == _months_before(latest, months)).select(
            pl.col("code").alias("practice_code"), pl.lit(0).alias("fy_end_year"), pl.col("patients").cast(pl.Float64)
        )
        earlier = _adjusted(then, 0, current, links, ["patients"]).rename({"patients": "then"})
        out = (
            out.join(earlier, on="practice_code", how="left")
            .with_columns(
                pl.when((pl.col("now") > 0) & (pl.col("then") > 0))
                .then((pl.col("now") / pl.col("then")).log())
                .alias(name)
            )
            .drop("then")
        )
    return out.select(list(schema))


def cohort(history: History, as_of: date) -> pl.DataFrame:
    """practice_code, icb_code of practices open on ``as_of`` (ODS dates) that made a workforce return in the latest
    published year (an operating practice), not dormant once the ODS status snapshot was published."""
    wf = history.workforce
    if wf.height == 0:
        return pl.DataFrame(schema={"practice_code": pl.Utf8, "icb_code": pl.Utf8})
    latest = int(wf.get_column("fy_end_year").max())  # type: ignore[arg-type]
    active = wf.filter((pl.col("fy_end_year") == latest) & (pl.col("patients") > 0)).select("practice_code")
    p = history.practices
    is_open = (pl.col("open_date") <= as_of) & (pl.col("close_date").is_null() | (pl.col("close_date") > as_of))
    published = status_published(history)
    if published is not None and published <= as_of:  # a 2025 status says nothing about 2021
        is_open = is_open & (pl.col("status") != "dormant")
    open_ = p.filter(is_open).select("practice_code", "icb_code")
    return open_.join(active, on="practice_code", how="semi").sort("practice_code")


def features(history: History, lineage: pl.DataFrame) -> pl.DataFrame:
    """practice_code, icb_code and every column of :data:`FEATURES` (Float64, null when not computable)."""
    if history.as_of is None:
        raise ValueError("features() needs a history cut by as_published(): it reads only published data")
    as_of = history.as_of
    base = cohort(history, as_of)
    # partner FTE = partners per GP FTE x GP FTE, so that it can be added up across a merger like the other measures
    wf = history.workforce.with_columns((pl.col("partners_per_gp_fte") * pl.col("gp_fte")).alias("partner_fte"))
    years = sorted(int(y) for y in wf.get_column("fy_end_year").unique().drop_nulls().to_list())
    if not years:
        return base.with_columns(pl.lit(None, dtype=pl.Float64).alias(f) for f in ALL_FEATURES)
    y = years[-1]
    current = set(wf.filter(pl.col("fy_end_year") == y).get_column("practice_code").to_list())
    links = through_lineage(lineage, as_of)
    measures = ["patients", "gp_fte", "gp_hc", "locum_trainee_fte", "nurse_fte", "admin_fte", "partner_fte"]
    cur = wf.filter(pl.col("fy_end_year") == y).select("practice_code", *measures)
    prev = _adjusted(wf, y - 1, current, links, ["patients", "gp_fte", "admin_fte", "partner_fte"]).rename(
        {"patients": "patients_1", "gp_fte": "gp_fte_1", "admin_fte": "admin_fte_1", "partner_fte": "partner_fte_1"}
    )
    prev2 = _adjusted(wf, y - 2, current, links, ["patients"]).rename({"patients": "patients_2"})
    df = base.join(cur, on="practice_code", how="left")
    df = df.join(prev, on="practice_code", how="left").join(prev2, on="practice_code", how="left")
    df = df.join(_payments(history), on="practice_code", how="left").join(_qof(history), on="practice_code", how="left")
    df = df.join(registered_list_changes(history.registrations, links), on="practice_code", how="left")
    imd = (
        wf.filter(pl.col("imd_score").is_not_null())
        .sort("fy_end_year")
        .group_by("practice_code")
        .agg(pl.col("imd_score").last().alias("imd"))
    )
    df = df.join(imd, on="practice_code", how="left")

    def log_ratio(a: str, b: str) -> pl.Expr:
        return pl.when((pl.col(a) > 0) & (pl.col(b) > 0)).then((pl.col(a) / pl.col(b)).log()).otherwise(None)

    def log1p_diff(a: str, b: str) -> pl.Expr:
        return pl.when((pl.col(a) >= 0) & (pl.col(b) >= 0)).then(pl.col(a).log1p() - pl.col(b).log1p())

    per_10k = 1e4 / pl.col("patients")
    all_gp = pl.col("gp_fte") + pl.col("locum_trainee_fte")
    out = (
        df.with_columns(
            pl.when(pl.col("patients") > 0).then(pl.col("patients").log()).alias("log_list"),
            pl.coalesce("reg_change_1y", log_ratio("patients", "patients_1")).alias("list_change_1y"),
            pl.coalesce("reg_change_2y", log_ratio("patients", "patients_2")).alias("list_change_2y"),
            pl.when(pl.col("gp_fte") >= 0).then(pl.col("gp_fte").log1p()).alias("log_gp_fte"),
            log1p_diff("gp_fte", "gp_fte_1").alias("gp_fte_change"),
            pl.when(pl.col("gp_hc").is_not_null()).then((pl.col("gp_hc") <= 1).cast(pl.Float64)).alias("single_handed"),
            pl.when((pl.col("patients") > 0) & pl.col("gp_fte").is_not_null())
            .then((pl.col("patients") / pl.max_horizontal(pl.col("gp_fte"), pl.lit(0.1))).log())
            .alias("log_patients_per_gp"),
            pl.when((all_gp > 0) & pl.lit(y >= LOCUM_SERIES_FROM))
            .then(pl.col("locum_trainee_fte") / all_gp)
            .alias("locum_share"),
            pl.when(pl.col("patients") > 0).then(pl.col("admin_fte") * per_10k).alias("admin_per_10k"),
            log1p_diff("admin_fte", "admin_fte_1").alias("admin_change"),
            pl.when(pl.col("patients") > 0).then(pl.col("nurse_fte") * per_10k).alias("nurse_per_10k"),
        )
        .with_columns(
            pl.when(pl.col("list_change_1y").is_not_null())
            .then(((pl.col("patients") < SMALL_LIST) & (pl.col("list_change_1y") < 0)).cast(pl.Float64))
            .alias("small_and_shrinking"),
            (pl.col("log_list") ** 2).alias("log_list_sq"),
            (pl.col("single_handed") * (pl.col("patients") < SMALL_LIST).cast(pl.Float64)).alias("small_x_single"),
            pl.when(pl.col("patients") > 0).then(pl.col("gp_fte") * 1000 / pl.col("patients")).alias("gp_per_1k"),
            pl.when((pl.col("patients") > 0) & (pl.col("patients_1") > 0))
            .then(pl.col("gp_fte") * 1000 / pl.col("patients") - pl.col("gp_fte_1") * 1000 / pl.col("patients_1"))
            .alias("gp_per_1k_change"),
            pl.when(pl.col("partner_fte").is_not_null() & pl.col("partner_fte_1").is_not_null())
            .then((pl.col("partner_fte_1") - pl.col("partner_fte") > PARTNER_LOSS_FTE).cast(pl.Float64))
            .alias("partner_loss"),
        )
        .with_columns((pl.col("log_list") * pl.col("list_change_1y")).alias("list_x_change"))
    )
    cast = [pl.col(f).cast(pl.Float64) for f in ALL_FEATURES]
    result = out.select("practice_code", "icb_code", *cast)
    return result.with_columns(pl.when(pl.col(f).is_finite()).then(pl.col(f)).alias(f) for f in ALL_FEATURES)


def _payments(history: History) -> pl.DataFrame:
    """pay_per_weighted (latest published year) and pay_change (log £ per registered patient, latest two years)."""
    pay = history.payments
    periods = sorted(str(p) for p in pay.get_column("period").unique().drop_nulls().to_list()) if pay.height else []
    schema = {"practice_code": pl.Utf8, "pay_per_weighted": pl.Float64, "pay_change": pl.Float64}
    if not periods:
        return pl.DataFrame(schema=schema)

    def year(p: str) -> pl.DataFrame:
        return pay.filter(pl.col("period") == p).unique("practice_code", keep="first")

    latest = year(periods[-1]).select(
        "practice_code",
        pl.when(pl.col("payments_per_weighted_patient") > 0)
        .then(pl.col("payments_per_weighted_patient").log())
        .alias("pay_per_weighted"),
        pl.when(pl.col("registered_patients") > 0)
        .then(pl.col("total_payments_pence") / pl.col("registered_patients"))
        .alias("_pp"),
    )
    if len(periods) < 2:
        return latest.select("practice_code", "pay_per_weighted", pl.lit(None, dtype=pl.Float64).alias("pay_change"))
    before = year(periods[-2]).select(
        "practice_code",
        pl.when(pl.col("registered_patients") > 0)
        .then(pl.col("total_payments_pence") / pl.col("registered_patients"))
        .alias("_pp0"),
    )
    return latest.join(before, on="practice_code", how="left").select(
        "practice_code",
        "pay_per_weighted",
        pl.when((pl.col("_pp") > 0) & (pl.col("_pp0") > 0))
        .then((pl.col("_pp") / pl.col("_pp0")).log())
        .alias("pay_change"),
    )


def _qof(history: History) -> pl.DataFrame:
    qof = history.qof
    if qof.height == 0:
        return pl.DataFrame(schema={"practice_code": pl.Utf8, "qof_percent": pl.Float64})
    latest = max(str(p) for p in qof.get_column("period").unique().to_list())
    return (
        qof.filter(pl.col("period") == latest)
        .select("practice_code", pl.col("percent_of_max").alias("qof_percent"))
        .unique("practice_code", keep="first")
    )
