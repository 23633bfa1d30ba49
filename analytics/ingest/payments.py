"""NHS Payments to General Practice, practice level (``nhspaymentsgp-22-23-prac-csv.csv``).

Contract: ``parse(path, *, period=None) -> Parsed`` with two frames.

``"rows"``, one row per practice:

==============================  =========  ===================================================================
column                          dtype      source column / meaning
==============================  =========  ===================================================================
practice_code, practice_name    Utf8       Practice Code, Practice Name
region_code                     Utf8       NHS England (Region) code
sub_icb_code                    Utf8       Sub ICB Code
pcn_code                        Utf8|null  PCN Code ("Unknown or no PCN" -> null, counted in meta["no_pcn"])
postcode                        Utf8|null  Practice Postcode (the file pads it: ``TS5  8SB`` -> ``TS5 8SB``)
open_date, close_date           Date       Practice Open/Close Date (dd/mm/yyyy; close date nullable)
contract_type                   Utf8|null  GMS | PMS | APMS | Unknown
dispensing                      Boolean    Dispensing Practice (Yes/No; Unknown -> null)
practice_type, rurality         Utf8|null  Practice type, Practice Rurality
atypical                        Utf8|null  Atypical characteristics, ``| A || B |`` tidied to ``A; B``
registered_patients             Float64    Average Number of Registered Patients (a year's mean)
weighted_patients               Float64    Average Number of Weighted Patients
payments_per_patient            Float64    Average payments per registered patient (pounds)
payments_per_weighted_patient   Float64    Average payments per weighted patient (pounds)
total_payments_pence            Int64      Total NHS Payments to General Practice, in pence
==============================  =========  ===================================================================

``"lines"``, long form of every other money column: practice_code (Utf8), line (Utf8: the original header),
amount_pence (Int64). Zero amounts are left out. The other "Average payments ..." columns are ratios, not money, and
are not lines.

NHS quirks: UTF-8 with a BOM; 75 columns in 2022-23, and the set of payment lines changes every year, so lines are
taken from the header rather than a fixed list. Money is **signed**: deductions are negative, and recoveries make
some other lines (and a few totals) negative, so only patient counts are checked for sign. Pounds are converted to
integer pence (rounded) so sums are exact. The period is the financial year from the file name (``22-23`` ->
``2022-23``) or the ``period`` argument.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from analytics.ingest.base import DatasetFormatError, Parsed
from analytics.ingest.convert import Field, convert, financial_year_from_name, postcode_clean, without_row
from analytics.ingest.tables import (
    MAX_LIST_SIZE,
    PCN_CODE_RE,
    POSTCODE_RE,
    PRACTICE_CODE_RE,
    REGION_CODE_RE,
    SUB_ICB_CODE_RE,
    find_column,
    load_table,
)

DATASET = "payments"
LAYOUT = "nhs-payments-practice"
NO_PCN = "Unknown or no PCN"
# Pounds; far above any practice's annual total (the largest is ~£20m) but catches unit or column slips.
MAX_POUNDS = 1e8

# canonical name -> accepted header names (older publications used CCG wording).
IDENTITY: dict[str, tuple[str, ...]] = {
    "region_code": ("NHS England (Region) code", "NHS England and NHS Improvement Region Code"),
    "region_name": ("NHS England (Region) Name", "NHS England and NHS Improvement Region Name"),
    "sub_icb_code": ("Sub ICB Code", "CCG Code"),
    "sub_icb_name": ("Sub ICB NAME", "Sub ICB Name", "CCG NAME", "CCG Name"),
    "pcn_code": ("PCN Code",),
    "pcn_name": ("PCN Name",),
    "practice_code": ("Practice Code",),
    "practice_name": ("Practice Name",),
    "address": ("Practice Address",),
    "postcode": ("Practice Postcode",),
    "open_date": ("Practice Open Date",),
    "close_date": ("Practice Close Date",),
    "contract_type": ("Contract Type",),
    "dispensing": ("Dispensing Practice",),
    "practice_type": ("Practice type",),
    "rurality": ("Practice Rurality",),
    "atypical": ("Atypical characteristics",),
    # 2019-20 footnotes its headers ("...patients1"); 2020-21 and 2021-22 give the last known list, not a mean.
    "registered_patients": (
        "Average Number of Registered Patients",
        "Average number of registered patients1",
        "Number of Registered Patients (Last Known Figure)",
    ),
    "weighted_patients": (
        "Average Number of Weighted Patients",
        "Average number of weighted patients1",
        "Number of Weighted Patients (Last Known Figure)",
    ),
    "payments_per_patient": ("Average payments per registered patient", "Average payments per registered patient1"),
    "payments_per_weighted_patient": (
        "Average payments per weighted patient",
        "Average payments per weighted patient1",
    ),
    "total_payments": ("Total NHS Payments to General Practice",),
}
ORDER = [
    "practice_code", "practice_name", "region_code", "sub_icb_code", "pcn_code", "postcode", "open_date",
    "close_date", "contract_type", "dispensing", "practice_type", "rurality", "atypical", "registered_patients",
    "weighted_patients", "payments_per_patient", "payments_per_weighted_patient", "total_payments_pence",
]  # fmt: skip


def _no_pcn(e: pl.Expr) -> pl.Expr:
    return pl.when(e == NO_PCN).then(None).otherwise(e)


def _atypical(e: pl.Expr) -> pl.Expr:
    """``| Part year of data || No registered patients |`` -> ``Part year of data; No registered patients``."""
    tidy = e.str.replace_all(r"\s*\|+\s*", "|").str.strip_chars("|").str.replace_all(r"\|", "; ")
    return pl.when(tidy != "").then(tidy)


EXCEL_EPOCH = date(1899, 12, 30)  # day 0 of Excel's 1900 date system (serial 1 = 1900-01-01, after its leap bug)


def _excel_serial(e: pl.Expr) -> pl.Expr:
    """2019-20 writes open/close dates as Excel serial numbers (``31138`` = 1985-04-01): turn them into dd/mm/yyyy.

    Only 5-digit whole numbers are read as serials (10000..99999 = 1927..2173); anything else is left for the
    shared date grammar, which reports it when unreadable.
    """
    serial = e.str.strip_chars()
    as_date = (pl.lit(EXCEL_EPOCH) + pl.duration(days=serial.cast(pl.Int64, strict=False))).dt.strftime("%d/%m/%Y")
    return pl.when(serial.str.contains(r"^[0-9]{5}$")).then(as_date).otherwise(e)


def _pence(e: pl.Expr) -> pl.Expr:
    return (e * 100).round(0).cast(pl.Int64)


def parse(path: Path, *, period: str | None = None) -> Parsed:
    path = Path(path)
    year = financial_year_from_name(path.name, period, file=path.name)
    table = load_table(path)
    found = {name: find_column(table.header, exact=names) for name, names in IDENTITY.items()}
    missing = [IDENTITY[name][0] for name, col in found.items() if col is None]
    if missing:
        raise DatasetFormatError(
            f"{path.name}: missing column(s): {', '.join(missing)}. Columns found: {', '.join(table.header)}"
        )
    src = {k: v for k, v in found.items() if v is not None}
    used = set(src.values())
    money = [h for h in table.header if h not in used and not h.casefold().startswith("average")]
    if not money:
        raise DatasetFormatError(f"{path.name}: no payment columns after the practice details")

    money_fields = [
        Field(h, f"_m{i}", "float", what=h, minimum=-MAX_POUNDS, maximum=MAX_POUNDS) for i, h in enumerate(money)
    ]
    fields = [
        Field(src["practice_code"], "practice_code", what="practice code", required=True, pattern=PRACTICE_CODE_RE),
        Field(src["practice_name"], "practice_name"),
        Field(src["region_code"], "region_code", what="region code", pattern=REGION_CODE_RE),
        Field(src["sub_icb_code"], "sub_icb_code", what="sub-ICB code", pattern=SUB_ICB_CODE_RE),
        Field(src["pcn_code"], "pcn_code", what="PCN code", pattern=PCN_CODE_RE, clean=_no_pcn),
        Field(src["postcode"], "postcode", what="postcode", pattern=POSTCODE_RE, clean=postcode_clean),
        Field(src["open_date"], "open_date", "date", what="open date", clean=_excel_serial),
        Field(src["close_date"], "close_date", "date", clean=_excel_serial),
        Field(src["contract_type"], "contract_type"),
        Field(src["dispensing"], "dispensing", "bool", what="dispensing flag", nulls=("Unknown",)),
        Field(src["practice_type"], "practice_type"),
        Field(src["rurality"], "rurality"),
        Field(src["atypical"], "atypical", clean=_atypical),
        Field(src["registered_patients"], "registered_patients", "float", what="registered patients",
              maximum=MAX_LIST_SIZE),
        Field(src["weighted_patients"], "weighted_patients", "float", what="weighted patients",
              maximum=MAX_LIST_SIZE),
        Field(src["payments_per_patient"], "payments_per_patient", "float", what="payments per patient",
              minimum=None, maximum=MAX_POUNDS),
        Field(src["payments_per_weighted_patient"], "payments_per_weighted_patient", "float",
              what="payments per weighted patient", minimum=None, maximum=MAX_POUNDS),
        Field(src["total_payments"], "total_payments", "float", what="total payments", required=True,
              minimum=-MAX_POUNDS, maximum=MAX_POUNDS),
        *money_fields,
    ]  # fmt: skip
    rows, skips = convert(table.frame, fields, key=["practice_code"], key_label="practice code")
    rows = rows.with_columns(_pence(pl.col("total_payments")).alias("total_payments_pence"))
    lines = (
        rows.select("practice_code", *[pl.col(f.name).alias(f.source) for f in money_fields])
        .unpivot(index="practice_code", variable_name="line", value_name="pounds")
        .filter(pl.col("pounds").is_not_null())
        .with_columns(_pence(pl.col("pounds")).alias("amount_pence"))
        .filter(pl.col("amount_pence") != 0)
        .select("practice_code", "line", "amount_pence")
    )
    no_pcn = int((table.frame.get_column(src["pcn_code"]) == NO_PCN).sum())
    return Parsed(
        dataset=DATASET,
        layout=LAYOUT,
        period=year,
        rows_read=table.rows,
        frames={"rows": without_row(rows).select(ORDER), "lines": lines},
        skipped=skips,
        meta={
            "no_pcn": no_pcn,
            "money_columns": len(money),
            "total_payments_pence": int(rows.get_column("total_payments_pence").sum()),
        },
    )
