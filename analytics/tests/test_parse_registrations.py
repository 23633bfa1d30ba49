from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.ingest import registrations
from analytics.ingest.base import DatasetFormatError
from analytics.tests.support import FIXTURE_FILES, FIXTURES, assert_schema, real_file, skips_by_row

SCHEMA = {
    "code": pl.Utf8,
    "extract_date": pl.Date,
    "sub_icb_code": pl.Utf8,
    "ons_sub_icb_code": pl.Utf8,
    "postcode": pl.Utf8,
    "patients": pl.Int64,
}
HERE = FIXTURES / "registrations"


def test_current_layout_fixture() -> None:
    p = registrations.parse(FIXTURE_FILES["registrations"])
    assert (p.dataset, p.layout, p.period, p.rows_read) == ("registrations", "sub-icb-2022", "2025-04-01", 20)
    assert p.skipped == []
    assert_schema(p.frame, SCHEMA)
    assert p.frame.row(0) == ("A81001", dt.date(2025, 4, 1), "16C", "E38000247", "TS18 1HU", 3904)
    assert p.meta["filtered"] == 0


@pytest.mark.parametrize(
    ("name", "date"),
    [
        ("gp-reg-pat-prac-all_ccg_2021-01.csv", dt.date(2021, 1, 1)),  # 01JAN2021
        ("gp-reg-pat-prac-all_ccg_2022-05.csv", dt.date(2022, 5, 1)),  # 01May2022
        ("gp-reg-pat-prac-all_ccg_2020-09.csv", dt.date(2020, 9, 1)),  # 01-Sep-20
    ],
)
def test_ccg_legacy_layout_and_old_date_forms(name: str, date: dt.date) -> None:
    p = registrations.parse(HERE / name)
    assert p.layout == "ccg-legacy"
    assert p.period == date.isoformat()
    assert p.skipped == []
    assert_schema(p.frame, SCHEMA)
    assert p.frame.height == 12
    assert p.frame.get_column("extract_date").unique().to_list() == [date]
    assert p.frame.get_column("sub_icb_code").to_list()[0] == "16C"  # CCG_CODE fills sub_icb_code


def test_breakdown_rows_are_filtered_not_skipped(tmp_path: Path) -> None:
    lines = FIXTURE_FILES["registrations"].read_text().splitlines()
    extra = [
        lines[1].replace(",ALL,ALL,3904", ",MALE,ALL,1900"),
        lines[1].replace(",ALL,ALL,3904", ",ALL,0_4,200"),
        lines[1].replace(",GP,", ",SUB_ICB,"),
    ]
    f = tmp_path / "gp-reg-pat-prac-all.csv"
    f.write_text("\n".join([*lines, *extra]) + "\n")
    p = registrations.parse(f)
    assert p.rows_read == 23
    assert p.meta["filtered"] == 3
    assert p.frame.height == 20
    assert p.skipped == []


def test_missing_column_is_named() -> None:
    with pytest.raises(
        DatasetFormatError, match=r"missing column\(s\) for the sub-icb-2022 layout: NUMBER_OF_PATIENTS"
    ):
        registrations.parse(HERE / "gp-reg-pat-prac-all_missing_column.csv")


def test_neither_layout_mentions_the_legacy_columns(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text(
        "PUBLICATION,EXTRACT_DATE,TYPE,CODE,POSTCODE,SEX,AGE,NUMBER_OF_PATIENTS\nP,2025-04-01,GP,A81001,,ALL,ALL,1\n"
    )
    with pytest.raises(DatasetFormatError, match=r"SUB_ICB_LOCATION_CODE, ONS_SUB_ICB_LOCATION_CODE.*CCG_CODE"):
        registrations.parse(f)


def test_truncated_file_is_a_format_error() -> None:
    with pytest.raises(DatasetFormatError, match=r"ragged or truncated.*10 fields.*line 11 has"):
        registrations.parse(HERE / "gp-reg-pat-prac-all_truncated.csv")


def test_bad_rows_are_skipped_with_row_and_column() -> None:
    p = registrations.parse(HERE / "gp-reg-pat-prac-all_bad_rows.csv")
    assert skips_by_row(p) == {
        1: ("NUMBER_OF_PATIENTS", "unreadable number 'abc'"),
        2: ("EXTRACT_DATE", "unreadable date '31/02/2020'"),
        3: ("NUMBER_OF_PATIENTS", "negative number of patients -5"),
        4: ("CODE", "bad practice code 'XYZ'"),
        5: ("NUMBER_OF_PATIENTS", "implausible number of patients 2000000 (max 1,000,000)"),
        6: ("NUMBER_OF_PATIENTS", "number of patients is not a whole number '12.5'"),
        7: ("NUMBER_OF_PATIENTS", "missing number of patients"),
        10: ("CODE", "duplicate practice code A81011"),
    }
    assert p.rows_read == 10
    assert p.frame.get_column("code").to_list() == ["A81011", "A81012"]


# --- fuzzing: garbage in the two typed cells never escapes as anything but a skip or a DatasetFormatError ---------

_BASE_ROWS = [
    ["GP_PRAC_PAT_LIST", "2025-04-01", "GP", "16C", "E38000247", f"A8100{i}", "TS18 1HU", "ALL", "ALL", str(1000 + i)]
    for i in range(1, 6)
]
_HEADER = [
    "PUBLICATION", "EXTRACT_DATE", "TYPE", "SUB_ICB_LOCATION_CODE", "ONS_SUB_ICB_LOCATION_CODE", "CODE", "POSTCODE",
    "SEX", "AGE", "NUMBER_OF_PATIENTS",
]  # fmt: skip
_garbage = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "NA", "-", " 12 ", "1e3", "-0", "nan", "inf", "12.0", "9" * 30, "01JAN2021", "2025-02-30"]),
    st.integers(-(10**12), 10**12).map(str),
    st.dates().map(lambda d: d.strftime("%d%b%Y")),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cells=st.lists(st.tuples(st.booleans(), _garbage), min_size=1, max_size=5))
