"""ODS ``epraccur.csv``: every GP practice (and other prescribing cost centre) ODS knows, open or closed.

Contract: ``parse(path) -> Parsed`` with one frame ``"rows"``:

======================  =========  ===============================================================================
column                  dtype      meaning
======================  =========  ===============================================================================
code                    Utf8       ODS organisation code (A81001; Welsh practices start with W)
name                    Utf8
region_code             Utf8|null  national grouping: NHS England region (Y63) or W00 for Wales; blank for some
icb_code                Utf8|null  high level health geography: ICB code (QHM); Q99 = Wales
address_1..address_5    Utf8|null  the five address fields as ODS publishes them (see the layout note)
postcode                Utf8|null
open_date               Date
close_date              Date|null
status                  Utf8       active | closed | dormant | proposed
sub_icb_code            Utf8|null  commissioner (sub-ICB location, e.g. 16C; Welsh health board 7A3)
join_date, left_date    Date|null  join/left provider-purchaser (commissioner) dates
phone                   Utf8|null
setting_code            Utf8       field 26 as published: prescribing setting ("4") or ODS role id(s) ("RO76",
                                   "RO76|RO177": several roles are pipe-joined)
is_gp_practice          Boolean    setting 4 (legacy) or any role RO76 (2025 layout)
is_english              Boolean    code does not start with W and national grouping is not W00
======================  =========  ===============================================================================

All rows are kept (closed, Welsh, non-GP): choosing which to load is the loader's job. ``meta`` counts
``gp_practices``, ``welsh``, ``non_gp`` and ``active_english_gp_practices``.

NHS quirks:

* The file has **no header**: 27 double-quoted fields per row, in the order ODS documents. Columns are therefore
  read by position, and the layout is recognised from the values instead of header names.
* ODS changed the layout in 2025/26 (``ods-2025``): status is a word (ACTIVE / INACTIVE / DORMANT, presumably
  PROPOSED), field 22 is ``1``, field 26 is an ODS role code (``RO76`` GP practice, ``RO72`` other prescribing cost
  centre, ...) instead of the prescribing setting number (``4`` GP practice); an organisation with several roles has
  them pipe-joined (``RO76|RO177``) and is a GP practice when any of them is ``RO76``. Lines may end CRLF and the
  county may be blank. Welsh practices have a blank national
  grouping and health geography instead of W00/Q99, and the address is placed differently: the post town is always
  field 8 (``address_4``) with field 7 left blank when there is no third line, whereas the legacy layout packs the
  lines from field 5 and puts the county after the town. Both are kept as published in ``address_1..5``.
* Period: ODS does not print an extract date, so the period is the latest open/close/join date in the file.
* Join/left provider-purchaser dates are not used by the service: a bad one is blanked and the row kept.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from analytics.ingest.base import DatasetFormatError, Parsed, read_text
from analytics.ingest.convert import Field, Rule, clear_bad_values, convert, postcode_clean, without_row
from analytics.ingest.tables import (
    POSTCODE_RE,
    PRACTICE_CODE_RE,
    REGION_CODE_RE,
    SUB_ICB_CODE_RE,
    check_field_counts,
    null_tokens,
    number_rows,
)

DATASET = "epraccur"
N_FIELDS = 27

# ODS's documented field names, used as the "header" in skip reports (the file itself has none).
FIELD_NAMES = [
    "Organisation code", "Name", "National grouping", "High level health geography",
    "Address line 1", "Address line 2", "Address line 3", "Address line 4", "Address line 5", "Postcode",
    "Open date", "Close date", "Status code", "Organisation sub-type code", "Commissioner",
    "Join provider/purchaser date", "Left provider/purchaser date", "Contact telephone number",
    "Null 19", "Null 20", "Null 21", "Amended record indicator", "Null 23", "Provider/purchaser", "Null 25",
    "Prescribing setting", "Null 27",
]  # fmt: skip
STATUS = FIELD_NAMES[12]
SETTING = FIELD_NAMES[25]

LEGACY, NEW = "ods-legacy", "ods-2025"
STATUS_WORDS = {
    LEGACY: {"A": "active", "C": "closed", "D": "dormant", "P": "proposed"},
    NEW: {"ACTIVE": "active", "INACTIVE": "closed", "DORMANT": "dormant", "PROPOSED": "proposed"},
}
SETTING_RE = {LEGACY: r"^[0-9]{1,2}$", NEW: r"^RO[0-9]{1,4}(\|RO[0-9]{1,4})*$"}
GP_SETTING = {LEGACY: "4", NEW: "RO76"}
# Field 4 holds ICB codes (QHM) for practices but also Crown-dependency codes (YAC Isle of Man) and, in the 2025
# layout, five-character codes for some non-GP organisations (Z9B2Z).
GEOGRAPHY_RE = r"^[0-9A-Z]{3}$|^[0-9A-Z]{5}$"
# A layout is recognised when most rows fit it and next to none fit the other; the odd row that fits neither is
# skipped, not fatal.
MIN_FIT = 0.5
MAX_OTHER = 0.01


def _fits(layout: str) -> pl.Expr:
    return pl.col(STATUS).is_in(list(STATUS_WORDS[layout])) & pl.col(SETTING).str.contains(SETTING_RE[layout])


def detect_layout(df: pl.DataFrame, file: str) -> str:
    """``ods-legacy`` or ``ods-2025`` from the status and field-26 values; otherwise DatasetFormatError."""
    share = df.select(*[_fits(layout).fill_null(False).mean().alias(layout) for layout in (LEGACY, NEW)]).row(
        0, named=True
    )
    best = max(share, key=lambda k: share[k] or 0.0)
    other = next(k for k in share if k != best)
    # Most rows must fit one layout and (almost) none the other: a few odd rows are skipped, a mixture is an error.
    if (share[best] or 0.0) < MIN_FIT or (share[other] or 0.0) > MAX_OTHER:
        sample = df.select(STATUS, SETTING).head(3).rows()
        fit = ", ".join(f"{k} {100 * (v or 0.0):.0f}%" for k, v in share.items())
        raise DatasetFormatError(
            f"{file}: values fit no known epraccur layout: expected field 13 (status) A/C/D/P with field 26 a "
            f"prescribing setting number (ods-legacy), or ACTIVE/INACTIVE/DORMANT/PROPOSED with field 26 an ODS "
            f"role code like RO76 (ods-2025); rows fitting: {fit}; first rows have (status, field 26) = {sample}"
        )
    return best


def read_epraccur(path: Path) -> pl.DataFrame:
    """The header-less file as 27 named string columns plus ``_row``, after checking the field count."""
    file = Path(path).name
    text, _ = read_text(path)
    first = text.split("\n", 1)[0]
    if "," not in first:
        raise DatasetFormatError(
            f"{file}: expected {N_FIELDS} comma-separated quoted fields per row; got {first[:80]!r}"
        )
    check_field_counts(text, ",", N_FIELDS, file)
    try:
        df = pl.read_csv(
            text.encode(), has_header=False, new_columns=FIELD_NAMES, infer_schema=False, truncate_ragged_lines=False
        )
    except pl.exceptions.PolarsError as exc:
        raise DatasetFormatError(f"{file}: cannot read as CSV ({str(exc).splitlines()[0]})") from exc
    df = df.with_columns(pl.col(c).str.strip_chars() for c in FIELD_NAMES)
    return null_tokens(number_rows(df))


def parse(path: Path) -> Parsed:
    path = Path(path)
    df = read_epraccur(path)
    layout = detect_layout(df, path.name)
    fields = [
        Field("Organisation code", "code", what="organisation code", required=True, pattern=PRACTICE_CODE_RE),
        Field("Name", "name", what="name", required=True),
        Field("National grouping", "region_code", what="national grouping", pattern=REGION_CODE_RE),
        Field("High level health geography", "icb_code", what="health geography", pattern=GEOGRAPHY_RE),
        *[Field(f"Address line {i}", f"address_{i}") for i in range(1, 6)],
        Field("Postcode", "postcode", what="postcode", pattern=POSTCODE_RE, clean=postcode_clean),
        Field("Open date", "open_date", "date", required=True, what="open date"),
        Field("Close date", "close_date", "date"),
        Field(STATUS, "status", what="status", required=True, choices=tuple(STATUS_WORDS[layout])),
        Field("Commissioner", "sub_icb_code", what="commissioner code", pattern=SUB_ICB_CODE_RE),
        Field("Join provider/purchaser date", "join_date", "date", keep_row=True),
        Field("Left provider/purchaser date", "left_date", "date", keep_row=True),
        Field("Contact telephone number", "phone"),
        Field(SETTING, "setting_code", what="prescribing setting", required=True, pattern=SETTING_RE[layout]),
    ]
    rules = [Rule("Close date", pl.col("close_date") < pl.col("open_date"), pl.lit("close date before open date"))]
    df, cleared = clear_bad_values(df, fields)
    rows, skips = convert(df, fields, rules=rules, key=["code"], key_label="organisation code")
    rows = without_row(rows).with_columns(
        pl.col("status").replace_strict(STATUS_WORDS[layout], return_dtype=pl.Utf8),
        pl.col("setting_code").str.split("|").list.contains(GP_SETTING[layout]).alias("is_gp_practice"),
        (~pl.col("code").str.starts_with("W") & (pl.col("region_code").fill_null("") != "W00")).alias("is_english"),
    )
    latest = rows.select(pl.max_horizontal(pl.col("open_date", "close_date", "join_date").max())).item()
    counts = rows.select(
        pl.col("is_gp_practice").sum().alias("gp_practices"),
        (~pl.col("is_english")).sum().alias("welsh"),
        (~pl.col("is_gp_practice")).sum().alias("non_gp"),
        (pl.col("is_gp_practice") & pl.col("is_english") & (pl.col("status") == "active"))
        .sum()
        .alias("active_english_gp_practices"),
    ).row(0, named=True)
    return Parsed(
        dataset=DATASET,
        layout=layout,
        period=latest.isoformat() if latest is not None else "",
        rows_read=df.height,
        frames={"rows": rows},
        skipped=skips,
        meta={k: int(v) for k, v in counts.items()},
        cleared=cleared,
    )
