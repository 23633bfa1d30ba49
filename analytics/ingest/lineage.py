"""Practice-code merger lineage, April 2013 - April 2022 (research file ``sidhu.csv``, via HEEC).

Contract: ``parse(path) -> Parsed`` with one frame ``"rows"``, one row per absorbed code:

===========  =========  ==============================================================================================
column       dtype      meaning
===========  =========  ==============================================================================================
predecessor  Utf8       a practice code that became part of another (``previous_practice_codes``)
successor    Utf8       the April-2020 practice code it is now part of (``code_April_2020``)
absorbed     Date|null  the predecessor's last month with >= 1,000 registered patients (``lm_1000_previous_codes``):
                        about when it was absorbed; the walk-forward uses a link only once this date has passed
===========  =========  ==============================================================================================

The file lists every April-2020 practice with itself as a "predecessor" too; those identity rows carry no link and are
counted in ``meta["identity_rows"]``, not skipped. A code absorbed into two successors keeps the first row (the file
has none today). As published the file is UTF-8 with a byte-order mark, CRLF, and no line break after its last line.
The period is the last activity month in the file (``2022-04``).
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from analytics.ingest.base import DatasetFormatError, Parsed, require_columns
from analytics.ingest.convert import Field, convert, without_row
from analytics.ingest.tables import PRACTICE_CODE_RE, load_table

DATASET = "lineage"
LAYOUT = "sidhu-2022"
COLUMNS = ["code_April_2020", "previous_practice_codes", "lm_1000_previous_codes"]
FIELDS = [
    Field("previous_practice_codes", "predecessor", what="previous practice code", required=True,
          pattern=PRACTICE_CODE_RE),
    Field("code_April_2020", "successor", what="April 2020 practice code", required=True, pattern=PRACTICE_CODE_RE),
    Field("lm_1000_previous_codes", "absorbed", "date", what="last month of the previous code"),
]  # fmt: skip


_LAST_LINE = {
    "code_April_2020": PRACTICE_CODE_RE,
    "previous_practice_codes": PRACTICE_CODE_RE,
    "lm_1000_previous_codes": r"^[0-9]{2}/[0-9]{2}/[0-9]{4}$",
}


def _check_last_line(df: pl.DataFrame, file: str) -> None:
    """Without a final line break a file cut inside its last field still has the right number of fields: the last
    row's values must have their full shape (a code, a dd/mm/yyyy date) or the file is taken for truncated."""
    if df.height == 0:
        return
    last = df.row(df.height - 1, named=True)
    for col, shape in _LAST_LINE.items():
        value = last.get(col)
        if value is not None and not re.match(shape, str(value)):
            raise DatasetFormatError(
                f"{file}: the last line ends in {col} = {value!r}, not a complete value: the file looks truncated"
            )


def parse(path: Path) -> Parsed:
    path = Path(path)
    table = load_table(path, final_newline=False)  # the research file's last line has no line break as published
    require_columns(path.name, table.header, COLUMNS, LAYOUT)
    df = table.frame.with_columns(pl.col(c).str.strip_chars() for c in COLUMNS)
    _check_last_line(df, path.name)
    rows, skips = convert(df, FIELDS)
    rows = without_row(rows)
    links = rows.filter(pl.col("predecessor") != pl.col("successor"))
    identity = rows.height - links.height
    links = links.unique("predecessor", keep="first", maintain_order=True).sort("predecessor")
    if rows.height == 0:
        raise DatasetFormatError(f"{path.name}: no row with readable practice codes")
    last = links.get_column("absorbed").max()
    return Parsed(
        dataset=DATASET,
        layout=LAYOUT,
        period=last.strftime("%Y-%m") if last is not None else "",  # type: ignore[union-attr]
        rows_read=table.frame.height,
        frames={"rows": links},
        skipped=skips,
        meta={"identity_rows": identity, "links": links.height},
    )
