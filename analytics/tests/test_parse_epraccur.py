from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from analytics.ingest import epraccur
from analytics.ingest.base import DatasetFormatError
from analytics.tests.support import FIXTURE_FILES, FIXTURES, assert_schema, real_file, skips_by_row

SCHEMA = {
    "code": pl.Utf8,
    "name": pl.Utf8,
    "region_code": pl.Utf8,
    "icb_code": pl.Utf8,
    "address_1": pl.Utf8,
    "address_2": pl.Utf8,
    "address_3": pl.Utf8,
    "address_4": pl.Utf8,
    "address_5": pl.Utf8,
    "postcode": pl.Utf8,
    "open_date": pl.Date,
    "close_date": pl.Date,
    "status": pl.Utf8,
    "sub_icb_code": pl.Utf8,
    "join_date": pl.Date,
    "left_date": pl.Date,
    "phone": pl.Utf8,
    "setting_code": pl.Utf8,
    "is_gp_practice": pl.Boolean,
    "is_english": pl.Boolean,
}
HERE = FIXTURES / "epraccur"


def test_legacy_fixture() -> None:
    p = epraccur.parse(FIXTURE_FILES["epraccur"])
    assert (p.dataset, p.layout, p.rows_read) == ("epraccur", "ods-legacy", 19)
    assert p.skipped == []
    df = p.frame
    assert_schema(df, SCHEMA)
    assert df.height == 19  # every row kept: closed, Welsh, non-GP, Crown dependencies
    first = df.row(0, named=True)
    assert first["code"] == "A81001"
    assert first["open_date"] == dt.date(1974, 4, 1)
    assert first["close_date"] is None  # "" is missing, not a date
    assert first["address_5"] is None
    assert (first["status"], first["setting_code"], first["is_gp_practice"], first["is_english"]) == (
        "active",
        "4",
        True,
        True,
    )
    by_code = {r["code"]: r for r in df.iter_rows(named=True)}
    assert by_code["A81003"]["status"] == "closed"
    assert by_code["A81003"]["close_date"] == dt.date(2017, 10, 31)
    assert by_code["A82019"]["status"] == "dormant"
    assert by_code["Y08613"]["status"] == "proposed"
    assert by_code["W91002"]["is_english"] is False  # Welsh: W code, national grouping W00
    assert by_code["B83699"]["is_gp_practice"] is False  # setting 9: community health service
    assert by_code["Y00001"]["region_code"] is None  # Isle of Man: blank national grouping
    assert p.meta == {"gp_practices": 12, "welsh": 2, "non_gp": 7, "active_english_gp_practices": 8}
    assert p.period == "2025-04-23"  # latest open/close/join date


def test_2025_layout_fixture() -> None:
    """Real rows of the 2025/26 ODS layout: status words, RO role codes, blank Welsh geography."""
    p = epraccur.parse(HERE / "epraccur_2025.csv")
    assert p.layout == "ods-2025"
    assert p.skipped == []
    df = p.frame
    assert_schema(df, SCHEMA)
    by_code = {r["code"]: r for r in df.iter_rows(named=True)}
    assert by_code["A81001"]["status"] == "active"
    assert by_code["A81001"]["is_gp_practice"] is True  # RO76
    assert by_code["A81001"]["address_4"] == "STOCKTON-ON-TEES"  # post town in field 8 in this layout
    assert by_code["A81003"]["status"] == "closed"  # INACTIVE
    assert by_code["A81065"]["status"] == "dormant"
    assert by_code["Y09015"]["is_gp_practice"] is False  # RO72, five-character health geography Z9B2Z
    assert by_code["Y09015"]["icb_code"] == "Z9B2Z"
    assert by_code["W92055"]["is_english"] is False
    assert by_code["W92055"]["region_code"] is None  # Welsh rows have no national grouping in this layout
    assert by_code["W93019"]["is_english"] is False  # W code even though it sits in an English region
    assert p.meta["gp_practices"] == 10
    assert p.meta["active_english_gp_practices"] == 5
    assert p.period == "2026-04-09"


def test_bad_rows_are_skipped_with_row_and_column() -> None:
    p = epraccur.parse(HERE / "epraccur_bad_rows.csv")
    skips = skips_by_row(p)
    assert skips == {
        2: ("Open date", "unreadable date '19740231'"),
        3: ("Organisation code", "bad organisation code 'A8100!'"),
        4: ("Status code", "unknown status 'X'"),
        5: ("Postcode", "bad postcode 'NOT A POSTCODE'"),
        6: ("Close date", "close date before open date"),
        7: ("Organisation code", "duplicate organisation code A81001"),
    }
    assert p.rows_read == 8
    assert p.frame.get_column("code").to_list() == ["A81001", "A81008"]


def test_truncated_file_is_a_format_error() -> None:
    with pytest.raises(
        DatasetFormatError, match=r"epraccur_truncated.csv: ragged or truncated.*27 fields.*line 6 has 20"
    ):
        epraccur.parse(HERE / "epraccur_truncated.csv")


