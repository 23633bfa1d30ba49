"""ONS LSOA (December 2011) population-weighted centroids, England and Wales.

Contract: ``parse(path) -> Parsed`` with one frame ``"rows"``, one row per LSOA 2011:

lsoa_code (Utf8, lsoa11cd: E01... England, W01... Wales), lsoa_name (Utf8), lon (Float64, X), lat (Float64, Y).

The ONS CSV export is UTF-8 with a BOM and gives WGS84 decimal degrees in ``X`` (longitude) and ``Y`` (latitude);
points outside the UK are skipped. These are 2011 LSOAs: NHS files since 2024 use LSOA 2021 codes.
Period :data:`PERIOD`.
"""

from __future__ import annotations

from pathlib import Path

from analytics.ingest.base import Parsed, require_columns
from analytics.ingest.convert import Field, convert, without_row
from analytics.ingest.tables import LSOA_CODE_RE, UK_LAT, UK_LON, load_table

DATASET = "lsoa11_centroids"
LAYOUT = "ons-lsoa11-pwc"
PERIOD = "2011-12"  # LSOA December 2011 geography; the file has no date column


def parse(path: Path) -> Parsed:
    path = Path(path)
    table = load_table(path)
    require_columns(path.name, table.header, ["X", "Y", "lsoa11cd", "lsoa11nm"])
    fields = [
        Field("lsoa11cd", "lsoa_code", what="LSOA code", required=True, pattern=LSOA_CODE_RE),
        Field("lsoa11nm", "lsoa_name"),
        Field("X", "lon", "float", what="longitude", required=True, minimum=UK_LON[0], maximum=UK_LON[1]),
        Field("Y", "lat", "float", what="latitude", required=True, minimum=UK_LAT[0], maximum=UK_LAT[1]),
    ]
    rows, skips = convert(table.frame, fields, key=["lsoa_code"], key_label="LSOA")
    rows = without_row(rows)
    return Parsed(
        dataset=DATASET,
        layout=LAYOUT,
        period=PERIOD,
        rows_read=table.rows,
        frames={"rows": rows},
        skipped=skips,
        meta={"english": int(rows.get_column("lsoa_code").str.starts_with("E").sum())},
    )
