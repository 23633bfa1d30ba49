from __future__ import annotations

from pathlib import Path

import polars as pl

from analytics.ingest import cqc
from analytics.tests.support import FIXTURE_FILES, assert_schema, real_file, skips_by_row

SCHEMA = {
    "practice_code": pl.Utf8,
    "location_name": pl.Utf8,
    "rating": pl.Utf8,
    "rating_year": pl.Int64,
    "inherited": pl.Boolean,
    "imd_score": pl.Float64,
    "imd_quintile": pl.Int64,
    "icb_name": pl.Utf8,
}


def test_fixture() -> None:
    p = cqc.parse(FIXTURE_FILES["cqc"])
    assert (p.dataset, p.period, p.rows_read) == ("cqc", "2024-04", 17)
    assert_schema(p.frame, SCHEMA)
    assert skips_by_row(p) == {
        15: ("Practice.Code", "duplicate practice location C84005 Village Health Group, East Leake"),
        16: ("Practice.Code", "missing practice code"),  # locations CQC could not tie to a practice code
        17: ("Practice.Code", "missing practice code"),
    }
    first = p.frame.row(0, named=True)
    assert first == {
        "practice_code": "A81001",
        "location_name": "The Densham Surgery",
        "rating": "Good",
        "rating_year": 2016,
        "inherited": False,
        "imd_score": 29.94546757,
        "imd_quintile": 4,
        "icb_name": "North East and North Cumbria",
    }
    assert "B87016001" in p.frame.get_column("practice_code").to_list()  # branch-site code kept
    # The first C84005 row (2016) is kept; the repeat is skipped.
    assert p.frame.filter(pl.col("practice_code") == "C84005").get_column("rating_year").to_list() == [2016]


def test_unknown_rating_and_flag_are_skipped(tmp_path: Path) -> None:
    lines = FIXTURE_FILES["cqc"].read_text().splitlines()
    lines[1] = lines[1].replace('"Good"', '"Very good"')
    lines[2] = lines[2].replace('"Good","N"', '"Good","maybe"')
    lines[3] = lines[3].replace('"Overall","Overall"', '"Overall","Safe"')
    f = tmp_path / "cqc.csv"
    f.write_text("\n".join(lines) + "\n")
    skips = skips_by_row(cqc.parse(f))
    assert skips[1] == ("latest_rating", "unknown rating 'Very good'")
    assert skips[2] == ("inherited_rating_y_n", "unexpected inherited flag 'maybe'")
    assert skips[3] == ("domain", "unknown domain 'Safe'")


def test_real_file_counts() -> None:
    p = cqc.parse(real_file("cqc"))
    assert p.rows_read == 6_229
    # 42 rows have no practice code (NA) and one location is listed twice (C84005): both skipped, with reasons.
    assert p.skip_reasons() == {
        "missing practice code": 42,
        "duplicate practice location C84005 Village Health Group, East Leake": 1,
    }
    assert p.frame.height == 6_186
    assert p.frame.get_column("rating").n_unique() == 4
    ratings = pl.read_csv(real_file("cqc"), infer_schema=False).get_column("latest_rating").value_counts()
    assert dict(ratings.iter_rows()) == {
        "Good": 5_586,
        "Outstanding": 294,
        "Requires improvement": 292,
        "Inadequate": 57,
    }
