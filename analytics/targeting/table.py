"""The practice table every targeting model reads: one row per practice, as numpy arrays.

Columns: ``code``, ``name``, ``icb_code``, ``lat``/``lon`` (WGS84, NaN when the practice has no geocoded
location), ``list_size`` (registered patients), ``gp_fte`` (fully qualified GPs, excluding locums and trainees),
``clinical_fte`` (GPs + locums/trainees + nurses + direct patient care staff, as the indicator
``patients_per_clinical_fte`` counts them), ``pressure`` (the pressure-index composite 0–100, NaN when unscored) and
``is_open``. Unknown numbers are NaN, never 0.

:func:`national_table` builds it from the national files (the benches and the back-test); the Django app builds the
same table from the register (:meth:`PracticeTable.from_frame`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from analytics.national import NATIONAL_DIR, NationalData, source_paths

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

COLUMNS = ("code", "name", "icb_code", "lat", "lon", "list_size", "gp_fte", "clinical_fte", "pressure", "is_open")


@dataclass(frozen=True)
class PracticeTable:
    code: tuple[str, ...]
    name: tuple[str, ...]
    icb_code: tuple[str, ...]
    lat: FloatArray
    lon: FloatArray
    list_size: FloatArray
    gp_fte: FloatArray
    clinical_fte: FloatArray
    pressure: FloatArray
    is_open: BoolArray

    def __post_init__(self) -> None:
        n = len(self.code)
        for name in COLUMNS[1:]:
            if len(getattr(self, name)) != n:
                raise ValueError(f"column {name} has {len(getattr(self, name))} rows, code has {n}")

    def __len__(self) -> int:
        return len(self.code)

    @cached_property
    def position(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.code)}

    def index_of(self, code: str) -> int:
        i = self.position.get(code)
        if i is None:
            raise KeyError(f"practice {code} is not in the table")
        return i

    @property
    def has_location(self) -> BoolArray:
        return np.asarray(np.isfinite(self.lat) & np.isfinite(self.lon), dtype=bool)

    @property
    def can_receive(self) -> BoolArray:
        """Open, located and with patients: a practice that can take on a closing practice's patients."""
        return np.asarray(self.is_open & self.has_location & (np.nan_to_num(self.list_size) > 0), dtype=bool)

    @classmethod
    def from_frame(cls, df: pl.DataFrame) -> PracticeTable:
        """From a frame with the :data:`COLUMNS` (``is_open`` optional, default true; nulls become NaN)."""
        if "is_open" not in df.columns:
            df = df.with_columns(pl.lit(True).alias("is_open"))
        missing = [c for c in COLUMNS if c not in df.columns]
        if missing:
            raise KeyError(f"practice frame lacks {', '.join(missing)}")

        def num(col: str) -> FloatArray:
            return df.get_column(col).cast(pl.Float64).fill_null(float("nan")).to_numpy().astype(np.float64)

        def text(col: str) -> tuple[str, ...]:
            return tuple(str(v) if v is not None else "" for v in df.get_column(col).to_list())

        return cls(
            code=text("code"),
            name=text("name"),
            icb_code=text("icb_code"),
            lat=num("lat"),
            lon=num("lon"),
            list_size=num("list_size"),
            gp_fte=num("gp_fte"),
            clinical_fte=num("clinical_fte"),
            pressure=num("pressure"),
            is_open=df.get_column("is_open").fill_null(False).cast(pl.Boolean).to_numpy().astype(bool),
        )

    def to_frame(self) -> pl.DataFrame:
        return pl.DataFrame({c: list(getattr(self, c)) for c in COLUMNS}).with_columns(
            [pl.col(c).fill_nan(None) for c in ("lat", "lon", "list_size", "gp_fte", "clinical_fte", "pressure")]
        )

    def subset(self, rows: Sequence[int] | npt.NDArray[np.int64]) -> PracticeTable:
        idx = np.asarray(rows, dtype=np.int64)
        return PracticeTable(
            code=tuple(self.code[i] for i in idx),
            name=tuple(self.name[i] for i in idx),
            icb_code=tuple(self.icb_code[i] for i in idx),
            lat=self.lat[idx],
            lon=self.lon[idx],
            list_size=self.list_size[idx],
            gp_fte=self.gp_fte[idx],
            clinical_fte=self.clinical_fte[idx],
            pressure=self.pressure[idx],
            is_open=self.is_open[idx],
        )


