"""GP workforce per practice and financial year (``workforce_year.csv``, a DERIVED file).

Not an NHS original: the Health Equity Evidence Centre averaged NHS England's monthly "General Practice Workforce"
practice-level CSVs over each financial year and joined OHID Fingertips IMD 2019. FTE and headcounts are
therefore means (headcounts need not be whole numbers).

Contract: ``parse(path) -> Parsed`` with one frame ``"rows"``, key (practice_code, fy_end_year):

=======================  =========  ===============================================================
column                   dtype      source column / meaning
=======================  =========  ===============================================================
practice_code            Utf8       Practice.Code
fy_end_year              Int64      Year: the year the financial year ends in (2023 = FY 2022/23)
patients                 Float64    TOTAL_PATIENTS (mean registered list)
gp_fte                   Float64    TOTAL_GP_EXTGL_FTE: fully qualified GPs excl. trainees and locums
locum_trainee_fte        Float64    TOTAL_LOCUUM_TRN_FTE (sic)
nurse_fte                Float64    TOTAL_NURSES_FTE
dpc_fte                  Float64    TOTAL_DPC_FTE: direct patient care staff
admin_fte                Float64    TOTAL_ADMIN_FTE
gp_senior_partner_fte    Float64    TOTAL_GP_SEN_PTNR_FTE
gp_partner_provider_fte  Float64    TOTAL_GP_PTNR_PROV_FTE
nurse_partner_fte        Float64    TOTAL_N_NURSE_PTNR_FTE
admin_partner_fte        Float64    TOTAL_ADMIN_MANAGE_PTNR_FTE
partners_per_gp_fte      Float64    TOTAL_PTNR_PER_GP_FTE
gp_hc .. admin_hc        Float64    TOTAL_GP_EXTGL_HC, TOTAL_LOCUUM_TRN_HC, TOTAL_NURSES_HC, TOTAL_DPC_HC,
                                    TOTAL_ADMIN_HC (mean headcounts)
imd_score                Float64    IMD (practice IMD 2019 score)
imd_quintile             Int64      IMD_quintile (1 least .. 5 most deprived; NA for many 2025 rows)
=======================  =========  ===============================================================

All measures are nullable: ``NA`` (no return that year) is null, never 0. The period is the span of financial
years, e.g. ``2022-23 to 2024-25``.
"""

from __future__ import annotations

from pathlib import Path

from .base import (
    MAX_FTE,
    MAX_LIST_SIZE,
    PRACTICE_CODE_RE,
    DatasetFormatError,
    Field,
    Parsed,
    convert,
    load_table,
    require_columns,
    without_row,
)

DATASET = "workforce"
LAYOUT = "heec-workforce-year"

FTE = {
    "gp_fte": "TOTAL_GP_EXTGL_FTE",
    "locum_trainee_fte": "TOTAL_LOCUUM_TRN_FTE",
    "nurse_fte": "TOTAL_NURSES_FTE",
    "dpc_fte": "TOTAL_DPC_FTE",
    "admin_fte": "TOTAL_ADMIN_FTE",
    "gp_senior_partner_fte": "TOTAL_GP_SEN_PTNR_FTE",
    "gp_partner_provider_fte": "TOTAL_GP_PTNR_PROV_FTE",
    "nurse_partner_fte": "TOTAL_N_NURSE_PTNR_FTE",
    "admin_partner_fte": "TOTAL_ADMIN_MANAGE_PTNR_FTE",
    "partners_per_gp_fte": "TOTAL_PTNR_PER_GP_FTE",
}
HEADCOUNT = {
    "gp_hc": "TOTAL_GP_EXTGL_HC",
    "locum_trainee_hc": "TOTAL_LOCUUM_TRN_HC",
    "nurse_hc": "TOTAL_NURSES_HC",
    "dpc_hc": "TOTAL_DPC_HC",
    "admin_hc": "TOTAL_ADMIN_HC",
}


def fy_label(end_year: int) -> str:
    """2023 -> ``2022-23``."""
    return f"{end_year - 1}-{end_year % 100:02d}"


def parse(path: Path) -> Parsed:
    path = Path(path)
    table = load_table(path)
    required = ["Practice.Code", "Year", "TOTAL_PATIENTS", *FTE.values(), *HEADCOUNT.values(), "IMD", "IMD_quintile"]
    require_columns(path.name, table.header, required)
    fields = [
        Field("Practice.Code", "practice_code", what="practice code", required=True, pattern=PRACTICE_CODE_RE),
        Field("Year", "fy_end_year", "int", what="year", required=True, minimum=2000, maximum=2100),
        Field("TOTAL_PATIENTS", "patients", "float", what="patients", maximum=MAX_LIST_SIZE),
        *[Field(src, name, "float", what=src, maximum=MAX_FTE) for name, src in FTE.items()],
        *[Field(src, name, "float", what=src, maximum=MAX_FTE) for name, src in HEADCOUNT.items()],
        Field("IMD", "imd_score", "float", what="IMD score", maximum=100),
        Field("IMD_quintile", "imd_quintile", "int", what="IMD quintile", minimum=1, maximum=5),
    ]
    rows, skips = convert(table.frame, fields, key=["practice_code", "fy_end_year"], key_label="practice and year")
    years = rows.get_column("fy_end_year")
    if years.len() == 0:
        raise DatasetFormatError(f"{path.name}: no readable rows")
    first, last = int(years.min()), int(years.max())  # type: ignore[arg-type]
    per_year = rows.group_by("fy_end_year").len().sort("fy_end_year")
    return Parsed(
        dataset=DATASET,
        layout=LAYOUT,
        period=fy_label(first) if first == last else f"{fy_label(first)} to {fy_label(last)}",
        rows_read=table.rows,
        frames={"rows": without_row(rows)},
        skipped=skips,
        meta={"rows_per_year": {int(y): int(n) for y, n in per_year.iter_rows()}},
    )
