"""Several years of each source, each row tagged with the (dataset, period) it came from, and the one as-of gate.

:class:`History` holds the history tables (workforce by financial year, payments and QOF by year, the QOF list
sizes, CQC, registrations) plus every period's publication date. Each frame carries a ``period`` column naming the
publication it came from; :func:`as_published` keeps only the rows whose (dataset, period) was published on or
before the as-of date, using :func:`analytics.publications.usable` — the single place that decides. Everything that
scores "as of" a date (:func:`national_as_of` for the index, :mod:`analytics.features` for the walk-forward model)
reads the result of :func:`as_published`, never the raw history.

The practice universe (ODS open and close dates) is not gated: it defines who existed on a date and, on the
evaluation side only, what happened to them later; no indicator reads it.

A :class:`History` comes from the database (``apps.indicators.history_db.load_history``: what the service imported)
or, for benchmarks and tests without a database, from the shipped files (:func:`load_history_files`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import polars as pl

from analytics.ingest.parsers import PARSERS, Parsed
from analytics.national import NATIONAL_DIR, SOURCES_TOML, NationalData, fy_label, practice_universe
from analytics.publications import Publication, read_publications, source_files, usable

PERIOD = "period"

# frame name -> the dataset id whose publications gate it
GATED = {
    "workforce": "workforce",
    "payments": "payments",
    "qof": "qof",
    "qof_list": "qof_prevalence",
    "cqc": "cqc",
    "registrations": "registrations",
}


@dataclass(frozen=True)
class History:
    """``practices`` as in :class:`~analytics.national.NationalData`; every gated frame has a ``period`` column:

    * ``workforce``: the workforce parser's columns, ``period`` = ``2021-22`` for ``fy_end_year`` 2022;
    * ``payments``: the payments parser's rows plus ``period`` = the financial year;
    * ``qof``: QOF points rows plus ``period`` = the QOF year; ``qof_list``: practice_code, list_size, ``period``;
    * ``cqc``: CQC rows (practice_code folded to 6 characters) plus ``period`` (``2024-04``);
    * ``registrations``: code, extract_date, patients, ``period`` = the extract date in ISO form.
    """

    practices: pl.DataFrame
    workforce: pl.DataFrame
    payments: pl.DataFrame
    qof: pl.DataFrame
    qof_list: pl.DataFrame
    cqc: pl.DataFrame
    registrations: pl.DataFrame
    publications: tuple[Publication, ...]
    as_of: date | None = None
    """Set by :func:`as_published`: the date this history was cut at (None = everything)."""

    def periods(self, frame: str) -> list[str]:
        """The periods present in one gated frame, oldest first."""
        df: pl.DataFrame = getattr(self, frame)
        return sorted(str(p) for p in df.get_column(PERIOD).unique().drop_nulls().to_list())


def as_published(history: History, as_of: date) -> History:
    """Only the rows whose (dataset, period) was published on or before ``as_of``. The one as-of gate."""
    allowed = usable(history.publications, as_of)

    def gate(frame: str) -> pl.DataFrame:
        periods = [p for d, p in allowed if d == GATED[frame]]
        df: pl.DataFrame = getattr(history, frame)
        return df.filter(pl.col(PERIOD).is_in(periods))

    return replace(
        history,
        as_of=as_of,
        workforce=gate("workforce"),
        payments=gate("payments"),
        qof=gate("qof"),
        qof_list=gate("qof_list"),
        cqc=gate("cqc"),
        registrations=gate("registrations"),
    )


def _latest(df: pl.DataFrame) -> tuple[pl.DataFrame, str]:
    periods = sorted(str(p) for p in df.get_column(PERIOD).unique().drop_nulls().to_list())
    if not periods:
        return df.clear(), ""
    return df.filter(pl.col(PERIOD) == periods[-1]), periods[-1]


def national_as_of(history: History, as_of: date) -> NationalData:
    """The frames the pressure index reads, from what was published by ``as_of``: the latest published payments and
    QOF years, every published workforce year and registrations extract, CQC only once its snapshot was out."""
    h = as_published(history, as_of)
    payments, pay_period = _latest(h.payments)
    qof, qof_period = _latest(h.qof)
    qof_list, qof_list_period = _latest(h.qof_list)
    return NationalData(
        practices=h.practices,
        workforce=h.workforce.drop(PERIOD),
        qof=qof.drop(PERIOD),
        qof_period=qof_period,
        qof_list=qof_list.drop(PERIOD),
        qof_list_period=qof_list_period,
        payments=payments.drop(PERIOD),
        payments_period=pay_period,
        cqc=h.cqc.drop(PERIOD),
        registrations=h.registrations.drop(PERIOD),
        periods={"payments": pay_period, "qof": qof_period, "qof_prevalence": qof_list_period},
        status_published=status_published(history),
    )


def status_published(history: History) -> date | None:
    """When the ODS practice file (statuses: active, dormant...) was published, from the source registry."""
    dates = [p.published for p in history.publications if p.dataset == "epraccur"]
    return max(dates) if dates else None


# ---------------------------------------------------------------------------------------------------------------------
# From the shipped files (no database)
# ---------------------------------------------------------------------------------------------------------------------


def workforce_period() -> pl.Expr:
    """``fy_end_year`` 2022 -> ``2021-22``."""
    y = pl.col("fy_end_year")
    return ((y - 1).cast(pl.Utf8) + "-" + (y % 100).cast(pl.Utf8).str.zfill(2)).alias(PERIOD)


def _stack(frames: Sequence[pl.DataFrame]) -> pl.DataFrame:
    return pl.concat(list(frames), how="diagonal_relaxed") if frames else pl.DataFrame()


def _workforce(parsed: Sequence[Parsed]) -> pl.DataFrame:
    """Years from several files: a newer file owns the years it covers; the two history layouts fill different
    columns of the same practice-years, so they are merged column by column (first non-null)."""
    owned: set[int] = set()
    out: list[pl.DataFrame] = []
    for p in reversed(parsed):  # newest first
        measures = [str(m) for m in p.meta.get("measures", [])]  # type: ignore[attr-defined]
        frame = p.frame.select("practice_code", "fy_end_year", *measures)
        frame = frame.filter(~pl.col("fy_end_year").is_in(sorted(owned)))
        out.append(frame)
        if p.layout == "heec-workforce-year":
            owned |= {int(y) for y in p.frame.get_column("fy_end_year").unique().to_list()}
    stacked = _stack(out)
    measures = [c for c in stacked.columns if c not in ("practice_code", "fy_end_year")]
    merged = stacked.group_by("practice_code", "fy_end_year", maintain_order=True).agg(
        pl.col(c).drop_nulls().first() for c in measures
    )
    return merged.with_columns(workforce_period()).sort("practice_code", "fy_end_year")


def load_history_files(data_dir: Path = NATIONAL_DIR, sources_toml: Path = SOURCES_TOML) -> History:
    """Parse every file (history included) of the sources the index reads, as shipped under ``data_dir``."""
    import tomllib

    config = tomllib.loads(Path(sources_toml).read_text(encoding="utf-8"))
    files = {str(e["id"]): source_files(e, str(e["id"])) for e in config.get("source", [])}

    def parse_all(dataset: str) -> list[Parsed]:
        return [PARSERS[dataset](Path(data_dir) / f.path) for f in files[dataset]]

    epraccur = parse_all("epraccur")[-1]
    mapping = parse_all("mapping")[-1]
    payments = _stack([p.frames["rows"].with_columns(pl.lit(p.period).alias(PERIOD)) for p in parse_all("payments")])
    qof = _stack([p.frame.with_columns(pl.lit(p.period).alias(PERIOD)) for p in parse_all("qof")])
    prevalence = parse_all("qof_prevalence")
    qof_list = _stack(
        [
            p.frames["rows"]
            .filter(pl.col("list_type") == "TOTAL")
            .group_by("practice_code")
            .agg(pl.col("list_size").max())
            .with_columns(pl.lit(p.period).alias(PERIOD))
            for p in prevalence
        ]
    )
    cqc = _stack(
        [
            p.frame.with_columns(pl.col("practice_code").str.slice(0, 6), pl.lit(p.period).alias(PERIOD))
            for p in parse_all("cqc")
        ]
    )
    registrations = _stack(
        [
            p.frame.select("code", "extract_date", "patients").with_columns(
                pl.col("extract_date").cast(pl.Utf8).alias(PERIOD)
            )
            for p in parse_all("registrations")
        ]
    )
    return History(
        practices=practice_universe(epraccur.frame, mapping.frame),
        workforce=_workforce(parse_all("workforce")),
        payments=payments,
        qof=qof,
        qof_list=qof_list,
        cqc=cqc,
        registrations=registrations,
        publications=read_publications(sources_toml),
    )


__all__ = ["History", "as_published", "fy_label", "load_history_files", "national_as_of"]
