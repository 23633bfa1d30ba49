from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from analytics.ingest import payments
from analytics.ingest.base import DatasetFormatError
from analytics.tests.support import FIXTURE_FILES, assert_schema, real_file

SCHEMA = {
    "practice_code": pl.Utf8,
    "practice_name": pl.Utf8,
    "region_code": pl.Utf8,
    "sub_icb_code": pl.Utf8,
    "pcn_code": pl.Utf8,
    "postcode": pl.Utf8,
    "open_date": pl.Date,
    "close_date": pl.Date,
    "contract_type": pl.Utf8,
    "dispensing": pl.Boolean,
    "practice_type": pl.Utf8,
    "rurality": pl.Utf8,
    "atypical": pl.Utf8,
    "registered_patients": pl.Float64,
    "weighted_patients": pl.Float64,
    "payments_per_patient": pl.Float64,
    "payments_per_weighted_patient": pl.Float64,
    "total_payments_pence": pl.Int64,
}
LINES = {"practice_code": pl.Utf8, "line": pl.Utf8, "amount_pence": pl.Int64}


def test_fixture() -> None:
    p = payments.parse(FIXTURE_FILES["payments"])
    assert (p.dataset, p.period, p.rows_read) == ("payments", "2022-23", 14)
    assert p.skipped == []
    assert_schema(p.frames["rows"], SCHEMA)
    assert_schema(p.frames["lines"], LINES)
    first = p.frames["rows"].row(0, named=True)
    assert first["practice_code"] == "A81001"
    assert first["postcode"] == "TS18 1HU"
    assert first["open_date"] == dt.date(1974, 4, 1)
    assert first["close_date"] is None
    assert first["dispensing"] is False
    assert first["registered_patients"] == 4029.25
    assert first["total_payments_pence"] == 72_046_251  # £720,462.51
    a81004 = p.frames["rows"].filter(pl.col("practice_code") == "A81004").row(0, named=True)
    assert a81004["postcode"] == "TS5 8SB"  # published as "TS5  8SB"
    lines = p.frames["lines"].filter(pl.col("practice_code") == "A81001")
    got = dict(lines.select("line", "amount_pence").iter_rows())
    assert got["Global Sum"] == 43_809_978
    assert got["Deductions for Pensions, Levies and Prescription Charge Income"] == -8_434_276  # signed
    assert "MPIG Correction factor" not in got  # zero amounts are left out
    assert "Total NHS Payments to General Practice" not in got  # in rows, not a line
    assert not any(k.startswith("Average") for k in got)
    assert p.meta["money_columns"] == 49
    assert p.frames["rows"].get_column("pcn_code").null_count() == p.meta["no_pcn"] == 2
    atypical = set(p.frames["rows"].get_column("atypical").drop_nulls())
    assert atypical <= {
        "Part year of data",
        "No registered patients",
        "Large fluctuation in patients",
        "Part year of data; No registered patients",
        "Part year of data; Large fluctuation in patients",
    }
    assert atypical


def test_bad_money_is_skipped(tmp_path: Path) -> None:
    text = FIXTURE_FILES["payments"].read_text(encoding="utf-8-sig").splitlines()
    text[1] = text[1].replace(",438099.78,", ",£438k,")
    f = tmp_path / "nhspaymentsgp-22-23-prac-csv.csv"
    f.write_text("\n".join(text) + "\n", encoding="utf-8-sig")
    p = payments.parse(f)
    assert [(s.row, s.column, s.reason) for s in p.skipped] == [(1, "Global Sum", "unreadable number '£438k'")]
    assert "A81001" not in p.frames["lines"].get_column("practice_code").to_list()


def test_period_from_name_or_argument(tmp_path: Path) -> None:
    f = tmp_path / "payments.csv"
    f.write_bytes(FIXTURE_FILES["payments"].read_bytes())
    with pytest.raises(DatasetFormatError, match="financial year"):
        payments.parse(f)
    assert payments.parse(f, period="2022-23").period == "2022-23"


def test_real_file_counts() -> None:
    p = payments.parse(real_file("payments"))
    assert (p.rows_read, p.period) == (6_669, "2022-23")
    assert p.skipped == []
    rows = p.frames["rows"]
    assert rows.height == 6_669
    assert round(float(rows.get_column("total_payments_pence").sum()) / 100 / 1e9, 2) == 10.23  # £10.23 bn
    assert round(float(rows.get_column("registered_patients").sum()) / 1e6, 1) == 62.1
    assert dict(rows.get_column("contract_type").value_counts().iter_rows()) == {
        "GMS": 4_664,
        "PMS": 1_615,
        "APMS": 235,
        "Unknown": 155,
    }
    assert dict(rows.get_column("rurality").value_counts().iter_rows()) == {"Urban": 5_576, "Rural": 1_093}
    assert rows.get_column("dispensing").sum() == 944


PAY_HISTORY = Path(__file__).resolve().parents[2] / "data" / "national" / "nhs_payments_gp_practice_history"


@pytest.mark.parametrize(
    ("name", "period", "rows", "patients_m", "closed"),
    [
        ("nhspaymentsgp-19-20-prac-csv.csv", "2019-20", 7_001, 60.32, 173),  # Excel-serial dates, footnoted headers
        ("nhspaymentsgp-20-21-prac-csv.csv", "2020-21", 6_808, 60.67, 196),  # "Last Known Figure" list columns
        ("nhspaymentsgp-21-22-prac-csv-v2.csv", "2021-22", 6_758, 61.57, 220),  # BOM, CRLF, quoted headers
    ],
)
def test_every_historical_layout_is_read(name: str, period: str, rows: int, patients_m: float, closed: int) -> None:
    path = PAY_HISTORY / name
    if not path.exists():
        pytest.skip("history file not shipped in this checkout")
    p = payments.parse(path)
    r = p.frames["rows"]
    assert (p.period, r.height, p.skipped) == (period, rows, [])
    assert round(float(r.get_column("registered_patients").sum()) / 1e6, 2) == patients_m
    assert r.get_column("close_date").drop_nulls().len() == closed
    assert r.get_column("open_date").null_count() == 0


def test_excel_serial_dates_become_real_dates(tmp_path: Path) -> None:
    source = PAY_HISTORY / "nhspaymentsgp-19-20-prac-csv.csv"
    if not source.exists():
        pytest.skip("history file not shipped in this checkout")
    lines = source.read_text(encoding="utf-8-sig").splitlines()[:3]
    lines[2] = lines[2].replace(",32064,,", ",32064,43799,", 1)  # a close date as a serial too
    f = tmp_path / "nhspaymentsgp-19-20-prac-csv.csv"
    f.write_text("\n".join(lines) + "\n")
    r = payments.parse(f).frames["rows"].sort("practice_code")
    assert r.get_column("open_date").to_list() == [dt.date(1985, 4, 1), dt.date(1987, 10, 14)]
    assert r.get_column("close_date").to_list() == [None, dt.date(2019, 11, 30)]
