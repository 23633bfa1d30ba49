"""Dates and money as people type them, headers as people name them."""

from __future__ import annotations

from datetime import date

import pytest

from apps.caseload import reading
from apps.caseload.sample import HEADERS


@pytest.mark.parametrize(
    "typed", ["1/4/2024", "01/04/2024", "2024-04-01", "1.4.2024", "01-04-2024", "1/4/24", "1 April 2024",
              "1st Apr 2024", "2024-04-01 00:00:00", "45383"],
)  # fmt: skip
def test_dates_are_read_day_first_in_every_common_style(typed: str) -> None:
    assert reading.parse_date(typed) == date(2024, 4, 1)


@pytest.mark.parametrize("typed", ["31/02/2024", "4/1/2024x", "yesterday", "2024/13/01", "", "١/٤/٢٠٢٤"])
def test_a_date_that_is_not_one_is_refused_in_words(typed: str) -> None:
    with pytest.raises(ValueError, match="is not a date we can read"):
        reading.parse_date(typed)


@pytest.mark.parametrize(
    ("typed", "pence"),
    [("£1,250.00", 125_000), ("1250", 125_000), ("1,250", 125_000), ("1250.5", 125_050), ("£ 1 250", 125_000),
     ("1250.0", 125_000), ("0", 0), ("£12,500,000.99", 1_250_000_099)],
)  # fmt: skip
def test_money_is_read_as_people_type_it(typed: str, pence: int) -> None:
    assert reading.parse_money(typed) == pence


@pytest.mark.parametrize("typed", ["-50", "1e5", "12,50", "£", "one pound", "1.234", "£200,000,000"])
def test_money_that_is_not_an_amount_is_refused(typed: str) -> None:
    with pytest.raises(ValueError):
        reading.parse_money(typed)


@pytest.mark.parametrize(("typed", "fy"), [("2026-27", 2026), ("2026/27", 2026), ("2026/2027", 2026), ("FY2026", 2026)])
def test_financial_years_are_read_in_their_usual_spellings(typed: str, fy: int) -> None:
    assert reading.parse_fy(typed) == fy


def test_a_home_made_trackers_headers_are_matched_to_our_columns() -> None:
    suggested = reading.suggest_mapping([*HEADERS.values(), "Something else"])
    assert suggested == HEADERS
    assert reading.mapping_problems(suggested, list(HEADERS.values())) == {}


def test_a_missing_required_column_and_a_column_chosen_twice_are_named() -> None:
    headers = ["Case ID", "ODS code", "Status"]
    problems = reading.mapping_problems({"reference": "Case ID", "practice": "Case ID", "state": "Status"}, headers)
    assert problems["practice"].startswith("“Case ID” is already chosen")
    assert problems["referred_on"] == "Choose the column that holds referred on"


def test_a_cp1252_csv_from_excel_is_read() -> None:
    table = reading.read_table('Case ID,Amount\nA-1,"£1,250"\n'.encode("cp1252"), "x.csv")
    assert table.rows == [["A-1", "£1,250"]]
