"""Shared test helpers: fixture paths and schema checks."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
NATIONAL = Path(__file__).resolve().parents[2] / "data" / "national"

# The real files, by dataset id (relative to data/national).
REAL_FILES = {
    "epraccur": "ods_epraccur/epraccur.csv",
    "registrations": "gp_registered_patients_practice/gp-reg-pat-prac-all.csv",
    "mapping": "gp_practice_pcn_icb_mapping/gp-reg-pat-prac-map.csv",
    "epcn": "ods_epcn/ePCN.xlsx",
    "workforce": "gp_workforce_derived/workforce_year.csv",
    "cqc": "cqc_gp_ratings_derived/cqc.csv",
    "qof": "qof_achievement_practice/QOF 2022-23.csv",
    "payments": "nhs_payments_gp_practice/nhspaymentsgp-22-23-prac-csv.csv",
    "locations": "nhs_website_gp_locations/GP.csv",
    "lsoa11_ccg": "lsoa_icb_lookups/Lower_Layer_Super_Output_Area_(2011)_to_Clinical_Commissioning_Group_to_Local_"
    "Authority_District_(April_2021)_Lookup_in_England.csv",
    "lsoa21_icb": "lsoa_icb_lookups/LSOA2021_to_ICB2023.csv",
    "lsoa11_centroids": "ons_lsoa2011_pop_weighted_centroids/Lower_Layer_Super_Output_Areas_December_2011_Population_"
    "Weighted_Centroids.csv",
    "qof_prevalence": "qof_raw_prevalence_2020-21/PREVALENCE_2021_v2.csv",
    "lineage": "practice_merger_lineage_2013-2022/sidhu.csv",
    "closure_labels": "closure_outcomes_to_2023-03/final.csv",
}

# The small real-format fixture of each dataset (same file names as the real ones where the name matters).
FIXTURE_FILES = {dataset: FIXTURES / dataset / Path(rel).name for dataset, rel in REAL_FILES.items()}


def real_file(dataset: str) -> Path:
    """The full national file, or skip when this checkout does not carry data/national."""
    path = NATIONAL / REAL_FILES[dataset]
    if not path.exists():
        pytest.skip(f"real file not present: {path}")
    return path


def assert_schema(df: pl.DataFrame, expected: Mapping[str, type[pl.DataType] | pl.DataType]) -> None:
    """Exactly these columns, in this order, with these dtypes."""
    assert list(df.columns) == list(expected), f"columns {df.columns} != {list(expected)}"
    for name, dtype in expected.items():
        assert df.schema[name] == dtype, f"{name}: {df.schema[name]} != {dtype}"


def skips_by_row(parsed: object) -> dict[int, tuple[str | None, str]]:
    return {s.row: (s.column, s.reason) for s in parsed.skipped}  # type: ignore[attr-defined]
