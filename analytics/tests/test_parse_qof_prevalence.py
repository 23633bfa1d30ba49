from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from analytics.ingest import qof_prevalence
from analytics.ingest.base import DatasetFormatError
from analytics.tests.support import FIXTURE_FILES, FIXTURES, assert_schema, real_file, skips_by_row

ROWS = {
    "practice_code": pl.Utf8,
    "group_code": pl.Utf8,
    "register": pl.Int64,
    "list_type": pl.Utf8,
    "list_size": pl.Int64,
}
GROUPS = {"group_code": pl.Utf8, "group_description": pl.Utf8, "domain_code": pl.Utf8, "domain_description": pl.Utf8}


def test_fixture_with_mapping_beside_it() -> None:
    p = qof_prevalence.parse(FIXTURE_FILES["qof_prevalence"])
    assert (p.dataset, p.period, p.rows_read) == ("qof_prevalence", "2020-21", 22)
    assert_schema(p.frames["rows"], ROWS)
    assert_schema(p.frames["groups"], GROUPS)
    # Y05750's learning-disability register (137) is larger than its list (132): impossible, so skipped.
    assert skips_by_row(p) == {22: ("REGISTER", "register 137 exceeds list size 132")}
    assert p.frames["rows"].row(0) == ("A81001", "AF", 95, "TOTAL", 4098)
    groups = p.frames["groups"]
    assert groups.height == groups.get_column("group_code").n_unique() == 26
    assert groups.filter(pl.col("group_code") == "AF").row(0) == ("AF", "Atrial fibrillation", "CL", "Clinical")
    assert p.meta["groups_without_mapping"] == []


def test_year_override_and_missing_mapping(tmp_path: Path) -> None:
    f = tmp_path / "prevalence.csv"
    shutil.copy(FIXTURE_FILES["qof_prevalence"], f)
    with pytest.raises(DatasetFormatError, match="QOF year"):
        qof_prevalence.parse(f)
    with pytest.raises(DatasetFormatError, match=r"expected one MAPPING_INDICATORS"):
        qof_prevalence.parse(f, period="2020-21")
    shutil.copy(FIXTURES / "qof_prevalence" / "MAPPING_INDICATORS_2021_v2.csv", tmp_path)
    assert qof_prevalence.parse(f, period="2020-21").period == "2020-21"


def test_real_file_counts() -> None:
    p = qof_prevalence.parse(real_file("qof_prevalence"))
    assert (p.rows_read, p.period) == (137_991, "2020-21")
    assert p.skip_reasons() == {"register 137 exceeds list size 132": 1}
    rows = p.frames["rows"]
    assert rows.height == 137_990
    assert p.meta["practices"] == 6_571
    assert p.meta["register_groups"] == 21
    assert p.frames["groups"].height == 26  # the mapping also lists groups with no register
