from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from analytics.ingest import mapping
from analytics.ingest.base import DatasetFormatError
from analytics.tests.support import FIXTURE_FILES, FIXTURES, assert_schema, real_file, skips_by_row

SCHEMA = {
    "practice_code": pl.Utf8,
    "practice_name": pl.Utf8,
    "postcode": pl.Utf8,
    "pcn_code": pl.Utf8,
    "pcn_name": pl.Utf8,
    "sub_icb_code": pl.Utf8,
    "ons_sub_icb_code": pl.Utf8,
    "sub_icb_name": pl.Utf8,
    "icb_code": pl.Utf8,
    "ons_icb_code": pl.Utf8,
    "icb_name": pl.Utf8,
    "region_code": pl.Utf8,
    "ons_region_code": pl.Utf8,
    "region_name": pl.Utf8,
    "supplier": pl.Utf8,
    "extract_date": pl.Date,
}
HERE = FIXTURES / "mapping"


def test_fixture() -> None:
    p = mapping.parse(FIXTURE_FILES["mapping"])
    assert (p.dataset, p.layout, p.period, p.rows_read) == ("mapping", "sub-icb-2022", "2025-10-01", 18)
    assert p.skipped == []
    assert_schema(p.frame, SCHEMA)
    first = p.frame.row(0, named=True)
    assert first["pcn_code"] == "U89141"
    assert first["icb_code"] == "QHM"
    assert first["extract_date"] == dt.date(2025, 10, 1)
    unallocated = p.frame.filter(pl.col("pcn_name") == "Unallocated")
    assert unallocated.height == 2
    assert unallocated.get_column("pcn_code").null_count() == 2  # "U" is not a PCN
    assert p.meta["unallocated"] == 2


def test_ccg_legacy_layout() -> None:
    p = mapping.parse(HERE / "gp-reg-pat-prac-map_ccg_legacy.csv")
    assert p.layout == "ccg-legacy"
    assert p.period == "2021-04-01"
    assert p.skipped == []
    assert_schema(p.frame, SCHEMA)
    first = p.frame.row(0, named=True)
    assert (first["sub_icb_code"], first["icb_code"], first["ons_icb_code"]) == ("16C", "QHM", "E54000050")
    assert p.frame.get_column("supplier").null_count() == p.frame.height  # no SUPPLIER_NAME in old files


def test_missing_column_is_named() -> None:
    with pytest.raises(
        DatasetFormatError, match=r"gp-reg-pat-prac-map_missing_column.csv: missing column\(s\).*: PCN_CODE\."
    ):
        mapping.parse(HERE / "gp-reg-pat-prac-map_missing_column.csv")


def test_ragged_file_is_a_format_error() -> None:
    with pytest.raises(DatasetFormatError, match=r"ragged or truncated.*17 fields.*line 5 has 18"):
        mapping.parse(HERE / "gp-reg-pat-prac-map_ragged.csv")


def test_bad_rows_are_skipped_with_row_and_column() -> None:
    p = mapping.parse(HERE / "gp-reg-pat-prac-map_bad_rows.csv")
    assert skips_by_row(p) == {
        1: ("PCN_CODE", "bad PCN code 'P123'"),
        2: ("ICB_CODE", "missing ICB code"),
        3: ("EXTRACT_DATE", "unreadable date '01Foo2025'"),
        8: ("PRACTICE_CODE", "duplicate practice code A81006"),
    }
    assert p.frame.height == 4


def test_real_file_counts() -> None:
    p = mapping.parse(real_file("mapping"))
    assert (p.layout, p.period, p.rows_read) == ("sub-icb-2022", "2025-10-01", 6_202)
    assert p.skipped == []
    df = p.frame
    assert df.height == 6_202
    assert p.meta["unallocated"] == 71
    assert df.get_column("pcn_code").n_unique() == 1_298  # 1,297 PCNs + null for the unallocated
    assert df.get_column("sub_icb_code").n_unique() == 106
    assert df.get_column("icb_code").n_unique() == 42
    assert df.get_column("region_code").n_unique() == 7
    assert dict(df.get_column("supplier").value_counts().iter_rows()) == {"EMIS": 3_624, "TPP": 2_571, "Unknown": 7}