def test_fuzzed_cells_are_skipped_or_rejected(cells: list[tuple[bool, str]]) -> None:
    rows = [list(r) for r in _BASE_ROWS]
    touched: dict[int, str] = {}
    for i, (in_date, value) in enumerate(cells):
        column = "EXTRACT_DATE" if in_date else "NUMBER_OF_PATIENTS"
        rows[i][_HEADER.index(column)] = value
        touched[i + 1] = column
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([_HEADER, *rows])
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "gp-reg-pat-prac-all.csv"
        f.write_text(buf.getvalue(), encoding="utf-8")
        try:
            p = registrations.parse(f)
        except DatasetFormatError:
            return
    assert p.rows_read == len(rows)
    assert p.frame.height + len(p.skipped) == len(rows)
    for s in p.skipped:
        assert s.row in touched, s
        assert s.column == touched[s.row], s
    df = p.frame
    assert df.get_column("patients").is_null().sum() == 0
    assert df.get_column("extract_date").is_null().sum() == 0
    assert df.filter((pl.col("patients") < 0) | (pl.col("patients") > 1_000_000)).height == 0


def test_real_file_counts() -> None:
    p = registrations.parse(real_file("registrations"))
    assert (p.layout, p.period, p.rows_read) == ("sub-icb-2022", "2025-04-01", 6_239)
    assert p.skipped == []
    df = p.frame
    assert df.height == 6_239
    assert df.get_column("patients").sum() == 63_769_849
    assert df.get_column("sub_icb_code").n_unique() == 106
    assert (df.get_column("patients").min(), df.get_column("patients").max()) == (1, 100_329)


def test_bad_values_in_columns_the_service_does_not_use_keep_the_row(tmp_path: Path) -> None:
    """Only code, extract date and patients are used: a bad sub-ICB, ONS code or postcode is blanked, the row kept."""
    lines = FIXTURE_FILES["registrations"].read_text().splitlines()
    lines[1] = lines[1].replace(",16C,E38000247,", ",16-C,E3800024,")
    lines[2] = lines[2].replace(",TS18 2AW,", ",NOT A POSTCODE,")
    f = tmp_path / "gp-reg-pat-prac-all.csv"
    f.write_text("\n".join(lines) + "\n")
    p = registrations.parse(f)
    assert p.skipped == []
    assert p.frame.height == 20
    assert p.frame.row(0) == ("A81001", dt.date(2025, 4, 1), None, None, "TS18 1HU", 3904)
    assert p.frame.row(1)[4] is None and p.frame.row(1)[5] == 18758
    assert [(c.row, c.column) for c in p.cleared] == [
        (1, "SUB_ICB_LOCATION_CODE"),
        (1, "ONS_SUB_ICB_LOCATION_CODE"),
        (2, "POSTCODE"),
    ]
    assert all(c.reason.endswith("(value ignored, row kept)") for c in p.cleared)


def test_the_publishers_zip_is_read_as_it_comes(tmp_path: Path) -> None:
    """Since 2023 the file is published as gp-reg-pat-prac-all.zip holding the one CSV."""
    import zipfile

    z = tmp_path / "gp-reg-pat-prac-all.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.write(FIXTURE_FILES["registrations"], "gp-reg-pat-prac-all.csv")
    zipped, plain = registrations.parse(z), registrations.parse(FIXTURE_FILES["registrations"])
    assert (zipped.layout, zipped.period, zipped.rows_read) == (plain.layout, plain.period, plain.rows_read)
    assert zipped.frame.equals(plain.frame)
    z.write_bytes(z.read_bytes()[:-40])  # cut short: the archive's directory is lost
    with pytest.raises(DatasetFormatError, match=r"gp-reg-pat-prac-all.zip: .*damaged or truncated zip"):
        registrations.parse(z)


def test_a_zip_with_anything_but_one_csv_is_refused(tmp_path: Path) -> None:
    import zipfile

    z = tmp_path / "gp-reg-pat-prac-all.zip"
    with zipfile.ZipFile(z, "w") as archive:
        archive.write(FIXTURE_FILES["registrations"], "a.csv")
        archive.writestr("readme.txt", "notes")
    with pytest.raises(DatasetFormatError, match=r"exactly one CSV file; it holds a.csv, readme.txt"):
        registrations.parse(z)
