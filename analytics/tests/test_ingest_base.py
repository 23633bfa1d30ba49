"""The shared contract: date parsing, file sniffing, and failure modes every parser must share."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.ingest.base import DatasetFormatError, parse_date_any
from analytics.ingest.convert import Field, clear_bad_values, convert, dates_of, financial_year_from_name
from analytics.ingest.parsers import PARSERS
from analytics.ingest.tables import check_field_counts, check_final_newline, load_table, number_rows
from analytics.tests.support import FIXTURE_FILES

# Every textual date form parse_date_any documents, as strftime formats. Two-digit years read as 20xx.
FORMATS = [
    "%Y-%m-%d",
    "%Y%m%d",
    "%d/%m/%Y",
    "%d%b%Y",
    "%d%b%Y:upper",
    "%d-%b-%y",
    "%Y-%m-%d %H:%M:%S",
    "%d/%m/%Y %H:%M",
]
_dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31))


def _render(d: dt.date, fmt: str) -> str:
    if fmt.endswith(":upper"):
        return d.strftime(fmt.removesuffix(":upper")).upper()  # 01JAN2021
    return d.strftime(fmt)  # 01May2022 (title case), 01-Sep-20


@settings(max_examples=150, deadline=None)
@given(d=_dates, fmt=st.sampled_from(FORMATS))
def test_parse_date_any_round_trips_every_form(d: dt.date, fmt: str) -> None:
    if fmt == "%d-%b-%y" and d.year < 2000:
        d = d.replace(year=2000 + d.year % 100)  # two-digit years are this century by design
    text = _render(d, fmt)
    assert parse_date_any(text) == d
    assert parse_date_any(f"  {text} ") == d


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.one_of(_dates.map(lambda d: d.strftime("%Y%m%d")), st.text(max_size=10)), max_size=20))
def test_vectorised_dates_agree_with_parse_date_any(values: list[str]) -> None:
    def one(v: str) -> dt.date | None:
        try:
            return parse_date_any(v)
        except ValueError:
            return None

    got = dates_of(pl.Series("d", values, dtype=pl.Utf8)).to_list()
    assert got == [one(v) for v in values]


def test_parse_date_any_rejects_impossible_dates() -> None:
    assert parse_date_any("") is None
    assert parse_date_any(None) is None
    for bad in ("31/02/2020", "20250431", "01FOO2021", "yesterday"):
        with pytest.raises(ValueError):
            parse_date_any(bad)


def test_financial_year_from_name() -> None:
    assert financial_year_from_name("QOF 2022-23.csv", None, file="x") == "2022-23"
    assert financial_year_from_name("nhspaymentsgp-22-23-prac-csv.csv", None, file="x") == "2022-23"
    assert financial_year_from_name("anything.csv", "2019-20", file="x") == "2019-20"
    with pytest.raises(DatasetFormatError):
        financial_year_from_name("nhspaymentsgp-22-25.csv", None, file="x")  # not consecutive years


def test_ragged_check_counts_quoted_delimiters_and_line_breaks() -> None:
    check_field_counts('a,b,c\n"x, y",2,3\r\n"multi\nline",5,6\n\n', ",", 3, "f.csv")
    with pytest.raises(DatasetFormatError, match="line 3 has 2"):
        check_field_counts('a,b,c\n1,2,3\n"x, y",2\n', ",", 3, "f.csv")


def test_first_valid_row_wins_duplicates() -> None:
    df = number_rows(pl.DataFrame({"code": ["A81001", "A81001", "A81001"], "n": ["x", "5", "6"]}))
    rows, skips = convert(
        df, [Field("code", "code"), Field("n", "n", "int", maximum=10)], key=["code"], key_label="practice code"
    )
    assert rows.get_column("n").to_list() == [5]
    assert [(s.row, s.reason) for s in skips] == [(1, "unreadable number 'x'"), (3, "duplicate practice code A81001")]


def test_null_tokens_are_null_never_zero(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_text("a,b,c,d\nNA,-,,N/A\n1,2,3,4\n")
    t = load_table(f)
    assert t.frame.row(0) == (1, None, None, None, None)


def test_registry_has_every_dataset() -> None:
    assert set(PARSERS) == set(FIXTURE_FILES)
    assert len(PARSERS) == 15  # the 13 register and indicator sources, the merger lineage and the closure labels


@pytest.mark.parametrize("dataset", sorted(PARSERS))
def test_empty_binary_and_one_column_files_are_format_errors(dataset: str, tmp_path: Path) -> None:
    name = FIXTURE_FILES[dataset].name  # keep the real name: some parsers read the year from it
    parse = PARSERS[dataset]
    f = tmp_path / name
    for content, message in (
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"PK\x03\x04\x00\x00binary\x00\xff" * 20, "binary|workbook"),
        (b"just one column\nvalue\n", "single column|27 comma-separated|workbook"),
    ):
        f.write_bytes(content)
        with pytest.raises(DatasetFormatError, match=message):
            parse(f)


@pytest.mark.parametrize("dataset", sorted(d for d in PARSERS if d != "epcn"))
def test_truncated_last_line_is_a_format_error(dataset: str, tmp_path: Path) -> None:
    src = FIXTURE_FILES[dataset]
    f = tmp_path / src.name
    data = src.read_bytes().rstrip(b"\r\n")
    cut = data.rfind(b"\n") + 1 + 5  # keep five bytes of the last line
    f.write_bytes(data[:cut])
    if dataset == "qof_prevalence":
        shutil.copy(src.with_name("MAPPING_INDICATORS_2021_v2.csv"), tmp_path)
    with pytest.raises(DatasetFormatError, match="ragged or truncated"):
        PARSERS[dataset](f)


@pytest.mark.parametrize("dataset", sorted(PARSERS))
def test_fixtures_parse_cleanly_into_typed_frames(dataset: str) -> None:
    p = PARSERS[dataset](FIXTURE_FILES[dataset])
    assert p.dataset == dataset
    # the closure labels carry no period in the file (the shipped folder's name gives it, the fixture's does not)
    assert p.layout and (p.period or dataset == "closure_labels")
    assert 10 <= p.rows_read <= 30
    for frame in p.frames.values():
        assert frame.height > 0
        assert "_row" not in frame.columns
        assert not any(c.startswith(("raw:", "_")) for c in frame.columns)


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_a_text_ending_with_a_line_break_is_complete(ending: str) -> None:
    check_final_newline(f"a,b{ending}1,2{ending}", "f.csv")


def test_a_text_cut_inside_its_last_field_is_truncated() -> None:
    with pytest.raises(DatasetFormatError, match=r"f.csv: ragged or truncated.*line break.*'1,2'"):
        check_final_newline("a,b\n1,2", "f.csv")


@pytest.mark.parametrize("dataset", sorted(d for d in PARSERS if d != "epcn"))
def test_every_text_parser_refuses_a_file_cut_inside_its_last_field(dataset: str, tmp_path: Path) -> None:
    """Cut one byte before the end: usually every field is still there (the last only shorter), so only the missing
    final line break shows it; where the last field was empty (GP.csv ends its lines with a delimiter) the field count
    does."""
    src = FIXTURE_FILES[dataset]
    f = tmp_path / src.name
    f.write_bytes(src.read_bytes().rstrip(b"\r\n")[:-1])
    if dataset == "qof_prevalence":
        shutil.copy(src.with_name("MAPPING_INDICATORS_2021_v2.csv"), tmp_path)
    # the lineage's last field is a date, so its cut is seen as an incomplete date before the missing line break
    truncated = (
        r"ragged or truncated.*(does not end with a line break|fields)|not a complete value: the file looks truncated"
    )
    with pytest.raises(DatasetFormatError, match=truncated):
        PARSERS[dataset](f)


def test_clear_bad_values_blanks_the_bad_cell_and_keeps_the_row() -> None:
    df = number_rows(pl.DataFrame({"code": ["A1", "A2", "A3"], "when": ["20250101", "2025-13-45", None]}))
    fields = [Field("code", "code", required=True), Field("when", "when", "date", keep_row=True)]
    cleared_df, cleared = clear_bad_values(df, fields)
    rows, skips = convert(cleared_df, fields)
    assert skips == []
    assert rows.get_column("code").to_list() == ["A1", "A2", "A3"]
    assert rows.get_column("when").to_list() == [dt.date(2025, 1, 1), None, None]
    assert [(c.row, c.column, c.reason) for c in cleared] == [
        (2, "when", "unreadable date '2025-13-45' (value ignored, row kept)")
    ]
    # without keep_row the same value costs the row
    _, dropped = convert(df, [fields[0], Field("when", "when", "date")])
    assert [(s.row, s.column) for s in dropped] == [(2, "when")]


def test_a_file_whose_publisher_writes_no_final_line_break_can_opt_out(tmp_path: Path) -> None:
    """The HEEC practice-lineage file ends without a line break; its parser says so, the others keep the check."""
    f = tmp_path / "lineage.csv"
    f.write_bytes(b"\xef\xbb\xbfcode_2020,code\r\nY07057,Y07057\r\nY07060,Y07060")
    with pytest.raises(DatasetFormatError, match="does not end with a line break"):
        load_table(f)
    table = load_table(f, final_newline=False)
    assert table.frame.get_column("code").to_list() == ["Y07057", "Y07060"]
