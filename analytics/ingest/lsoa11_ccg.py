"""ONS lookup: LSOA (2011) -> CCG -> local authority district, April 2021 (England).

Contract: ``parse(path) -> Parsed`` with one frame ``"rows"``, one row per English LSOA 2011:

lsoa_code (LSOA11CD), lsoa_name (LSOA11NM), ccg_ons_code (CCG21CD, E38...), sub_icb_code (CCG21CDH), ccg_name
(CCG21NM), lad_code (LAD21CD), lad_name (LAD21NM); all Utf8.

Why a CCG lookup still serves: in July 2022 the 106 CCGs became the 106 sub-ICB locations with the same ODS codes,
so ``CCG21CDH`` is the sub-ICB code; names are the old CCG names. The ONS export starts with a BOM and an ``FID``
column, which is ignored. Period :data:`PERIOD` (the lookup's April 2021 geography).
"""

from __future__ import annotations

from pathlib import Path

from analytics.ingest.base import Parsed, require_columns
from analytics.ingest.convert import Field, clear_bad_values, convert, without_row
from analytics.ingest.tables import LSOA_CODE_RE, ONS_CODE_RE, SUB_ICB_CODE_RE, load_table

DATASET = "lsoa11_ccg"
LAYOUT = "ons-lsoa11-ccg21-lad21"
PERIOD = "2021-04"  # CCG21 / LAD21 boundaries of April 2021; the file has no date column


def parse(path: Path) -> Parsed:
    path = Path(path)
    table = load_table(path)
    require_columns(path.name, table.header, ["LSOA11CD", "LSOA11NM", "CCG21CD", "CCG21CDH", "CCG21NM", "LAD21CD",
                                              "LAD21NM"])  # fmt: skip
    fields = [
        Field("LSOA11CD", "lsoa_code", what="LSOA code", required=True, pattern=LSOA_CODE_RE),
        Field("LSOA11NM", "lsoa_name"),
        # the loader keys on the ODS code (CCG21CDH); the ONS code is not used, so a bad one keeps the LSOA
        Field("CCG21CD", "ccg_ons_code", what="CCG ONS code", pattern=ONS_CODE_RE, keep_row=True),
        Field("CCG21CDH", "sub_icb_code", what="CCG code", required=True, pattern=SUB_ICB_CODE_RE),
        Field("CCG21NM", "ccg_name"),
        Field("LAD21CD", "lad_code", what="LAD code", pattern=ONS_CODE_RE),
        Field("LAD21NM", "lad_name"),
    ]
    frame, cleared = clear_bad_values(table.frame, fields)
    rows, skips = convert(frame, fields, key=["lsoa_code"], key_label="LSOA")
    return Parsed(
        dataset=DATASET,
        layout=LAYOUT,
        period=PERIOD,
        rows_read=table.rows,
        frames={"rows": without_row(rows)},
        skipped=skips,
        cleared=cleared,
        meta={"ccgs": rows.get_column("sub_icb_code").n_unique(), "lads": rows.get_column("lad_code").n_unique()},
    )
