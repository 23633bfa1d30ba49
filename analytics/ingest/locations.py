"""NHS website (nhs.uk) GP list with coordinates (``GP.csv``).

Contract: ``parse(path) -> Parsed`` with one frame ``"rows"``:

code (Utf8: ODS code; branch surgeries have the practice code plus three digits, A81013001), name, org_type,
status (Utf8|null), postcode (Utf8|null), lat, lon (Float64|null: WGS84, within the UK when present),
parent_code (Utf8|null: the parent CCG of 2019).

NHS quirks: the file is ISO-8859-1 with ``¬`` (NOT SIGN) as the delimiter and no quoting. Both are sniffed rather
than assumed, so a re-save as UTF-8 or with commas still reads. Coordinates are nhs.uk's 2019 geocoding; a missing
pair is null, a half pair or a point outside the UK skips the row. The file has no date: the period is
:data:`PERIOD`.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from analytics.ingest.base import Parsed, require_columns
from analytics.ingest.convert import Field, Rule, clear_bad_values, convert, postcode_clean, without_row
from analytics.ingest.tables import LOCATION_CODE_RE, POSTCODE_RE, SUB_ICB_CODE_RE, UK_LAT, UK_LON, load_table

DATASET = "locations"
LAYOUT = "nhs-website-gp"
# Snapshot committed in May 2019 (its parents are pre-2020 CCGs); the file itself carries no date.
PERIOD = "2019-05"


def parse(path: Path) -> Parsed:
    path = Path(path)
    table = load_table(path)
    required = ["OrganisationCode", "OrganisationName", "OrganisationType", "OrganisationStatus", "Postcode",
                "Latitude", "Longitude", "ParentODSCode"]  # fmt: skip
    require_columns(path.name, table.header, required)
    fields = [
        Field("OrganisationCode", "code", what="organisation code", required=True, pattern=LOCATION_CODE_RE),
        Field("OrganisationName", "name", what="name", required=True),
        Field("OrganisationType", "org_type"),
        Field("OrganisationStatus", "status"),
        # only the code and the coordinates are used: a bad postcode or parent code keeps the row
        Field("Postcode", "postcode", what="postcode", pattern=POSTCODE_RE, clean=postcode_clean, keep_row=True),
        Field("Latitude", "lat", "float", what="latitude", minimum=UK_LAT[0], maximum=UK_LAT[1]),
        Field("Longitude", "lon", "float", what="longitude", minimum=UK_LON[0], maximum=UK_LON[1]),
        Field("ParentODSCode", "parent_code", what="parent code", pattern=SUB_ICB_CODE_RE, keep_row=True),
    ]
    half = Rule(
        "Longitude",
        pl.col("lat").is_null() != pl.col("lon").is_null(),
        pl.lit("latitude and longitude must both be given or both be missing"),
    )
    frame, cleared = clear_bad_values(table.frame, fields)
    rows, skips = convert(frame, fields, rules=[half], key=["code"], key_label="organisation code")
    rows = without_row(rows)
    return Parsed(
        dataset=DATASET,
        layout=LAYOUT,
        period=PERIOD,
        rows_read=table.rows,
        frames={"rows": rows},
        skipped=skips,
        cleared=cleared,
        meta={
            "encoding": table.encoding,
            "delimiter": table.delimiter,
            "branches": int(rows.get_column("code").str.len_chars().gt(6).sum()),
            "without_coordinates": int(rows.get_column("lat").is_null().sum()),
        },
    )