def test_unknown_layout_names_what_was_expected() -> None:
    with pytest.raises(DatasetFormatError, match=r"fit no known epraccur layout.*A/C/D/P.*RO76.*'OPEN', 'GP'"):
        epraccur.parse(HERE / "epraccur_unknown_layout.csv")


def test_header_only_csv_is_rejected(tmp_path: Path) -> None:
    """A file with a header row (someone's re-export) has the wrong shape for epraccur."""
    f = tmp_path / "epraccur.csv"
    f.write_text("code,name\nA81001,THE DENSHAM SURGERY\n")
    with pytest.raises(DatasetFormatError, match="27 fields"):
        epraccur.parse(f)


def test_real_file_counts() -> None:
    p = epraccur.parse(real_file("epraccur"))
    assert p.layout == "ods-legacy"
    assert p.rows_read == 16_534
    assert p.frame.height == 16_534
    assert p.skipped == []
    assert p.period == "2025-04-23"
    df = p.frame
    assert df.get_column("status").value_counts().sort("status").rows() == [
        ("active", 12_396),
        ("closed", 3_877),
        ("dormant", 253),
        ("proposed", 8),
    ]
    assert p.meta["gp_practices"] == 8_654
    active_gp = df.filter(pl.col("is_gp_practice") & (pl.col("status") == "active"))
    assert active_gp.height == 6_651
    assert active_gp.filter(pl.col("is_english")).height == 6_253
    assert p.meta["active_english_gp_practices"] == 6_253
    assert active_gp.get_column("icb_code").n_unique() == 43  # 42 ICBs + Q99 Wales


def test_mixed_layouts_are_a_format_error(tmp_path: Path) -> None:
    f = tmp_path / "epraccur.csv"
    f.write_text(FIXTURE_FILES["epraccur"].read_text() + (HERE / "epraccur_2025.csv").read_text())
    with pytest.raises(DatasetFormatError, match=r"rows fitting: ods-legacy 53%, ods-2025 47%"):
        epraccur.parse(f)


def test_2025_layout_with_pipe_joined_roles_and_crlf_lines() -> None:
    """The same real 2025 rows with several ODS role ids pipe-joined in field 26 and CRLF line ends: a row is a GP
    practice when any of its roles is RO76, whatever the order; nothing else changes."""
    p = epraccur.parse(HERE / "epraccur_2025_roles_crlf.csv")
    plain = epraccur.parse(HERE / "epraccur_2025.csv")
    assert p.layout == "ods-2025" and p.skipped == []
    by_code = {r["code"]: r for r in p.frame.iter_rows(named=True)}
    assert by_code["A81001"]["setting_code"] == "RO76|RO177" and by_code["A81001"]["is_gp_practice"] is True
    assert by_code["A81002"]["setting_code"] == "RO177|RO76" and by_code["A81002"]["is_gp_practice"] is True
    assert by_code["Y09015"]["setting_code"] == "RO72|RO177" and by_code["Y09015"]["is_gp_practice"] is False
    assert by_code["A81065"]["status"] == "dormant"
    assert by_code["A81001"]["address_5"] is None  # empty county
    assert p.frame.drop("setting_code").equals(plain.frame.drop("setting_code"))  # no stray CR in any value
    assert (p.meta, p.period) == (plain.meta, plain.period)


def test_a_role_that_merely_starts_like_ro76_is_not_a_gp_practice(tmp_path: Path) -> None:
    text = (HERE / "epraccur_2025.csv").read_text().replace('"RO72",""', '"RO760|RO7",""')
    f = tmp_path / "epraccur.csv"
    f.write_text(text)
    by_code = {r["code"]: r for r in epraccur.parse(f).frame.iter_rows(named=True)}
    assert by_code["Y09015"]["setting_code"] == "RO760|RO7"
    assert by_code["Y09015"]["is_gp_practice"] is False


def test_a_bad_date_in_a_column_the_service_does_not_use_keeps_the_row(tmp_path: Path) -> None:
    """Join/left provider-purchaser dates are not used: a bad one is blanked and reported, the practice kept."""
    lines = FIXTURE_FILES["epraccur"].read_text().splitlines()
    fields = lines[0].split('","')
    fields[15] = "20201399"  # join date, 13th month
    lines[0] = '","'.join(fields)
    f = tmp_path / "epraccur.csv"
    f.write_text("\n".join(lines) + "\n")
    p = epraccur.parse(f)
    assert p.skipped == []
    row = p.frame.filter(pl.col("code") == "A81001").row(0, named=True)
    assert row["join_date"] is None and row["status"] == "active"
    assert [(c.row, c.column) for c in p.cleared] == [(1, "Join provider/purchaser date")]
    assert "unreadable date '20201399'" in p.cleared[0].reason and "row kept" in p.cleared[0].reason


def test_a_file_cut_inside_its_last_field_is_a_format_error(tmp_path: Path) -> None:
    """The field count is still right (the last field is just shorter): only the missing final line break shows it."""
    f = tmp_path / "epraccur.csv"
    f.write_bytes(FIXTURE_FILES["epraccur"].read_bytes().rstrip(b"\n")[:-2])
    with pytest.raises(DatasetFormatError, match=r"epraccur.csv: ragged or truncated.*does not end with a line break"):
        epraccur.parse(f)
