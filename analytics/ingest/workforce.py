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

admin_manager_fte        Float64    TOTAL_ADMIN_MANAGER_FTE (practice managers; history layout only)
admin_reception_fte      Float64    TOTAL_ADMIN_RECEPT_FTE (receptionists; history layout only)
admin_telephonist_fte    Float64    TOTAL_ADMIN_TELEPH_FTE (telephonists; history layout only)
=======================  =========  ===============================================================

All measures are nullable: ``NA`` (no return that year) is null, never 0. The period is the span of financial
years, e.g. ``2022-23 to 2024-25``.

Layouts (the same compiler published different column sets at different commits; see the PROVENANCE files):

* ``heec-workforce-year``: every column above except the admin sub-roles (FY 2022/23 to 2024/25);
* ``heec-workforce-history-gp-admin``: GP headcount/FTE, admin FTE and its sub-roles (FY 2015/16 to 2023/24);
* ``heec-workforce-history-nurses-dpc``: GP, locum/trainee, nurse, DPC and admin FTE (FY 2015/16 to 2023/24).

Columns a layout lacks are null in the frame and **not** listed in ``meta["measures"]``: the loader writes only the
listed measures, so loading one history file never blanks what the other one loaded. The nurses/DPC layout lists
only the columns it adds (``ADDS_ONLY``).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from analytics.ingest.base import DatasetFormatError, Parsed, require_columns
from analytics.ingest.convert import Field, convert, without_row
from analytics.ingest.tables import MAX_FTE, MAX_LIST_SIZE, PRACTICE_CODE_RE, load_table

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
ADMIN_ROLES = {
    "admin_manager_fte": "TOTAL_ADMIN_MANAGER_FTE",
    "admin_reception_fte": "TOTAL_ADMIN_RECEPT_FTE",
    "admin_telephonist_fte": "TOTAL_ADMIN_TELEPH_FTE",
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


MEASURES = {**FTE, **ADMIN_ROLES, **HEADCOUNT}
COMMON = ["Practice.Code", "Year", "TOTAL_PATIENTS", "TOTAL_GP_EXTGL_FTE", "TOTAL_ADMIN_FTE", "IMD", "IMD_quintile"]
LAYOUTS: dict[str, tuple[str, ...]] = {
    LAYOUT: tuple(c for c in (*FTE.values(), *HEADCOUNT.values()) if c not in COMMON),
    "heec-workforce-history-gp-admin": ("TOTAL_GP_EXTGL_HC", *ADMIN_ROLES.values()),
    "heec-workforce-history-nurses-dpc": ("TOTAL_LOCUUM_TRN_FTE", "TOTAL_NURSES_FTE", "TOTAL_DPC_FTE"),
}


# The nurses/DPC history file repeats the GP/admin file's shared columns (patients, GP and admin FTE, IMD), with a
# few values that differ: it adds only its own columns, so loading both, in any order, always gives one answer.
ADDS_ONLY: dict[str, tuple[str, ...]] = {
    "heec-workforce-history-nurses-dpc": ("locum_trainee_fte", "nurse_fte", "dpc_fte"),
}


def _layout(file: str, header: list[str]) -> str:
    """The first layout whose distinguishing columns are all present; the full layout's error otherwise."""
    for name, columns in LAYOUTS.items():
        if all(c in header for c in (*COMMON, *columns)):
            return name
    require_columns(file, header, [*COMMON, *LAYOUTS[LAYOUT]])  # names what the full layout lacks
    raise DatasetFormatError(f"{file}: not a known workforce layout")  # pragma: no cover - require_columns raised


def parse(path: Path) -> Parsed:
    path = Path(path)
    table = load_table(path)
    layout = _layout(path.name, table.header)
    present = {name: src for name, src in MEASURES.items() if src in table.header}
    fields = [
        Field("Practice.Code", "practice_code", what="practice code", required=True, pattern=PRACTICE_CODE_RE),
        Field("Year", "fy_end_year", "int", what="year", required=True, minimum=2000, maximum=2100),
        Field("TOTAL_PATIENTS", "patients", "float", what="patients", maximum=MAX_LIST_SIZE),
        *[Field(src, name, "float", what=src, maximum=MAX_FTE) for name, src in present.items()],
        Field("IMD", "imd_score", "float", what="IMD score", maximum=100),
        Field("IMD_quintile", "imd_quintile", "int", what="IMD quintile", minimum=1, maximum=5),
    ]
    rows, skips = convert(table.frame, fields, key=["practice_code", "fy_end_year"], key_label="practice and year")
    rows = rows.with_columns(pl.lit(None, dtype=pl.Float64).alias(n) for n in MEASURES if n not in present)
    years = rows.get_column("fy_end_year")
    if years.len() == 0:
        raise DatasetFormatError(f"{path.name}: no readable rows")
    first, last = int(years.min()), int(years.max())  # type: ignore[arg-type]
    per_year = rows.group_by("fy_end_year").len().sort("fy_end_year")
    return Parsed(
        dataset=DATASET,
        layout=layout,
        period=fy_label(first) if first == last else f"{fy_label(first)} to {fy_label(last)}",
        rows_read=table.rows,
        frames={
            "rows": without_row(rows).select(
                "practice_code", "fy_end_year", "patients", *MEASURES, "imd_score", "imd_quintile"
            )
        },
        skipped=skips,
        meta={
            "rows_per_year": {int(y): int(n) for y, n in per_year.iter_rows()},
            "measures": [
                m for m in ("patients", *present, "imd_score", "imd_quintile") if m not in ADDS_ONLY.get(layout, ())
            ]
            if layout not in ADDS_ONLY
            else [m for m in present if m in ADDS_ONLY[layout]],
        },
    )
