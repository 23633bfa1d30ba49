"""QOF raw prevalence registers (``PREVALENCE_2021_v2.csv``) with the indicator mapping beside it.

Contract: ``parse(path, *, period=None) -> Parsed``; ``path`` is the PREVALENCE file. Two frames:

``"rows"``, one row per practice and register group, key (practice_code, group_code):
    practice_code, group_code (Utf8), register (Int64: patients on the disease register),
    list_type (Utf8: the age base of the denominator, TOTAL / 06OV / 16OV / 17OV / 18OV / 50OV),
    list_size (Int64: practice list size for that age base)

``"groups"``, one row per group from ``MAPPING_INDICATORS_*.csv`` in the same folder:
    group_code, group_description, domain_code, domain_description (Utf8)

Prevalence is ``register / list_size``; a register larger than its list is impossible and the row is skipped.
The mapping lists indicator groups that have no register (e.g. cervical screening); they are kept in ``groups``.

NHS quirks: the raw-data zip names files by year with no separator: ``_2021`` means QOF year 2020-21. The period is
read from that (``period`` overrides). The mapping file is matched by the same suffix (``_2021_v2``) when there are
several.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from analytics.ingest.base import DatasetFormatError, Parsed, require_columns
from analytics.ingest.convert import Field, Rule, convert, reason, without_row
from analytics.ingest.tables import MAX_LIST_SIZE, PRACTICE_CODE_RE, load_table

DATASET = "qof_prevalence"
LAYOUT = "qof-raw-prevalence"
GROUP_RE = r"^[A-Z][A-Z0-9]{1,5}$"
LIST_TYPE_RE = r"^(TOTAL|[0-9]{2}OV)$"


def qof_year(name: str, period: str | None, file: str) -> str:
    """``PREVALENCE_2021_v2.csv`` -> ``2020-21`` (the QOF raw files label the year by its two end digits)."""
    if period is not None:
        if not re.fullmatch(r"\d{4}-\d{2}", period):
            raise DatasetFormatError(f"{file}: period {period!r} should look like 2020-21")
        return period
    m = re.search(r"_(\d{2})(\d{2})(?:_|\.|$)", name)
    if m and (int(m.group(1)) + 1) % 100 == int(m.group(2)):
        return f"20{m.group(1)}-{m.group(2)}"
    raise DatasetFormatError(f"{file}: cannot tell the QOF year from the file name; pass period='2020-21'")


def mapping_file(path: Path) -> Path:
    """The ``MAPPING_INDICATORS*.csv`` beside ``path``, preferring the one with the same year/version suffix."""
    candidates = sorted(path.parent.glob("MAPPING_INDICATORS*.csv"))
    suffix = path.name.split("PREVALENCE", 1)[-1]
    for c in candidates:
        if c.name.endswith(suffix):
            return c
    if len(candidates) == 1:
        return candidates[0]
    raise DatasetFormatError(
        f"{path.name}: expected one MAPPING_INDICATORS{suffix} beside it in {path.parent.name}/ "
        f"(found {', '.join(c.name for c in candidates) or 'none'})"
    )


def parse_groups(path: Path) -> tuple[pl.DataFrame, int]:
    """One row per group from the indicator mapping, and how many of its rows were unusable."""
    table = load_table(path)
    cols = ["GROUP_CODE", "GROUP_DESCRIPTION", "DOMAIN_CODE", "DOMAIN_DESCRIPTION"]
    require_columns(path.name, table.header, cols)
    fields = [
        Field("GROUP_CODE", "group_code", what="group code", required=True, pattern=GROUP_RE),
        Field("GROUP_DESCRIPTION", "group_description"),
        Field("DOMAIN_CODE", "domain_code"),
        Field("DOMAIN_DESCRIPTION", "domain_description"),
    ]
    # Several indicators per group: keep the group's first row; that is not a data error, so no key check.
    groups, skips = convert(table.frame, fields)
    groups = without_row(groups).unique(subset="group_code", keep="first", maintain_order=True)
    return groups, len(skips)


def parse(path: Path, *, period: str | None = None) -> Parsed:
    path = Path(path)
    year = qof_year(path.name, period, path.name)
    table = load_table(path)
    require_columns(path.name, table.header,
                    ["PRACTICE_CODE", "GROUP_CODE", "REGISTER", "PATIENT_LIST_TYPE", "PRACTICE_LIST_SIZE"])  # fmt: skip
    groups, bad_group_rows = parse_groups(mapping_file(path))
    fields = [
        Field("PRACTICE_CODE", "practice_code", what="practice code", required=True, pattern=PRACTICE_CODE_RE),
        Field("GROUP_CODE", "group_code", what="group code", required=True, pattern=GROUP_RE),
        Field("REGISTER", "register", "int", what="register", required=True, maximum=MAX_LIST_SIZE),
        Field("PATIENT_LIST_TYPE", "list_type", what="list type", required=True, pattern=LIST_TYPE_RE),
        Field("PRACTICE_LIST_SIZE", "list_size", "int", what="list size", required=True, maximum=MAX_LIST_SIZE),
    ]
    over = Rule(
        "REGISTER",
        pl.col("register") > pl.col("list_size"),
        reason("register ", pl.col("register"), " exceeds list size ", pl.col("list_size")),
    )
    rows, skips = convert(
        table.frame, fields, rules=[over], key=["practice_code", "group_code"], key_label="practice and group"
    )
    rows = without_row(rows)
    unknown = sorted(set(rows.get_column("group_code").unique()) - set(groups.get_column("group_code")))
    return Parsed(
        dataset=DATASET,
        layout=LAYOUT,
        period=year,
        rows_read=table.rows,
        frames={"rows": rows, "groups": groups},
        skipped=skips,
        meta={
            "practices": rows.get_column("practice_code").n_unique(),
            "register_groups": rows.get_column("group_code").n_unique(),
            "groups_without_mapping": unknown,
            "mapping_rows_unusable": bad_group_rows,
        },
    )