def load_locations(data_dir: Path = NATIONAL_DIR) -> pl.DataFrame:
    """practice_code, lat, lon from the NHS website GP list (parser ``locations``; 2019 geocoding)."""
    from analytics.ingest.parsers import PARSERS

    path = Path(data_dir) / source_paths()["locations"]
    rows = PARSERS["locations"](path).frames["rows"]
    return rows.filter(pl.col("lat").is_not_null() & (pl.col("code").str.len_chars() == 6)).select(
        pl.col("code").alias("practice_code"), "lat", "lon"
    )


def workforce_as_of(data: NationalData, as_of: date) -> pl.DataFrame:
    """practice_code, patients, gp_fte, clinical_fte of the latest workforce year ending on or before ``as_of``
    (the earliest year when none has ended: the caller is told by the ``fy_end_year`` column)."""
    wf = data.workforce
    years = sorted(int(y) for y in wf.get_column("fy_end_year").unique().drop_nulls().to_list())
    usable = [y for y in years if date(y, 3, 31) <= as_of] or years[:1]
    if not usable:
        return pl.DataFrame(
            schema={
                "practice_code": pl.Utf8,
                "fy_end_year": pl.Int64,
                "wf_patients": pl.Float64,
                "gp_fte": pl.Float64,
                "clinical_fte": pl.Float64,
            }
        )
    year = usable[-1]
    return wf.filter(pl.col("fy_end_year") == year).select(
        "practice_code",
        pl.col("fy_end_year").cast(pl.Int64),
        pl.col("patients").cast(pl.Float64).alias("wf_patients"),
        pl.col("gp_fte").cast(pl.Float64),
        # As the Django WorkforceYear.clinical_fte and the patients_per_clinical_fte indicator count it: no value
        # without a GP FTE; missing other staff groups count as none.
        pl.when(pl.col("gp_fte").is_null())
        .then(None)
        .otherwise(
            pl.sum_horizontal(
                pl.col("gp_fte"),
                pl.col("locum_trainee_fte").fill_null(0.0),
                pl.col("nurse_fte").fill_null(0.0),
                pl.col("dpc_fte").fill_null(0.0),
            )
        )
        .cast(pl.Float64)
        .alias("clinical_fte"),
    )


def national_table(
    data: NationalData,
    locations: pl.DataFrame,
    as_of: date,
    pressure: pl.DataFrame | None = None,
    list_sizes: pl.DataFrame | None = None,
) -> PracticeTable:
    """Every English GP practice with its state on ``as_of``.

    ``is_open``: opened on or before ``as_of`` and not closed by then. ``list_size``: ``list_sizes``
    (practice_code, list_size) when given, else the latest registrations extract on or before ``as_of``, else the
    workforce year's mean patients. FTE from :func:`workforce_as_of`. ``pressure``: practice_code, composite.
    """
    p = data.practices.select(
        pl.col("practice_code"),
        pl.col("practice_name"),
        pl.col("icb_code").fill_null(""),
        ((pl.col("open_date") <= as_of) & (pl.col("close_date").is_null() | (pl.col("close_date") > as_of))).alias(
            "is_open"
        ),
    )
    if list_sizes is None:
        reg = (
            data.registrations.filter(pl.col("extract_date") <= as_of)
            .sort("extract_date", descending=True)
            .group_by("code", maintain_order=True)
            .agg(pl.col("patients").first().cast(pl.Float64).alias("reg_list"))
            .rename({"code": "practice_code"})
        )
    else:
        reg = list_sizes.select("practice_code", pl.col("list_size").cast(pl.Float64).alias("reg_list"))
    wf = workforce_as_of(data, as_of)
    df = (
        p.join(locations, on="practice_code", how="left")
        .join(reg, on="practice_code", how="left")
        .join(wf, on="practice_code", how="left")
    )
    if pressure is not None:
        df = df.join(
            pressure.select("practice_code", pl.col("composite").alias("pressure")), on="practice_code", how="left"
        )
    else:
        df = df.with_columns(pl.lit(None, dtype=pl.Float64).alias("pressure"))
    fallback = pl.col("wf_patients") if list_sizes is None else pl.lit(None, dtype=pl.Float64)
    df = df.select(
        pl.col("practice_code").alias("code"),
        pl.col("practice_name").alias("name"),
        "icb_code",
        "lat",
        "lon",
        pl.coalesce(pl.col("reg_list"), fallback).alias("list_size"),
        "gp_fte",
        "clinical_fte",
        "pressure",
        "is_open",
    )
    return PracticeTable.from_frame(df)
