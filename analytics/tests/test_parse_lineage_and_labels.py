"""Parsers of the two research files behind the closure-or-merger rule: the merger lineage and the outcome labels."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from analytics.ingest.base import DatasetFormatError
from analytics.ingest.closure_labels import parse as parse_labels
from analytics.ingest.lineage import parse as parse_lineage
from analytics.tests.support import FIXTURE_FILES, assert_schema, real_file


def test_lineage_keeps_only_links_with_the_date_the_predecessor_stopped() -> None:
    parsed = parse_lineage(FIXTURE_FILES["lineage"])
    assert_schema(parsed.frame, {"predecessor": pl.Utf8, "successor": pl.Utf8, "absorbed": pl.Date})
    assert parsed.frame.rows() == [
        ("A81003", "A81044", date(2016, 10, 1)),
        ("A81008", "A81042", date(2017, 1, 1)),
        ("A81015", "A81042", date(2018, 4, 1)),
    ]
    assert parsed.meta["identity_rows"] == 17 and parsed.rows_read == 20
    assert parsed.period == "2018-04" and parsed.layout == "sidhu-2022"


def test_lineage_without_its_columns_is_refused_naming_them(tmp_path: Path) -> None:
    f = tmp_path / "sidhu.csv"
    f.write_text("code_April_2020,previous_practice_codes\nA81001,A81001\n", encoding="utf-8")
    with pytest.raises(DatasetFormatError, match="lm_1000_previous_codes"):
        parse_lineage(f)


def test_a_lineage_row_with_a_bad_code_is_skipped_and_named(tmp_path: Path) -> None:
    f = tmp_path / "sidhu.csv"
    f.write_text(
        "code_April_2020,previous_practice_codes,lm_1000_previous_codes\nA81044,??,01/01/2017\nA81044,A81003,01/10/2016\n",
        encoding="utf-8",
    )
    parsed = parse_lineage(f)
    assert parsed.frame.height == 1
    assert [(s.row, s.column) for s in parsed.skipped] == [(1, "previous_practice_codes")]


def test_a_lineage_cut_inside_its_last_field_is_refused_as_truncated(tmp_path: Path) -> None:
    f = tmp_path / "sidhu.csv"
    f.write_bytes(FIXTURE_FILES["lineage"].read_bytes()[:-2])  # no final line break: the cut leaves "01/04/20"
    with pytest.raises(DatasetFormatError, match="truncated"):
        parse_lineage(f)


def test_the_real_lineage_has_the_1086_links_heec_quotes() -> None:
    parsed = parse_lineage(real_file("lineage"))
    assert parsed.frame.height == 1086 and parsed.period == "2022-04" and not parsed.skipped


def test_labels_are_closure_or_merger_with_the_period_from_the_folder() -> None:
    parsed = parse_labels(FIXTURE_FILES["closure_labels"])
    assert_schema(parsed.frame, {"practice_code": pl.Utf8, "label": pl.Utf8})
    assert parsed.frame.get_column("label").value_counts().sort("label").rows() == [("closure", 7), ("merger", 8)]
    assert parsed.period == ""  # the fixture folder carries no "_to_YYYY-MM"
    real = parse_labels(real_file("closure_labels"))
    assert real.period == "2023-03" and real.frame.height == 538 and real.meta["closures"] == 137


def test_an_unknown_outcome_is_a_format_change(tmp_path: Path) -> None:
    f = tmp_path / "final.csv"
    f.write_text("Practice.Code,Outcome,Outcome2\nA81001,NA,Relocated\n", encoding="utf-8")
    with pytest.raises(DatasetFormatError, match="Relocated"):
        parse_labels(f)
