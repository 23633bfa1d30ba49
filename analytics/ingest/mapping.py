"""Patients Registered at a GP Practice: practice -> PCN -> sub-ICB -> ICB -> region mapping
(``gp-reg-pat-prac-map.csv``).

Contract: ``parse(path) -> Parsed`` with one frame ``"rows"``, one row per practice:

practice_code, practice_name, postcode, pcn_code (Utf8|null), pcn_name, sub_icb_code, ons_sub_icb_code,
sub_icb_name, icb_code, ons_icb_code, icb_name, region_code, ons_region_code, region_name, supplier (all Utf8),
extract_date (Date).

NHS quirks:

* ``PCN_CODE`` ``U`` with name "Unallocated" marks a practice in no PCN. It becomes a null ``pcn_code`` (the
  name is kept) and is counted in ``meta["unallocated"]``.
* Layout ``sub-icb-2022`` has ``SUB_ICB_LOCATION_*`` and ``ICB_*`` columns. ``ccg-legacy`` files (before July 2022)
  have ``CCG_CODE``/``ONS_CCG_CODE``/``CCG_NAME`` and ``STP_CODE``/``ONS_STP_CODE``/``STP_NAME`` instead; CCG codes
  carried over as sub-ICB codes, STPs became ICBs, so they fill the same canonical columns.
* ``EXTRACT_DATE`` is written ``01Oct2025``; the period is that date (ISO).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from analytics.ingest.base import DatasetFormatError, Parsed, require_columns
from analytics.ingest.convert import Field, clear_bad_values, convert, postcode_clean, without_row
from analytics.ingest.tables import (
    ICB_CODE_RE,
    ONS_CODE_RE,
    PCN_CODE_RE,
    POSTCODE_RE,
    PRACTICE_CODE_RE,
    REGION_CODE_RE,
    SUB_ICB_CODE_RE,
    load_table,
)

DATASET = "mapping"
UNALLOCATED = "U"
COMMON = {
    "practice_code": "PRACTICE_CODE",
    "practice_name": "PRACTICE_NAME",
    "postcode": "PRACTICE_POSTCODE",
    "pcn_code": "PCN_CODE",
    "pcn_name": "PCN_NAME",
    "region_code": "COMM_REGION_CODE",
    "ons_region_code": "ONS_COMM_REGION_CODE",
    "region_name": "COMM_REGION_NAME",
    "extract_date": "EXTRACT_DATE",
}
# The GP clinical-system supplier column is recent; a file without it gets a null supplier rather than an error.
OPTIONAL = {"supplier": "SUPPLIER_NAME"}
GEOGRAPHY = {
    "sub-icb-2022": {
        "sub_icb_code": "SUB_ICB_LOCATION_CODE",
        "ons_sub_icb_code": "ONS_SUB_ICB_LOCATION_CODE",
        "sub_icb_name": "SUB_ICB_LOCATION_NAME",
        "icb_code": "ICB_CODE",
        "ons_icb_code": "ONS_ICB_CODE",
        "icb_name": "ICB_NAME",
    },
    "ccg-legacy": {
        "sub_icb_code": "CCG_CODE",
        "ons_sub_icb_code": "ONS_CCG_CODE",
        "sub_icb_name": "CCG_NAME",
        "icb_code": "STP_CODE",
        "ons_icb_code": "ONS_STP_CODE",
        "icb_name": "STP_NAME",
    },
}
ORDER = [
    "practice_code", "practice_name", "postcode", "pcn_code", "pcn_name", "sub_icb_code", "ons_sub_icb_code",
    "sub_icb_name", "icb_code", "ons_icb_code", "icb_name", "region_code", "ons_region_code", "region_name",
    "supplier", "extract_date",
]  # fmt: skip


def detect_layout(header: list[str], file: str) -> str:
    layout = "ccg-legacy" if "CCG_CODE" in header and "SUB_ICB_LOCATION_CODE" not in header else "sub-icb-2022"
    try:
        require_columns(file, header, [*COMMON.values(), *GEOGRAPHY[layout].values()], layout)
    except DatasetFormatError as exc:
        if layout == "sub-icb-2022":
            raise DatasetFormatError(
                f"{exc} (older files have CCG_CODE/ONS_CCG_CODE/CCG_NAME and STP_CODE/ONS_STP_CODE/STP_NAME)"
            ) from None
        raise
    return layout


def parse(path: Path) -> Parsed:
    path = Path(path)
    table = load_table(path)
    layout = detect_layout(table.header, path.name)
    src = {**COMMON, **GEOGRAPHY[layout], **OPTIONAL}
    frame = table.frame.with_columns(
        pl.lit(None, dtype=pl.Utf8).alias(c) for c in OPTIONAL.values() if c not in table.header
    )
    pcn = pl.col("pcn_code")
    fields = [
        Field(src["practice_code"], "practice_code", what="practice code", required=True, pattern=PRACTICE_CODE_RE),
        Field(src["practice_name"], "practice_name", what="practice name", required=True),
        # not used by the service (the register's postcode comes from ODS): a bad one must not cost the practice
        Field(src["postcode"], "postcode", what="postcode", pattern=POSTCODE_RE, clean=postcode_clean, keep_row=True),
        Field(src["pcn_code"], "pcn_code", what="PCN code", pattern=f"{PCN_CODE_RE}|^{UNALLOCATED}$"),
        Field(src["pcn_name"], "pcn_name"),
        Field(src["sub_icb_code"], "sub_icb_code", what="sub-ICB code", required=True, pattern=SUB_ICB_CODE_RE),
        Field(src["ons_sub_icb_code"], "ons_sub_icb_code", what="ONS sub-ICB code", pattern=ONS_CODE_RE),
        Field(src["sub_icb_name"], "sub_icb_name"),
        Field(src["icb_code"], "icb_code", what="ICB code", required=True, pattern=ICB_CODE_RE),
        Field(src["ons_icb_code"], "ons_icb_code", what="ONS ICB code", pattern=ONS_CODE_RE),
        Field(src["icb_name"], "icb_name"),
        Field(src["region_code"], "region_code", what="region code", required=True, pattern=REGION_CODE_RE),
        Field(src["ons_region_code"], "ons_region_code", what="ONS region code", pattern=ONS_CODE_RE),
        Field(src["region_name"], "region_name"),
        Field(src["supplier"], "supplier"),
        Field(src["extract_date"], "extract_date", "date", what="extract date", required=True),
    ]
    frame, cleared = clear_bad_values(frame, fields)
    rows, skips = convert(frame, fields, key=["practice_code"], key_label="practice code")
    unallocated = int((rows.get_column("pcn_code") == UNALLOCATED).sum())
    rows = without_row(rows).with_columns(pl.when(pcn == UNALLOCATED).then(None).otherwise(pcn).alias("pcn_code"))
    dates = rows.get_column("extract_date").value_counts(sort=True)
    if dates.height == 0:
        raise DatasetFormatError(f"{path.name}: no row with a readable EXTRACT_DATE")
    return Parsed(
        dataset=DATASET,
        layout=layout,
        period=dates.item(0, "extract_date").isoformat(),
        rows_read=table.rows,
        frames={"rows": rows.select(ORDER)},
        skipped=skips,
        cleared=cleared,
        meta={
            "unallocated": unallocated,
            "pcns": rows.get_column("pcn_code").drop_nulls().n_unique(),
            "sub_icbs": rows.get_column("sub_icb_code").n_unique(),
            "icbs": rows.get_column("icb_code").n_unique(),
            "regions": rows.get_column("region_code").n_unique(),
        },
    )
