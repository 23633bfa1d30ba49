from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from analytics.ingest import epcn
from analytics.ingest.base import DatasetFormatError
from analytics.tests.support import FIXTURE_FILES, assert_schema, real_file

PCNS = {
    "pcn_code": pl.Utf8,
    "pcn_name": pl.Utf8,
    "sub_icb_code": pl.Utf8,
    "open_date": pl.Date,
    "close_date": pl.Date,
    "address": pl.Utf8,
    "postcode": pl.Utf8,
}
MEMBERSHIPS = {"practice_code": pl.Utf8, "pcn_code": pl.Utf8, "start_date": pl.Date, "end_date": pl.Date}


def test_fixture() -> None:
    p = epcn.parse(FIXTURE_FILES["epcn"])
    assert (p.dataset, p.layout) == ("epcn", "epcn-xlsx")
    assert p.skipped == []
    assert_schema(p.frames["pcns"], PCNS)
    assert_schema(p.frames["memberships"], MEMBERSHIPS)
    assert p.rows_read == p.frames["pcns"].height + p.frames["memberships"].height
    first = p.frames["memberships"].row(0, named=True)
    assert first == {
        "practice_code": "A81001",
        "pcn_code": "U89141",
        "start_date": dt.date(2019, 10, 1),
        "end_date": None,
    }
    ended = p.frames["memberships"].filter(pl.col("end_date").is_not_null())
    assert ended.height == 4
    west_merton = p.frames["pcns"].filter(pl.col("pcn_code") == "U00070").row(0, named=True)
    assert west_merton["address"] == "TREVELYAN HOUSE, 160 TOOTING HIGH STREET, LONDON"  # blank lines skipped
    assert west_merton["open_date"] == dt.date(2019, 10, 1)
    latest = max(
        p.frames["memberships"].select(pl.max_horizontal(pl.col("start_date", "end_date").max())).item(),
        p.frames["pcns"].select(pl.max_horizontal(pl.col("open_date", "close_date").max())).item(),
    )
    assert p.period == latest.isoformat()


def test_missing_sheet_is_named(tmp_path: Path) -> None:
    sheets = pl.read_excel(FIXTURE_FILES["epcn"], sheet_id=0, engine="calamine", infer_schema_length=0)
    f = tmp_path / "ePCN.xlsx"
    sheets["PCNDetails"].write_excel(f, worksheet="PCNDetails")
    with pytest.raises(DatasetFormatError, match=r"missing sheet\(s\): PCN Core Partner Details"):
        epcn.parse(f)


def test_missing_column_is_named(tmp_path: Path) -> None:
    sheets = pl.read_excel(FIXTURE_FILES["epcn"], sheet_id=0, engine="calamine", infer_schema_length=0)
    f = tmp_path / "ePCN.xlsx"
    import xlsxwriter

    with xlsxwriter.Workbook(f) as wb:
        sheets["PCNDetails"].drop("Open Date").write_excel(wb, worksheet="PCNDetails")
        sheets["PCN Core Partner Details"].write_excel(wb, worksheet="PCN Core Partner Details")
    with pytest.raises(DatasetFormatError, match=r"sheet PCNDetails: missing column\(s\): Open Date"):
        epcn.parse(f)


def test_a_csv_is_not_a_workbook(tmp_path: Path) -> None:
    f = tmp_path / "ePCN.xlsx"
    f.write_text("PCN Code,PCN Name\nU00070,WEST MERTON PCN\n")
    with pytest.raises(DatasetFormatError, match=r"not an Excel \.xlsx workbook"):
        epcn.parse(f)


def test_real_file_counts() -> None:
    p = epcn.parse(real_file("epcn"))
    assert p.skipped == []
    assert p.frames["pcns"].height == 1_329
    assert p.frames["memberships"].height == 7_455
    assert p.meta["open_pcns"] == 1_264
    assert p.meta["current_memberships"] == 6_391
    assert p.meta["practices_in_current_pcn"] == 6_391
    assert p.period == "2023-01-09"
