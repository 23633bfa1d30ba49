"""Outcome labels for practice codes that disappeared: true closure or merger (HEEC ``final.csv``, ``Outcome2``).

**Evaluation only, never an indicator**: the labels were compiled in 2024 by desk research, so they say what happened
after the fact. Contract: ``parse(path) -> Parsed`` with one frame ``"rows"``:

=============  ======  ==========================================================================
column         dtype   meaning
=============  ======  ==========================================================================
practice_code  Utf8    the code that disappeared (``Practice.Code``)
label          Utf8    ``closure`` (``Outcome2`` = Closed: patients dispersed) or ``merger`` (Merged)
=============  ======  ==========================================================================

Any other ``Outcome2`` value is a format change, refused naming the values: a third class would silently change
what "true closure" means. The period is the month of the last disappearance covered, from the folder name
(``closure_outcomes_to_2023-03``), else empty.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from analytics.ingest.base import DatasetFormatError, Parsed, require_columns
from analytics.ingest.convert import Field, convert, without_row
from analytics.ingest.tables import PRACTICE_CODE_RE, load_table

DATASET = "closure_labels"
LAYOUT = "heec-final"
CLOSURE = "closure"
MERGER = "merger"
VALUES = {"Closed": CLOSURE, "Merged": MERGER}
FIELDS = [
    Field("Practice.Code", "practice_code", what="practice code", required=True, pattern=PRACTICE_CODE_RE),
    Field("Outcome2", "raw", what="outcome", required=True),
]
_PERIOD = re.compile(r"_to_([0-9]{4}-[0-9]{2})$")


def parse(path: Path) -> Parsed:
    path = Path(path)
    table = load_table(path)
    require_columns(path.name, table.header, ["Practice.Code", "Outcome2"], LAYOUT)
    df = table.frame.with_columns(pl.col("Practice.Code").str.strip_chars(), pl.col("Outcome2").str.strip_chars())
    rows, skips = convert(df, FIELDS, key=["practice_code"], key_label="practice code")
    unknown = sorted(set(rows.get_column("raw").to_list()) - set(VALUES))
    if unknown:
        raise DatasetFormatError(f"{path.name}: unknown Outcome2 value(s) {unknown}; expected Closed or Merged")
    rows = without_row(rows).select(
        "practice_code", pl.col("raw").replace_strict(VALUES, return_dtype=pl.Utf8).alias("label")
    )
    found = _PERIOD.search(path.parent.name)
    return Parsed(
        dataset=DATASET,
        layout=LAYOUT,
        period=found.group(1) if found else "",
        rows_read=table.frame.height,
        frames={"rows": rows.sort("practice_code")},
        skipped=skips,
        meta={"closures": rows.filter(pl.col("label") == CLOSURE).height},
    )
