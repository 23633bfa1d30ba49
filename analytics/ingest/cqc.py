"""CQC overall ratings of GP practice locations (``cqc.csv``, a DERIVED file).

Not a CQC original: the Health Equity Evidence Centre filtered CQC's April 2024 ratings file to GP practices'
Overall/Overall rating and joined OHID Fingertips IMD 2019 and ICB name. A few practices have two locations, so
the natural key is (practice_code, location_name).

Contract: ``parse(path) -> Parsed`` with one frame ``"rows"``:

practice_code (Utf8: the ODS code CQC gives the location; 18 are branch-site codes, practice code + 3 digits),
location_name (Utf8), rating (Utf8: Outstanding | Good | Requires improvement | Inadequate),
rating_year (Int64: year the rating was published), inherited (Boolean: rating inherited from a predecessor
provider), imd_score (Float64|null), imd_quintile (Int64|null), icb_name (Utf8|null).

Only Overall ratings are expected (``service_population_group`` = ``domain`` = ``Overall``); other rows are skipped.
The file carries no date: the period is :data:`PERIOD`.
"""

from __future__ import annotations

from pathlib import Path

from analytics.ingest.base import Parsed, require_columns
from analytics.ingest.convert import Field, clear_bad_values, convert, without_row
from analytics.ingest.tables import LOCATION_CODE_RE, load_table

DATASET = "cqc"
LAYOUT = "heec-cqc"
# Ratings in force in April 2024: the month of the CQC ratings file HEEC derived this from. Not in the data.
PERIOD = "2024-04"
RATINGS = ("Outstanding", "Good", "Requires improvement", "Inadequate")


def parse(path: Path) -> Parsed:
    path = Path(path)
    table = load_table(path)
    required = [
        "Practice.Code", "Year", "location_name", "service_population_group", "domain", "latest_rating",
        "inherited_rating_y_n", "IMD", "IMD_quintile", "ICB_NAME",
    ]  # fmt: skip
    require_columns(path.name, table.header, required)
    fields = [
        # A few rows carry a branch-site code (practice code + 3 digits, e.g. B87016001): a separately rated location.
        Field("Practice.Code", "practice_code", what="practice code", required=True, pattern=LOCATION_CODE_RE),
        Field("location_name", "location_name", what="location name", required=True),
        Field("latest_rating", "rating", what="rating", required=True, choices=RATINGS),
        Field("Year", "rating_year", "int", what="rating year", required=True, minimum=2010, maximum=2100),
        Field("inherited_rating_y_n", "inherited", "bool", what="inherited flag", required=True),
        # IMD is read from the workforce file; this copy is not used, so a bad value here keeps the rating
        Field("IMD", "imd_score", "float", what="IMD score", maximum=100, keep_row=True),
        Field("IMD_quintile", "imd_quintile", "int", what="IMD quintile", minimum=1, maximum=5, keep_row=True),
        Field("ICB_NAME", "icb_name"),
        # Checked but not output: anything other than the Overall rating would be a different measure.
        Field("service_population_group", "_group", what="population group", choices=("Overall",)),
        Field("domain", "_domain", what="domain", choices=("Overall",)),
    ]
    frame, cleared = clear_bad_values(table.frame, fields)
    rows, skips = convert(frame, fields, key=["practice_code", "location_name"], key_label="practice location")
    rows = without_row(rows).drop("_group", "_domain")
    return Parsed(
        dataset=DATASET,
        layout=LAYOUT,
        period=PERIOD,
        rows_read=table.rows,
        frames={"rows": rows},
        skipped=skips,
        cleared=cleared,
        meta={
            "ratings": dict(sorted(rows.get_column("rating").value_counts().iter_rows())),
            "inherited": int(rows.get_column("inherited").sum()),
            "practices": rows.get_column("practice_code").n_unique(),
        },
    )
