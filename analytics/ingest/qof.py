"""Quality and Outcomes Framework: practice achievement points (``QOF 2022-23.csv``).

The practice points table of the annual QOF publication (not the raw indicator-level ``ACHIEVEMENT_*.csv``).

Contract: ``parse(path, *, period=None) -> Parsed`` with one frame ``"rows"``, one row per practice:

====================  =========  ==========================================================================
column                dtype      source column / meaning
====================  =========  ==========================================================================
practice_code         Utf8       Practice code
practice_name         Utf8       Practice name
sub_icb_code          Utf8       Sub ICB Loc ODS code
pcn_code              Utf8|null  PCN ODS code (``U`` "Unallocated" -> null, counted in meta["unallocated"])
list_size             Int64      List size (1 January of the QOF year)
points                Float64    Achievement score (635 max)
max_points            Float64    the maximum in that header, e.g. 635 (the same on every row)
percent_of_max        Float64    QOF points total / 635 available (%)
register_max_points   Float64    Total points for indicators where register exists (max available to it)
register_percent      Float64    Points achieved / max. QOF points available (%)
====================  =========  ==========================================================================

NHS quirks: headers carry line breaks inside quotes (``"Sub ICB Loc \\nODS code"``) and the year's maximum points
(635 in 2022-23; it changes most years), so headers are normalised and matched by prefix. The file has no year
column: the QOF year (``2022-23``) comes from the file name, or the ``period`` argument when the name lacks it.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from analytics.ingest.base import DatasetFormatError, Parsed
from analytics.ingest.convert import Field, Rule, convert, financial_year_from_name, reason, without_row
from analytics.ingest.tables import (
    MAX_LIST_SIZE,
    PCN_CODE_RE,
    PRACTICE_CODE_RE,
    SUB_ICB_CODE_RE,
    find_column,
    load_table,
)

DATASET = "qof"
LAYOUT = "qof-practice-points"

# canonical name -> (exact header names, header prefixes); prefixes absorb the year's changing maximum.
COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "practice_code": (("Practice code",), ()),
    "practice_name": (("Practice name",), ()),
    "sub_icb_code": (("Sub ICB Loc ODS code", "CCG ODS code", "CCG code"), ()),
    "pcn_code": (("PCN ODS code", "PCN code"), ()),
    "list_size": (("List size",), ()),
    "points": ((), ("Achievement score (",)),
    "percent_of_max": ((), ("QOF points total /",)),
    "register_max_points": ((), ("Total points for indicators where register exists",)),
    "register_percent": ((), ("Points achieved/ max", "Points achieved / max")),
}
UNALLOCATED = "U"  # pseudo PCN code of practices in no PCN ("Unallocated"); becomes a null pcn_code
_MAX = re.compile(r"\((\d+(?:\.\d+)?)\s*max\)", re.IGNORECASE)


def parse(path: Path, *, period: str | None = None) -> Parsed:
    path = Path(path)
    year = financial_year_from_name(path.name, period, file=path.name)
    table = load_table(path)
    found = {name: find_column(table.header, exact=e, prefix=p) for name, (e, p) in COLUMNS.items()}
    missing = [(e or p)[0] + ("..." if not e else "") for name, (e, p) in COLUMNS.items() if found[name] is None]
    if missing:
        raise DatasetFormatError(
            f"{path.name}: missing column(s): {', '.join(missing)}. Columns found: {', '.join(table.header)}"
        )
    src = {k: v for k, v in found.items() if v is not None}
    m = _MAX.search(src["points"])
    if not m:
        raise DatasetFormatError(f"{path.name}: cannot read the maximum points from the header {src['points']!r}")
    max_points = float(m.group(1))
    fields = [
        Field(src["practice_code"], "practice_code", what="practice code", required=True, pattern=PRACTICE_CODE_RE),
        Field(src["practice_name"], "practice_name"),
        Field(src["sub_icb_code"], "sub_icb_code", what="sub-ICB code", required=True, pattern=SUB_ICB_CODE_RE),
        Field(src["pcn_code"], "pcn_code", what="PCN code", pattern=f"{PCN_CODE_RE}|^{UNALLOCATED}$"),
        Field(src["list_size"], "list_size", "int", what="list size", required=True, maximum=MAX_LIST_SIZE),
        Field(src["points"], "points", "float", what="points", required=True, maximum=max_points),
        Field(src["percent_of_max"], "percent_of_max", "float", what="percentage", maximum=100),
        Field(src["register_max_points"], "register_max_points", "float", what="points available",
              maximum=max_points),
        Field(src["register_percent"], "register_percent", "float", what="percentage", maximum=100),
    ]  # fmt: skip
    # Points over the maximum available to the practice's registers means shifted or corrupted columns.
    over = Rule(
        src["points"],
        pl.col("points") > pl.col("register_max_points") + 0.01,
        reason("points ", pl.col("points"), " exceed the ", pl.col("register_max_points"), " available"),
    )
    rows, skips = convert(table.frame, fields, rules=[over], key=["practice_code"], key_label="practice code")
    unallocated = int((rows.get_column("pcn_code") == UNALLOCATED).sum())
    pcn = pl.col("pcn_code")
    rows = without_row(rows).with_columns(
        pl.when(pcn != UNALLOCATED).then(pcn).alias("pcn_code"), pl.lit(max_points).alias("max_points")
    )
    order = ["practice_code", "practice_name", "sub_icb_code", "pcn_code", "list_size", "points", "max_points",
             "percent_of_max", "register_max_points", "register_percent"]  # fmt: skip
    return Parsed(
        dataset=DATASET,
        layout=LAYOUT,
        period=year,
        rows_read=table.rows,
        frames={"rows": rows.select(order)},
        skipped=skips,
        meta={
            "max_points": max_points,
            "unallocated": unallocated,
            "list_size": int(rows.get_column("list_size").sum()),
        },
    )
