"""Patients Registered at a GP Practice: practice totals (``gp-reg-pat-prac-all.csv``).

Contract: ``parse(path) -> Parsed`` with one frame ``"rows"``, one row per practice:

=================  =========  ========================================================================
column             dtype      meaning
=================  =========  ========================================================================
code               Utf8       practice ODS code
extract_date       Date       the list date (1st of the month)
sub_icb_code       Utf8|null  sub-ICB location ODS code (the CCG code in files before July 2022)
ons_sub_icb_code   Utf8|null  its ONS code (E38...)
postcode           Utf8|null
patients           Int64      registered patients, all ages and sexes
=================  =========  ========================================================================

Layouts: ``sub-icb-2022`` (``SUB_ICB_LOCATION_CODE``, ``ONS_SUB_ICB_LOCATION_CODE``; July 2022 onwards) and
``ccg-legacy`` (``CCG_CODE``, ``ONS_CCG_CODE``). ``EXTRACT_DATE`` has been written ``2025-04-01``, ``01JAN2021``,
``01May2022`` and ``01-Sep-20`` over the years; all are read by :func:`parse_date_any`.

The service reads only the practice code, extract date and patient count: a bad value in the sub-ICB, ONS or
postcode column is blanked and the row kept (``Parsed.cleared``), never the practice dropped.

Since 2023 NHS England publishes the file as ``gp-reg-pat-prac-all.zip``; the zip is read as it comes.

Only practice totals (``TYPE=GP``, ``SEX=ALL``, ``AGE=ALL``) are kept. Other breakdowns, if a file has them, are not
errors: they are left out and counted in ``meta["filtered"]``. The period is the extract date (the commonest one if
rows disagree; all distinct ones are in ``meta["extract_dates"]``).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from analytics.ingest.base import DatasetFormatError, Parsed, require_columns
from analytics.ingest.convert import Field, clear_bad_values, convert, postcode_clean, without_row
from analytics.ingest.tables import (
    MAX_LIST_SIZE,
    ONS_CODE_RE,
    POSTCODE_RE,
    PRACTICE_CODE_RE,
    SUB_ICB_CODE_RE,
    load_table,
)

DATASET = "registrations"
COMMON = ["EXTRACT_DATE", "TYPE", "CODE", "POSTCODE", "SEX", "AGE", "NUMBER_OF_PATIENTS"]
LAYOUTS = {
    "sub-icb-2022": ("SUB_ICB_LOCATION_CODE", "ONS_SUB_ICB_LOCATION_CODE"),
    "ccg-legacy": ("CCG_CODE", "ONS_CCG_CODE"),
}


def detect_layout(header: list[str], file: str) -> str:
    for layout, (code, _) in LAYOUTS.items():
        if code in header:
            require_columns(file, header, [*COMMON, *LAYOUTS[layout]], layout)
            return layout
    try:
        require_columns(file, header, [*COMMON, *LAYOUTS["sub-icb-2022"]], "sub-icb-2022")
    except DatasetFormatError as exc:
        raise DatasetFormatError(f"{exc} (older files have CCG_CODE, ONS_CCG_CODE instead)") from None
    raise AssertionError("unreachable")  # pragma: no cover


def parse(path: Path) -> Parsed:
    path = Path(path)
    table = load_table(path)
    layout = detect_layout(table.header, path.name)
    code_col, ons_col = LAYOUTS[layout]
    df = table.frame
    totals = (pl.col("TYPE") == "GP") & (pl.col("SEX") == "ALL") & (pl.col("AGE") == "ALL")
    kept = df.filter(totals.fill_null(False))
    fields = [
        Field("CODE", "code", what="practice code", required=True, pattern=PRACTICE_CODE_RE),
        Field("EXTRACT_DATE", "extract_date", "date", what="extract date", required=True),
        Field(code_col, "sub_icb_code", what="sub-ICB code", pattern=SUB_ICB_CODE_RE, keep_row=True),
        Field(ons_col, "ons_sub_icb_code", what="ONS sub-ICB code", pattern=ONS_CODE_RE, keep_row=True),
        Field("POSTCODE", "postcode", what="postcode", pattern=POSTCODE_RE, clean=postcode_clean, keep_row=True),
        Field("NUMBER_OF_PATIENTS", "patients", "int", what="number of patients", required=True,
              maximum=MAX_LIST_SIZE),
    ]  # fmt: skip
    kept, cleared = clear_bad_values(kept, fields)
    rows, skips = convert(kept, fields, key=["code"], key_label="practice code")
    dates = rows.get_column("extract_date").value_counts(sort=True)
    if dates.height == 0:
        raise DatasetFormatError(f"{path.name}: no practice-total row with a readable EXTRACT_DATE and patient count")
    return Parsed(
        dataset=DATASET,
        layout=layout,
        period=dates.item(0, "extract_date").isoformat(),
        rows_read=df.height,
        frames={"rows": without_row(rows)},
        skipped=skips,
        cleared=cleared,
        meta={
            "filtered": df.height - kept.height,
            "patients": int(rows.get_column("patients").sum()),
            "extract_dates": sorted(d.isoformat() for d in dates.get_column("extract_date")),
        },
    )
