from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from analytics.ingest import qof
from analytics.ingest.base import DatasetFormatError
from analytics.tests.support import FIXTURE_FILES, FIXTURES, assert_schema, real_file, skips_by_row

SCHEMA = {
    "practice_code": pl.Utf8,
    "practice_name": pl.Utf8,
    "sub_icb_code": pl.Utf8,
    "pcn_code": pl.Utf8,
    "list_size": pl.Int64,
    "points": pl.Float64,
    "max_points": pl.Float64,
    "percent_of_max": pl.Float64,
    "register_max_points": pl.Float64,
    "register_percent": pl.Float64,
}
HERE = FIXTURES / "qof"


def test_fixture_with_multiline_bom_header() -> None:
    p = qof.parse(FIXTURE_FILES["qof"])
    assert (p.dataset, p.layout, p.period, p.rows_read) == ("qof", "qof-practice-points", "2022-23", 22)
    assert p.skipped == []
    assert_schema(p.frame, SCHEMA)
    first = p.frame.row(0, named=True)
    assert first == {
        "practice_code": "A84006",
        "practice_name": "Alnwick Medical Group",
        "sub_icb_code": "00L",
        "pcn_code": "U25545",
        "list_size": 18_846,
        "points": 586.63,
        "max_points": 635.0,
        "percent_of_max": 92.38267717,
        "register_max_points": 635.0,
        "register_percent": 92.38267717,
    }
    assert p.meta["unallocated"] == 2
    assert p.frame.get_column("pcn_code").null_count() == 2


def test_headers_matched_by_prefix_when_the_maximum_changes(tmp_path: Path) -> None:
    text = FIXTURE_FILES["qof"].read_bytes()
    for old, new in ((b"(635 max)", b"(564 max)"), (b"/ 635 available", b"/ 564 available"), (b",635,", b",564,")):
        text = text.replace(old, new)
    text = text.replace(b",586.63,", b",500.5,")
    f = tmp_path / "QOF 2019-20.csv"
    f.write_bytes(text)
    p = qof.parse(f)
    assert p.period == "2019-20"
    assert p.meta["max_points"] == 564.0
    # Rows above 564 points are now impossible (points over the maximum) and are skipped.
    assert all("implausible points" in s.reason or "exceed" in s.reason for s in p.skipped)
    assert p.frame.row(0, named=True)["points"] == 500.5


def test_year_from_the_name_or_the_period_argument() -> None:
    with pytest.raises(DatasetFormatError, match=r"cannot tell the financial year.*period='2022-23'"):
        qof.parse(HERE / "QOF practice points.csv")
    p = qof.parse(HERE / "QOF practice points.csv", period="2022-23")
    assert p.period == "2022-23"
    assert p.frame.height == 22


def test_missing_column_is_named() -> None:
    with pytest.raises(DatasetFormatError, match=r"missing column\(s\): QOF points total /\.\.\."):
        qof.parse(HERE / "QOF 2022-23 missing column.csv")


def test_truncated_file_is_a_format_error() -> None:
    with pytest.raises(DatasetFormatError, match=r"ragged or truncated.*12 fields.*line 9 has"):
        qof.parse(HERE / "QOF 2022-23 truncated.csv")


def test_bad_rows_are_skipped_with_row_and_column() -> None:
    p = qof.parse(HERE / "QOF 2022-23 bad rows.csv")
    assert skips_by_row(p) == {
        1: ("List size", "unreadable number 'lots'"),
        2: ("Achievement score (635 max)", "implausible points 700 (max 635)"),
        3: ("Practice code", "missing practice code"),
    }
    # Row 8 repeats row 1, which was skipped: the repeat is the first valid A84006 and is kept.
    assert p.frame.get_column("practice_code").to_list().count("A84006") == 1


def test_real_file_counts() -> None:
    p = qof.parse(real_file("qof"))
    assert (p.period, p.rows_read) == ("2022-23", 6_378)
    assert p.skipped == []
    df = p.frame
    assert df.height == 6_378
    assert df.get_column("list_size").sum() == 62_378_057
    assert round(df.get_column("points").mean(), 1) == 573.8  # type: ignore[arg-type]
    assert df.get_column("points").min() == pytest.approx(76.8, abs=0.05)
    assert df.get_column("points").max() == 635.0


def test_the_2021_22_file_with_bom_crlf_and_sub_icb_naming_is_read() -> None:
    national = Path(__file__).resolve().parents[2] / "data" / "national"
    path = national / "qof_achievement_practice_history" / "QOF 2021-22.csv"
    if not path.exists():
        pytest.skip("history file not shipped in this checkout")
    p = qof.parse(path)
    rows = p.frames["rows"]
    assert (p.period, p.rows_read, p.meta["max_points"]) == ("2021-22", 6_470, 635.0)
    # one practice reports 100.58% of the points available: a publisher error, skipped with its reason
    assert p.skip_reasons() == {"implausible percentage 100.58 (max 100)": 1}
    assert rows.height == 6_469 and rows.get_column("practice_code").str.len_chars().max() == 6
    assert rows.get_column("list_size").sum() < 61_604_213  # the skipped practice's list is not counted
