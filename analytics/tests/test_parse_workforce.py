from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from analytics.ingest import workforce
from analytics.ingest.base import DatasetFormatError
from analytics.tests.support import FIXTURE_FILES, assert_schema, real_file, skips_by_row

FLOATS = [
    "gp_fte", "locum_trainee_fte", "nurse_fte", "dpc_fte", "admin_fte", "gp_senior_partner_fte",
    "gp_partner_provider_fte", "nurse_partner_fte", "admin_partner_fte", "partners_per_gp_fte",
    "admin_manager_fte", "admin_reception_fte", "admin_telephonist_fte", "gp_hc",
    "locum_trainee_hc", "nurse_hc", "dpc_hc", "admin_hc", "imd_score",
]  # fmt: skip
SCHEMA = {
    "practice_code": pl.Utf8,
    "fy_end_year": pl.Int64,
    "patients": pl.Float64,
    **dict.fromkeys(FLOATS, pl.Float64),
    "imd_quintile": pl.Int64,
}


def test_fixture() -> None:
    p = workforce.parse(FIXTURE_FILES["workforce"])
    assert (p.dataset, p.period, p.rows_read) == ("workforce", "2022-23 to 2024-25", 21)
    assert p.skipped == []
    assert_schema(p.frame, SCHEMA)
    a2025 = p.frame.filter((pl.col("practice_code") == "A81001") & (pl.col("fy_end_year") == 2025)).row(0, named=True)
    assert a2025["patients"] == pytest.approx(3888.7)
    assert a2025["gp_fte"] == 2.0
    assert a2025["locum_trainee_fte"] == 2.4
    assert a2025["imd_quintile"] is None  # "NA" is missing, never 0
    assert p.meta["rows_per_year"] == {2023: 7, 2024: 7, 2025: 7}


def test_bad_values_and_duplicates(tmp_path: Path) -> None:
    lines = FIXTURE_FILES["workforce"].read_text().splitlines()
    lines[1] = lines[1].replace(",2,1.8,0.5,", ",1500,1.8,0.5,", 1)  # 1,500 GP FTE is absurd
    lines[2] = lines[2].replace('"2024"', '"20x4"')
    lines.append(lines[3])
    f = tmp_path / "workforce_year.csv"
    f.write_text("\n".join(lines) + "\n")
    p = workforce.parse(f)
    assert skips_by_row(p) == {
        1: ("TOTAL_GP_EXTGL_FTE", "implausible TOTAL_GP_EXTGL_FTE 1500 (max 1,000)"),
        2: ("Year", "unreadable number '20x4'"),
        22: ("Practice.Code", "duplicate practice and year A81001 2025"),
    }


def test_missing_column_is_named(tmp_path: Path) -> None:
    text = FIXTURE_FILES["workforce"].read_text().replace('"TOTAL_DPC_FTE"', '"TOTAL_DPC"')
    f = tmp_path / "workforce_year.csv"
    f.write_text(text)
    with pytest.raises(DatasetFormatError, match=r"missing column\(s\): TOTAL_DPC_FTE\."):
        workforce.parse(f)


def test_real_file_counts() -> None:
    p = workforce.parse(real_file("workforce"))
    assert (p.rows_read, p.period) == (19_166, "2022-23 to 2024-25")
    assert p.skipped == []
    assert p.frame.height == 19_166
    assert p.meta["rows_per_year"] == {2023: 6_478, 2024: 6_395, 2025: 6_293}
    missing_gp = p.frame.filter(pl.col("gp_fte").is_null()).group_by("fy_end_year").len().sort("fy_end_year")
    assert missing_gp.rows() == [(2023, 17), (2024, 69), (2025, 68)]
    fy24 = p.frame.filter(pl.col("fy_end_year") == 2024)
    assert round(fy24.get_column("gp_fte").sum()) == 26_625
    assert round(float(fy24.get_column("patients").sum()) / 1e6, 2) == 62.99


HISTORY = Path(__file__).resolve().parents[2] / "data" / "national" / "gp_workforce_history_fy2016-2024"


@pytest.mark.parametrize(
    ("name", "layout", "has", "lacks"),
    [
        ("workforce_year_gp_admin.csv", "heec-workforce-history-gp-admin", "admin_manager_fte", "nurse_fte"),
        ("workforce_year_nurses_dpc.csv", "heec-workforce-history-nurses-dpc", "nurse_fte", "admin_manager_fte"),
    ],
)
def test_history_layouts_read_their_own_columns_and_leave_the_rest_unlisted(
    name: str, layout: str, has: str, lacks: str
) -> None:
    path = HISTORY / name
    if not path.exists():
        pytest.skip("history file not shipped in this checkout")
    p = workforce.parse(path)
    assert (p.layout, p.period, p.frame.height, p.skipped) == (layout, "2015-16 to 2023-24", 62_673, [])
    assert_schema(p.frame, SCHEMA)
    assert has in p.meta["measures"] and lacks not in p.meta["measures"]  # type: ignore[operator]
    assert p.frame.get_column(lacks).null_count() == p.frame.height
    fy22 = p.frame.filter(pl.col("fy_end_year") == 2022)
    assert (fy22.height, round(fy22.get_column("gp_fte").sum())) == (6_587, 26_927)  # PROVENANCE sanity table


def test_a_file_with_only_the_common_columns_is_refused_naming_what_the_full_layout_lacks(tmp_path: Path) -> None:
    f = tmp_path / "workforce_year.csv"
    f.write_text(
        '"Practice.Code","Year","TOTAL_PATIENTS","TOTAL_GP_EXTGL_FTE","TOTAL_ADMIN_FTE","IMD","IMD_quintile"\n'
        '"A81001","2016",4222,2.1,6.2,29.9,"4"\n'
    )
    with pytest.raises(DatasetFormatError, match=r"missing column\(s\): TOTAL_LOCUUM_TRN_FTE"):
        workforce.parse(f)
