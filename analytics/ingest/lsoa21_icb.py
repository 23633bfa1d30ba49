"""LSOA (2021) -> ICB (2023) lookup (``LSOA2021_to_ICB2023.csv``, a column subset of the ONS lookup).

Contract: ``parse(path) -> Parsed`` with one frame ``"rows"``, one row per English LSOA 2021:

lsoa_code (LSOA21CD), lsoa_name (LSOA21NM), icb_ons_code (ICB23CD, E54...), icb_name (ICB23NM); all Utf8.

The file keeps no sub-ICB column and only ONS (not ODS) ICB codes; join to ODS codes through the practice mapping.
Period :data:`PERIOD`.
"""

from __future__ import annotations

from pathlib import Path

from analytics.ingest.base import Parsed, require_columns
from analytics.ingest.convert import Field, convert, without_row
from analytics.ingest.tables import LSOA_CODE_RE, load_table

DATASET = "lsoa21_icb"
LAYOUT = "ons-lsoa21-icb23"
PERIOD = "2023"  # ICB boundaries of 2023 (ICB23CD); the file has no date column
ICB_ONS_RE = r"^E54[0-9]{6}$"


def parse(path: Path) -> Parsed:
    path = Path(path)
    table = load_table(path)
    require_columns(path.name, table.header, ["LSOA21CD", "LSOA21NM", "ICB23CD", "ICB23NM"])
    fields = [
        Field("LSOA21CD", "lsoa_code", what="LSOA code", required=True, pattern=LSOA_CODE_RE),
        Field("LSOA21NM", "lsoa_name"),
        Field("ICB23CD", "icb_ons_code", what="ICB ONS code", required=True, pattern=ICB_ONS_RE),
        Field("ICB23NM", "icb_name"),
    ]
    rows, skips = convert(table.frame, fields, key=["lsoa_code"], key_label="LSOA")
    return Parsed(
        dataset=DATASET,
        layout=LAYOUT,
        period=PERIOD,
        rows_read=table.rows,
        frames={"rows": without_row(rows)},
        skipped=skips,
        meta={"icbs": rows.get_column("icb_ons_code").n_unique()},
    )
