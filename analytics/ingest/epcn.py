"""ODS ePCN workbook (``ePCN.xlsx``): Primary Care Networks and which practices belong to them.

Contract: ``parse(path) -> Parsed`` with two frames:

``"pcns"`` (sheet ``PCNDetails``), one row per PCN:
    pcn_code, pcn_name, sub_icb_code (Utf8), open_date (Date), close_date (Date|null),
    address (Utf8|null: address lines 1-5 joined with ", ", blanks skipped), postcode (Utf8|null)

``"memberships"`` (sheet ``PCN Core Partner Details``), one row per practice-PCN relationship:
    practice_code, pcn_code (Utf8), start_date (Date), end_date (Date|null: current membership)

NHS quirks: the second sheet's header cells contain line breaks (``Partner\\nOrganisation\\nCode``) and a trailing
space, so headers are normalised before matching. Dates are ``YYYYMMDD`` text. A practice has several rows when it
moved between PCNs; the natural key is (practice, PCN, start date). The period is the latest date in the workbook.
Skips name the sheet in the column (``PCNDetails: Open Date``); row numbers count data rows within that sheet.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from analytics.ingest.base import DatasetFormatError, Parsed, Skip, normalise_header, require_columns
from analytics.ingest.convert import Field, Rule, convert, postcode_clean, without_row
from analytics.ingest.tables import (
    PCN_CODE_RE,
    POSTCODE_RE,
    PRACTICE_CODE_RE,
    SUB_ICB_CODE_RE,
    null_tokens,
    number_rows,
)

DATASET = "epcn"
LAYOUT = "epcn-xlsx"
PCN_SHEET = "PCNDetails"
MEMBER_SHEET = "PCN Core Partner Details"
ADDRESS = [f"Address Line {i}" for i in range(1, 6)]


def read_sheets(path: Path) -> dict[str, pl.DataFrame]:
    """Both sheets as all-string frames with normalised headers and ``_row``; DatasetFormatError otherwise."""
    file = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatasetFormatError(f"{file}: cannot read the file ({exc})") from exc
    if not raw.strip():
        raise DatasetFormatError(f"{file}: the file is empty")
    if not raw.startswith(b"PK"):  # xlsx is a zip archive
        raise DatasetFormatError(f"{file}: not an Excel .xlsx workbook")
    try:
        sheets = pl.read_excel(path, sheet_id=0, engine="calamine", infer_schema_length=0)
    except Exception as exc:  # fastexcel raises its own exception types for corrupt workbooks
        raise DatasetFormatError(f"{file}: cannot read the workbook ({str(exc).splitlines()[0]})") from exc
    missing = [s for s in (PCN_SHEET, MEMBER_SHEET) if s not in sheets]
    if missing:
        raise DatasetFormatError(f"{file}: missing sheet(s): {', '.join(missing)}. Sheets found: {', '.join(sheets)}")
    out: dict[str, pl.DataFrame] = {}
    for name in (PCN_SHEET, MEMBER_SHEET):
        df = sheets[name]
        df = df.rename({c: normalise_header(c) for c in df.columns})
        df = df.with_columns(pl.col(c).cast(pl.Utf8).str.strip_chars() for c in df.columns)
        out[name] = null_tokens(number_rows(df))
    return out


def _in_sheet(sheet: str, skips: list[Skip]) -> list[Skip]:
    return [Skip(s.row, f"{sheet}: {s.column}" if s.column else sheet, s.reason) for s in skips]


def parse(path: Path) -> Parsed:
    path = Path(path)
    sheets = read_sheets(path)
    pcn_df, member_df = sheets[PCN_SHEET], sheets[MEMBER_SHEET]
    pcn_required = ["PCN Code", "PCN Name", "Current Sub ICB Loc Code", "Open Date", "Close Date", *ADDRESS, "Postcode"]
    require_columns(f"{path.name} sheet {PCN_SHEET}", pcn_df.columns, pcn_required)
    member_required = [
        "Partner Organisation Code",
        "PCN Code",
        "Practice to PCN Relationship Start Date",
        "Practice to PCN Relationship End Date",
    ]
    require_columns(f"{path.name} sheet {MEMBER_SHEET}", member_df.columns, member_required)

    address = pl.concat_str([pl.col(c) for c in ADDRESS], separator=", ", ignore_nulls=True)
    pcn_df = pcn_df.with_columns(pl.when(address != "").then(address).alias("_address"))
    pcn_fields = [
        Field("PCN Code", "pcn_code", what="PCN code", required=True, pattern=PCN_CODE_RE),
        Field("PCN Name", "pcn_name", what="PCN name", required=True),
        Field("Current Sub ICB Loc Code", "sub_icb_code", what="sub-ICB code", pattern=SUB_ICB_CODE_RE),
        Field("Open Date", "open_date", "date", what="open date", required=True),
        Field("Close Date", "close_date", "date"),
        Field("_address", "address"),
        Field("Postcode", "postcode", what="postcode", pattern=POSTCODE_RE, clean=postcode_clean),
    ]
    closed_early = Rule("Close Date", pl.col("close_date") < pl.col("open_date"), pl.lit("close date before open date"))
    pcns, pcn_skips = convert(pcn_df, pcn_fields, rules=[closed_early], key=["pcn_code"], key_label="PCN code")

    member_fields = [
        Field("Partner Organisation Code", "practice_code", what="practice code", required=True,
              pattern=PRACTICE_CODE_RE),
        Field("PCN Code", "pcn_code", what="PCN code", required=True, pattern=PCN_CODE_RE),
        Field("Practice to PCN Relationship Start Date", "start_date", "date", what="start date", required=True),
        Field("Practice to PCN Relationship End Date", "end_date", "date"),
    ]  # fmt: skip
    ended_early = Rule(
        "Practice to PCN Relationship End Date",
        pl.col("end_date") < pl.col("start_date"),
        pl.lit("end date before start date"),
    )
    members, member_skips = convert(
        member_df,
        member_fields,
        rules=[ended_early],
        key=["practice_code", "pcn_code", "start_date"],
        key_label="membership",
    )
    latest = max(
        (
            d
            for d in (
                pcns.select(pl.max_horizontal(pl.col("open_date", "close_date").max())).item(),
                members.select(pl.max_horizontal(pl.col("start_date", "end_date").max())).item(),
            )
            if isinstance(d, date)
        ),
        default=None,
    )
    current = members.filter(pl.col("end_date").is_null())
    return Parsed(
        dataset=DATASET,
        layout=LAYOUT,
        period=latest.isoformat() if latest else "",
        rows_read=pcn_df.height + member_df.height,
        frames={"pcns": without_row(pcns), "memberships": without_row(members)},
        skipped=_in_sheet(PCN_SHEET, pcn_skips) + _in_sheet(MEMBER_SHEET, member_skips),
        meta={
            "pcns_read": pcn_df.height,
            "memberships_read": member_df.height,
            "open_pcns": int(pcns.get_column("close_date").is_null().sum()),
            "current_memberships": current.height,
            "practices_in_current_pcn": current.get_column("practice_code").n_unique(),
        },
    )
