"""The history the index scores from, read from the database: what the service imported is what the index uses.

Builds an :class:`analytics.history.History` from the register's history tables (practices, workforce years,
payments years, QOF years and list sizes, CQC ratings, registration snapshots); :func:`lineage` and
:func:`closure_labels` give the merger lineage and the closure-or-merger labels as imported. Each period's
publication date comes from the import log (:func:`publications`: recorded when its file was imported or fetched,
else the registry's, else its first import), and the Django-free :func:`analytics.history.as_published` applies the
as-of gate.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from analytics.history import GATED, PERIOD, History, workforce_period
from analytics.publications import Imported, Publication, dated, read_publications
from apps.datasets.models import ImportLog
from apps.datasets.registry import SOURCES_FILE
from apps.practices import models as m


def _frame(rows: list[tuple[Any, ...]], schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema, orient="row")


def _practices() -> pl.DataFrame:
    rows = list(
        m.Practice.objects.values_list(
            "code",
            "name",
            "open_date",
            "close_date",
            "status",
            "icb__code",
            "ods_icb_code",
            "ods_sub_icb_code",
            "postcode",
        )
    )
    df = _frame(
        rows,
        {
            "practice_code": pl.Utf8,
            "practice_name": pl.Utf8,
            "open_date": pl.Date,
            "close_date": pl.Date,
            "status": pl.Utf8,
            "icb": pl.Utf8,
            "ods_icb": pl.Utf8,
            "sub_icb_code": pl.Utf8,
            "postcode": pl.Utf8,
        },
    )
    # The register links the practice to its ICB from the current mapping file, else from ODS (as the files do).
    return df.select(
        "practice_code",
        "practice_name",
        "open_date",
        "close_date",
        "status",
        pl.coalesce("icb", pl.when(pl.col("ods_icb") != "").then(pl.col("ods_icb"))).alias("icb_code"),
        "sub_icb_code",
        "postcode",
    ).sort("practice_code")


WORKFORCE = (
    "patients",
    "gp_fte",
    "locum_trainee_fte",
    "nurse_fte",
    "dpc_fte",
    "admin_fte",
    "admin_manager_fte",
    "admin_reception_fte",
    "admin_telephonist_fte",
    "partners_per_gp_fte",
    "gp_hc",
    "nurse_hc",
    "imd_score",
)


def _workforce() -> pl.DataFrame:
    rows = list(m.WorkforceYear.objects.values_list("practice__code", "fy_end_year", *WORKFORCE, "imd_quintile"))
    schema = {"practice_code": pl.Utf8, "fy_end_year": pl.Int64, **dict.fromkeys(WORKFORCE, pl.Float64)}
    return _frame(rows, {**schema, "imd_quintile": pl.Int64}).with_columns(workforce_period())


def _payments() -> pl.DataFrame:
    rows = list(
        m.PaymentsYear.objects.values_list(
            "practice__code",
            "financial_year",
            "registered_patients",
            "weighted_patients",
            "total_pence",
            "rurality",
            "atypical",
            "contract_type",
            "dispensing",
        )
    )
    df = _frame(
        rows,
        {
            "practice_code": pl.Utf8,
            PERIOD: pl.Utf8,
            "registered_patients": pl.Float64,
            "weighted_patients": pl.Float64,
            "total_payments_pence": pl.Int64,
            "rurality": pl.Utf8,
            "atypical": pl.Utf8,
            "contract_type": pl.Utf8,
            "dispensing": pl.Boolean,
        },
    )
    # the file's "average payments per weighted patient" is total / weighted patients, in pounds
    per_weighted = pl.when(pl.col("weighted_patients") > 0).then(
        pl.col("total_payments_pence") / 100 / pl.col("weighted_patients")
    )
    return df.with_columns(
        per_weighted.alias("payments_per_weighted_patient"),
        pl.when(pl.col("rurality") != "").then(pl.col("rurality")).alias("rurality"),
        pl.when(pl.col("atypical") != "").then(pl.col("atypical")).alias("atypical"),
    )


def _qof() -> tuple[pl.DataFrame, pl.DataFrame]:
    qof = _frame(
        list(
            m.QOFAchievement.objects.values_list("practice__code", "qof_year", "points", "percent_of_max", "list_size")
        ),
        {
            "practice_code": pl.Utf8,
            PERIOD: pl.Utf8,
            "points": pl.Float64,
            "percent_of_max": pl.Float64,
            "list_size": pl.Int64,
        },
    )
    lists = _frame(
        list(m.QOFPrevalence.objects.filter(list_type="TOTAL").values_list("practice__code", "qof_year", "list_size")),
        {"practice_code": pl.Utf8, PERIOD: pl.Utf8, "list_size": pl.Int64},
    )
    qof_list = lists.group_by("practice_code", PERIOD).agg(pl.col("list_size").max()).sort("practice_code")
    return qof, qof_list


def _cqc() -> pl.DataFrame:
    return _frame(
        list(
            m.CQCRating.objects.values_list(
                "practice__code", "location_name", "rating", "rating_year", "inherited", "as_of"
            )
        ),
        {
            "practice_code": pl.Utf8,
            "location_name": pl.Utf8,
            "rating": pl.Utf8,
            "rating_year": pl.Int64,
            "inherited": pl.Boolean,
            PERIOD: pl.Utf8,
        },
    )


def _registrations() -> pl.DataFrame:
    df = _frame(
        list(m.ListSizeSnapshot.objects.values_list("practice__code", "extract_date", "patients")),
        {"code": pl.Utf8, "extract_date": pl.Date, "patients": pl.Int64},
    )
    return df.with_columns(pl.col("extract_date").cast(pl.Utf8).alias(PERIOD))


def publications(history: History) -> tuple[Publication, ...]:
    """Every (dataset, period) the database holds, dated by :func:`analytics.publications.dated` from the import log
    (the date recorded when its file was imported or fetched), else the registry, else its first import."""
    present = {(GATED[frame], p) for frame in GATED for p in history.periods(frame) if p}
    logs = ImportLog.objects.filter(status=ImportLog.Status.SUCCESS, dataset__in=set(GATED.values()))
    imported = [
        Imported(log.dataset, log.period, log.file_name, log.finished_at.date(), log.published, log.published_basis)
        for log in logs.only("dataset", "period", "file_name", "finished_at", "published", "published_basis")
    ]
    return dated(read_publications(SOURCES_FILE), imported, present)


def load_history() -> History:
    qof, qof_list = _qof()
    history = History(
        practices=_practices(),
        workforce=_workforce(),
        payments=_payments(),
        qof=qof,
        qof_list=qof_list,
        cqc=_cqc(),
        registrations=_registrations(),
        publications=(),
    )
    return History(**{**history.__dict__, "publications": publications(history)})


def lineage() -> pl.DataFrame:
    """predecessor, successor, absorbed: the merger lineage as imported (source ``lineage``)."""
    rows = list(m.PracticeLineage.objects.values_list("predecessor_code", "successor_code", "absorbed"))
    return _frame(rows, {"predecessor": pl.Utf8, "successor": pl.Utf8, "absorbed": pl.Date}).sort("predecessor")


def closure_labels() -> pl.DataFrame:
    """practice_code, label (closure | merger): the desk-research outcomes as imported (source ``closure_labels``).
    Evaluation only."""
    rows = list(m.DisappearanceLabel.objects.values_list("practice_code", "outcome"))
    return _frame(rows, {"practice_code": pl.Utf8, "label": pl.Utf8}).sort("practice_code")


def locations() -> pl.DataFrame:
    """practice_code, lat, lon of every practice the register has a location for."""
    rows = list(m.Practice.objects.filter(lat__isnull=False, lon__isnull=False).values_list("code", "lat", "lon"))
    return _frame(rows, {"practice_code": pl.Utf8, "lat": pl.Float64, "lon": pl.Float64})
