"""The three ONS geography files: LSOA11 -> CCG, LSOA21 -> ICB, LSOA11 centroids."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from analytics.ingest import lsoa11_ccg, lsoa11_centroids, lsoa21_icb
from analytics.ingest.base import DatasetFormatError
from analytics.tests.support import FIXTURE_FILES, assert_schema, real_file, skips_by_row

CCG = {
    "lsoa_code": pl.Utf8,
    "lsoa_name": pl.Utf8,
    "ccg_ons_code": pl.Utf8,
    "sub_icb_code": pl.Utf8,
    "ccg_name": pl.Utf8,
    "lad_code": pl.Utf8,
    "lad_name": pl.Utf8,
}
ICB = {"lsoa_code": pl.Utf8, "lsoa_name": pl.Utf8, "icb_ons_code": pl.Utf8, "icb_name": pl.Utf8}
CENTROIDS = {"lsoa_code": pl.Utf8, "lsoa_name": pl.Utf8, "lon": pl.Float64, "lat": pl.Float64}


def test_lsoa11_ccg_fixture_with_bom() -> None:
    p = lsoa11_ccg.parse(FIXTURE_FILES["lsoa11_ccg"])
    assert (p.dataset, p.period, p.rows_read, p.skipped) == ("lsoa11_ccg", "2021-04", 15, [])
    assert_schema(p.frame, CCG)
    assert p.frame.row(0) == (
        "E01007420", "Barnsley 016C", "E38000006", "02P", "NHS Barnsley CCG", "E08000016", "Barnsley",
    )  # fmt: skip


def test_lsoa21_icb_fixture() -> None:
    p = lsoa21_icb.parse(FIXTURE_FILES["lsoa21_icb"])
    assert (p.dataset, p.period, p.rows_read, p.skipped) == ("lsoa21_icb", "2023", 15, [])
    assert_schema(p.frame, ICB)
    assert p.frame.row(0) == (
        "E01000001", "City of London 001A", "E54000029", "NHS North East London Integrated Care Board",
    )  # fmt: skip


def test_centroids_fixture() -> None:
    p = lsoa11_centroids.parse(FIXTURE_FILES["lsoa11_centroids"])
    assert (p.dataset, p.period, p.rows_read, p.skipped) == ("lsoa11_centroids", "2011-12", 14, [])
    assert_schema(p.frame, CENTROIDS)
    assert p.frame.row(0) == ("E01008657", "South Tyneside 009F", -1.494513240643613, 54.972006162608636)
    assert p.meta["english"] == 12  # and two Welsh W01 LSOAs


def test_bad_codes_and_duplicates(tmp_path: Path) -> None:
    lines = FIXTURE_FILES["lsoa21_icb"].read_text().splitlines()
    lines[1] = lines[1].replace("E01000001", "E1000001")
    lines[2] = lines[2].replace("E54000029", "QMF")
    lines.append(lines[3])
    f = tmp_path / "LSOA2021_to_ICB2023.csv"
    f.write_text("\n".join(lines) + "\n")
    assert skips_by_row(lsoa21_icb.parse(f)) == {
        1: ("LSOA21CD", "bad LSOA code 'E1000001'"),
        2: ("ICB23CD", "bad ICB ONS code 'QMF'"),
        16: ("LSOA21CD", "duplicate LSOA E01000003"),
    }


def test_swapped_centroid_axes_are_caught(tmp_path: Path) -> None:
    text = FIXTURE_FILES["lsoa11_centroids"].read_text(encoding="utf-8-sig").replace("X,Y,", "Y,X,", 1)
    f = tmp_path / "centroids.csv"
    f.write_text(text)
    p = lsoa11_centroids.parse(f)
    assert p.frame.height == 0
    assert {s.column for s in p.skipped} == {"X"}  # longitude 54.97 is far outside the UK


def test_missing_column_is_named(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("FID,LSOA11CD,LSOA11NM,CCG21CD,CCG21NM,LAD21CD,LAD21NM\n1,E01007420,B,E38000006,N,E08000016,B\n")
    with pytest.raises(DatasetFormatError, match=r"missing column\(s\): CCG21CDH\."):
        lsoa11_ccg.parse(f)


def test_real_files() -> None:
    ccg = lsoa11_ccg.parse(real_file("lsoa11_ccg"))
    assert (ccg.rows_read, ccg.frame.height, ccg.skipped) == (32_844, 32_844, [])
    assert (ccg.meta["ccgs"], ccg.meta["lads"]) == (106, 309)
    icb = lsoa21_icb.parse(real_file("lsoa21_icb"))
    assert (icb.rows_read, icb.frame.height, icb.skipped) == (33_755, 33_755, [])
    assert icb.meta["icbs"] == 42
    cen = lsoa11_centroids.parse(real_file("lsoa11_centroids"))
    assert (cen.rows_read, cen.frame.height, cen.skipped) == (34_753, 34_753, [])
    assert cen.meta["english"] == 32_844
    city = cen.frame.filter(pl.col("lsoa_code") == "E01000001").row(0, named=True)
    assert (round(city["lon"], 4), round(city["lat"], 4)) == (-0.0963, 51.5196)
