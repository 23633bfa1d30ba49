"""List change from registrations extracts: 12 and 24 months back from the latest, mergers adjusted through the
lineage (a merger is not growth)."""

from __future__ import annotations

import math
from datetime import date

import polars as pl

from analytics.features import registered_list_changes


def _regs(rows: list[tuple[str, date, int]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"code": pl.Utf8, "extract_date": pl.Date, "patients": pl.Int64}, orient="row")


REGS = _regs(
    [
        ("A00001", date(2021, 4, 1), 5000),
        ("B00002", date(2021, 4, 1), 3000),
        ("C00003", date(2021, 4, 1), 4000),
        ("A00001", date(2022, 4, 1), 5000),
        ("B00002", date(2022, 4, 1), 3000),
        ("C00003", date(2022, 4, 1), 3600),
        ("A00001", date(2023, 4, 1), 8000),
        ("C00003", date(2023, 4, 1), 3240),
    ]
)
LINK = pl.DataFrame({"predecessor": ["B00002"], "successor": ["A00001"]})


def test_a_practice_that_absorbed_a_neighbour_did_not_grow() -> None:
    got = {r["practice_code"]: r for r in registered_list_changes(REGS, LINK).iter_rows(named=True)}
    assert got["A00001"]["reg_change_1y"] == 0.0 and got["A00001"]["reg_change_2y"] == 0.0
    assert math.isclose(got["C00003"]["reg_change_1y"], math.log(0.9))
    assert math.isclose(got["C00003"]["reg_change_2y"], math.log(0.81))
    assert "B00002" not in got  # gone by the latest extract: no change to report


def test_without_the_link_the_merger_looks_like_growth() -> None:
    got = registered_list_changes(REGS, LINK.clear()).filter(pl.col("practice_code") == "A00001")
    assert math.isclose(got["reg_change_1y"][0], math.log(8000 / 5000))


def test_a_missing_earlier_extract_gives_no_value_and_no_extracts_no_rows() -> None:
    only_two = REGS.filter(pl.col("extract_date") != date(2021, 4, 1))
    got = registered_list_changes(only_two, LINK).filter(pl.col("practice_code") == "C00003")
    assert got["reg_change_2y"][0] is None and math.isclose(got["reg_change_1y"][0], math.log(0.9))
    assert registered_list_changes(REGS.clear(), LINK).height == 0
