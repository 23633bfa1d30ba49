"""The shipped national files, parsed once and held as typed polars frames (Django-free).

:func:`load_national` reads ``apps/datasets/sources.toml`` with :mod:`tomllib` (the Django ``datasets`` app reads the
same file) to find each file under ``data/national``, runs the parsers (:data:`analytics.ingest.parsers.PARSERS`) on
them and keeps what the pressure index needs. The practice universe is every **English GP practice** in ODS
epraccur (open, closed or dormant), with its open/close dates, status and ICB: the ICB comes from the October 2025
practice→ICB mapping file where the practice is in it, otherwise from epraccur's high-level health geography.

Periods (see each folder's PROVENANCE.md):

===============  ====================================================================================
frame            period
===============  ====================================================================================
workforce        financial years, ``fy_end_year`` Y = FY (Y-1)/Y ending 31 March Y (2023, 2024, 2025)
qof              QOF 2022-23 (ends 31 March 2023; list size at 1 January 2023)
qof_list         QOF 2020-21 raw prevalence, list size of the TOTAL list type (1 January 2021)
payments         NHS payments 2022-23 (ends 31 March 2023)
cqc              ratings in force April 2024, with the year each was published
registrations    one extract, 1 April 2025
===============  ====================================================================================
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from analytics.ingest.parsers import PARSERS, Parsed

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCES_TOML = REPO_ROOT / "apps" / "datasets" / "sources.toml"
NATIONAL_DIR = REPO_ROOT / "data" / "national"

# The datasets the pressure index reads, by the id used in sources.toml and PARSERS.
NEEDED = ("epraccur", "mapping", "registrations", "workforce", "qof", "qof_prevalence", "payments", "cqc")


def fy_end(label: str) -> date:
    """The last day of a financial year written ``2022-23``: 31 March 2023."""
    start = int(label[:4])
    return date(start + 1, 3, 31)


def fy_label(fy_end_year: int) -> str:
    """``2023`` -> ``2022-23`` (the financial year ending 31 March 2023)."""
    return f"{fy_end_year - 1}-{fy_end_year % 100:02d}"


@dataclass(frozen=True)
class NationalData:
    """Typed frames of the national files the pressure index reads. Built by :func:`load_national`.

    ``practices``: practice_code, practice_name, open_date, close_date (null while open), status, icb_code,
    sub_icb_code, postcode — English GP practices only.
    ``workforce``: the workforce parser's rows (practice_code, fy_end_year, patients, gp_fte, ...).
    ``qof``: QOF achievement rows; ``qof_period`` its financial year (``2022-23``).
    ``qof_list``: practice_code, list_size — the TOTAL list size of the QOF raw prevalence file;
    ``qof_list_period`` its financial year (``2020-21``).
    ``payments``: NHS payments practice rows; ``payments_period`` its financial year.
    ``cqc``: CQC rows with ``practice_code`` folded to the 6-character practice code (branch sites carry a
    3-digit suffix).
    ``registrations``: code, extract_date, patients.
    ``periods``: each dataset's period as the parser reported it.
    """

    practices: pl.DataFrame
    workforce: pl.DataFrame
    qof: pl.DataFrame
    qof_period: str
    qof_list: pl.DataFrame
    qof_list_period: str
    payments: pl.DataFrame
    payments_period: str
    cqc: pl.DataFrame
    registrations: pl.DataFrame
    periods: Mapping[str, str] = field(default_factory=dict)
    status_published: date | None = None
    """When the ODS file that gives each practice's status (active, dormant...) was published; None = unknown. The
    status is a snapshot: a practice dormant in 2025 may have been running in 2023, so it is read only on or after
    this date (:func:`analytics.scoring.open_practices`)."""

    def replace(self, **frames: object) -> NationalData:
        """A copy with some fields replaced (used by tests to alter later data)."""
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values.update(frames)
        return NationalData(**values)


def source_paths(sources_toml: Path = SOURCES_TOML) -> dict[str, str]:
    """Dataset id -> path relative to the national data folder, from sources.toml."""
    with Path(sources_toml).open("rb") as fh:
        config = tomllib.load(fh)
    return {str(s["id"]): str(s["path"]) for s in config.get("source", [])}


def practice_universe(epraccur: pl.DataFrame, mapping: pl.DataFrame | None) -> pl.DataFrame:
    """English GP practices from epraccur; ICB from the mapping file where present, else epraccur's."""
    practices = epraccur.filter(pl.col("is_gp_practice") & pl.col("is_english")).select(
        pl.col("code").alias("practice_code"),
        pl.col("name").alias("practice_name"),
        "open_date",
        "close_date",
        "status",
        pl.col("icb_code").alias("epraccur_icb_code"),
        "sub_icb_code",
        "postcode",
    )
    if mapping is not None and mapping.height:
        icb = mapping.select("practice_code", pl.col("icb_code").alias("mapping_icb_code")).unique(
            "practice_code", keep="first"
        )
        practices = practices.join(icb, on="practice_code", how="left")
    else:
        practices = practices.with_columns(pl.lit(None, dtype=pl.Utf8).alias("mapping_icb_code"))
    return practices.select(
        "practice_code",
        "practice_name",
        "open_date",
        "close_date",
        "status",
        pl.coalesce("mapping_icb_code", "epraccur_icb_code").alias("icb_code"),
        "sub_icb_code",
        "postcode",
    ).sort("practice_code")


def from_parsed(parsed: Mapping[str, Parsed]) -> NationalData:
    """Assemble :class:`NationalData` from parser results keyed by dataset id."""
    cqc = parsed["cqc"].frame.with_columns(pl.col("practice_code").str.slice(0, 6))
    prevalence = parsed["qof_prevalence"].frames["rows"]
    qof_list = (
        prevalence.filter(pl.col("list_type") == "TOTAL")
        .group_by("practice_code")
        .agg(pl.col("list_size").max())
        .sort("practice_code")
    )
    return NationalData(
        practices=practice_universe(parsed["epraccur"].frame, parsed["mapping"].frame),
        workforce=parsed["workforce"].frame,
        qof=parsed["qof"].frame,
        qof_period=parsed["qof"].period,
        qof_list=qof_list,
        qof_list_period=parsed["qof_prevalence"].period,
        payments=parsed["payments"].frames["rows"],
        payments_period=parsed["payments"].period,
        cqc=cqc,
        registrations=parsed["registrations"].frame.select("code", "extract_date", "patients"),
        periods={name: p.period for name, p in parsed.items()},
    )


def load_national(data_dir: Path = NATIONAL_DIR, sources_toml: Path = SOURCES_TOML) -> NationalData:
    """Parse the shipped national files under ``data_dir`` (paths from sources.toml)."""
    paths = source_paths(sources_toml)
    missing = [d for d in NEEDED if d not in paths]
    if missing:
        raise KeyError(f"{sources_toml}: no source entry for {', '.join(missing)}")
    parsed = {d: PARSERS[d](Path(data_dir) / paths[d]) for d in NEEDED}
    return from_parsed(parsed)
