from __future__ import annotations

from pathlib import Path

import polars as pl

from analytics.ingest import locations
from analytics.tests.support import FIXTURE_FILES, assert_schema, real_file, skips_by_row

SCHEMA = {
    "code": pl.Utf8,
    "name": pl.Utf8,
    "org_type": pl.Utf8,
    "status": pl.Utf8,
    "postcode": pl.Utf8,
    "lat": pl.Float64,
    "lon": pl.Float64,
    "parent_code": pl.Utf8,
}


def test_latin1_not_sign_fixture() -> None:
    p = locations.parse(FIXTURE_FILES["locations"])
    assert (p.dataset, p.period, p.rows_read) == ("locations", "2019-05", 14)
    assert p.skipped == []
    assert_schema(p.frame, SCHEMA)
    assert p.meta["delimiter"] == "¬"
    first = p.frame.row(1, named=True)
    assert first["code"] == "A81001"
    assert first["lat"] == 54.561626434326172
    assert first["lon"] == -1.3189703226089478
    assert first["parent_code"] == "00K"
    j = p.frame.filter(pl.col("code") == "J82217").row(0, named=True)
    assert (j["lat"], j["lon"], j["postcode"]) == (None, None, None)  # missing, not 0
    assert p.meta["branches"] == 2  # A81013001, A82016003


def test_utf8_comma_resave_also_reads(tmp_path: Path) -> None:
    text = FIXTURE_FILES["locations"].read_bytes().decode("latin-1").replace("¬", "\t")
    f = tmp_path / "GP.csv"
    f.write_text(text, encoding="utf-8")
    p = locations.parse(f)
    assert p.meta["delimiter"] == "\t"
    assert p.frame.height == 14


def test_points_outside_the_uk_and_half_pairs_are_skipped(tmp_path: Path) -> None:
    lines = FIXTURE_FILES["locations"].read_bytes().decode("latin-1").splitlines()
    lines[1] = lines[1].replace("¬53.484138488769531¬", "¬153.484138488769531¬")
    lines[2] = lines[2].replace("¬-1.3189703226089478¬", "¬¬")
    f = tmp_path / "GP.csv"
    f.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    assert skips_by_row(locations.parse(f)) == {
        1: ("Latitude", "implausible latitude 153.484138488769531 (max 61)"),
        2: ("Longitude", "latitude and longitude must both be given or both be missing"),
    }


def test_real_file_counts() -> None:
    p = locations.parse(real_file("locations"))
    assert p.rows_read == 8_883
    assert p.skipped == []
    df = p.frame
    assert df.height == 8_883
    assert df.get_column("code").n_unique() == 8_883
    assert df.get_column("lat").null_count() == 1
    lat, lon = df.get_column("lat"), df.get_column("lon")
    assert (round(lat.min(), 2), round(lat.max(), 2)) == (49.91, 57.41)  # type: ignore[arg-type]
    assert (round(lon.min(), 2), round(lon.max(), 2)) == (-7.19, 1.76)  # type: ignore[arg-type]
