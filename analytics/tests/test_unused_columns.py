"""Issue 14 item 14: one bad value in a column the service does not use must not drop the row.

For each parser with such a column, the first data row of the real-format fixture gets a bad value there: the row is
still read (the value blanked) and the blanked value is reported with its row and column in ``Parsed.cleared``.
"""

from __future__ import annotations

import pytest

from analytics.tests.support import FIXTURE_FILES
from analytics.tests.test_fuzz_ingest import _parse, _read, _rows, _write

CASES = [
    ("registrations", "POSTCODE", "NOT A POSTCODE"),
    ("registrations", "SUB_ICB_LOCATION_CODE", "16-C"),
    ("registrations", "ONS_SUB_ICB_LOCATION_CODE", "E3800024"),
    ("mapping", "PRACTICE_POSTCODE", "NOT A POSTCODE"),
    ("cqc", "IMD", "lots"),
    ("cqc", "IMD_quintile", "9"),
    ("locations", "Postcode", "NOT A POSTCODE"),
    ("locations", "ParentODSCode", "??"),
    ("lsoa11_ccg", "CCG21CD", "X"),
]


@pytest.mark.parametrize(("dataset", "column", "bad"), CASES)
def test_a_bad_value_in_an_unused_column_is_blanked_and_the_row_kept(dataset: str, column: str, bad: str) -> None:
    text, delimiter = _read(dataset)
    rows = _rows(text, delimiter)
    baseline = _parse(dataset, FIXTURE_FILES[dataset].read_bytes())
    rows[1][rows[0].index(column)] = bad
    parsed = _parse(dataset, _write(rows, delimiter).encode("utf-8"))
    assert parsed.skipped == baseline.skipped
    assert parsed.frame.height == baseline.frame.height
    assert [(c.row, c.column) for c in parsed.cleared] == [(1, column)]
    assert parsed.cleared[0].reason.endswith("(value ignored, row kept)")
