"""Typed conversion with vectorised row validation: a parser declares its ``Field``s and ``convert`` turns the text
columns into typed ones, dropping each row that breaks a rule with a :class:`~analytics.ingest.base.Skip` naming
the row, the column and the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import polars as pl

from analytics.ingest.base import DatasetFormatError, Skip, parse_date_any
from analytics.ingest.tables import _RAW, _ROW

# --- typed conversion with vectorised row validation -----------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A row check: rows where ``bad`` is true are skipped with ``reason``, reported against header ``column``."""

    column: str
    bad: pl.Expr
    reason: pl.Expr


@dataclass(frozen=True)
class Field:
    """How one canonical output column is read from one source column.

    ``kind`` is ``text``, ``int``, ``float``, ``date`` or ``bool``. Text may be checked against ``pattern`` or
    ``choices``; numbers against ``minimum``/``maximum``; bools map ``true``/``false`` values (case-insensitive) and
    treat ``nulls`` as missing. ``clean`` rewrites the raw text first (e.g. postcode spacing).
    """

    source: str
    name: str
    kind: Literal["text", "int", "float", "date", "bool"] = "text"
    what: str = ""
    required: bool = False
    pattern: str | None = None
    choices: tuple[str, ...] | None = None
    minimum: float | None = 0
    maximum: float | None = None
    true: tuple[str, ...] = ("Y", "YES", "TRUE", "1")
    false: tuple[str, ...] = ("N", "NO", "FALSE", "0")
    nulls: tuple[str, ...] = ()
    clean: Callable[[pl.Expr], pl.Expr] | None = None
    keep_row: bool = False
    """The service does not use this column: :func:`clear_bad_values` blanks a bad value instead of dropping the row."""

    @property
    def label(self) -> str:
        return self.what or self.source


def postcode_clean(e: pl.Expr) -> pl.Expr:
    """Upper-case and single-space a postcode (payments files pad them: ``TS5  8SB``)."""
    return e.str.to_uppercase().str.replace_all(r"\s+", " ")


# Unambiguous ASCII-digit shapes parsed by polars directly; chrono and strptime agree on them (valid or not).
# [0-9], not \d: Rust's \d also matches other scripts' digits, which strptime reads differently.
_FAST_DATE_SHAPES = (
    (r"^[0-9]{8}$", "%Y%m%d"),
    (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "%Y-%m-%d"),
    (r"^[0-9]{2}/[0-9]{2}/[0-9]{4}$", "%d/%m/%Y"),
)


def dates_of(values: pl.Series) -> pl.Series:
    """Parse a string column of dates as :func:`parse_date_any` does; unreadable values become null.

    The common all-digit shapes are parsed vectorised; every other distinct text goes through
    :func:`parse_date_any` once (dates repeat a lot), so there is still only one date grammar.
    """
    s = pl.col(values.name)
    fast: pl.Expr = pl.lit(None, dtype=pl.Date)
    shaped: pl.Expr = pl.lit(False)
    for shape, fmt in reversed(_FAST_DATE_SHAPES):
        fast = pl.when(s.str.contains(shape)).then(s.str.to_date(fmt, strict=False)).otherwise(fast)
        shaped = shaped | s.str.contains(shape)
    frame = values.to_frame().select(fast.alias("date"), shaped.fill_null(False).alias("shaped"))
    rest = values.filter(~frame.get_column("shaped") & values.is_not_null()).unique().to_list()
    if not rest:
        return frame.get_column("date").alias(values.name)
    mapping: dict[str, date | None] = {}
    for v in rest:
        try:
            mapping[v] = parse_date_any(v)
        except ValueError:
            mapping[v] = None
    slow = values.replace_strict(mapping, default=None, return_dtype=pl.Date)
    return frame.get_column("date").fill_null(slow).alias(values.name)


def reason(*parts: str | pl.Expr) -> pl.Expr:
    """A skip-reason text from literal strings and expressions (``reason("negative ", pl.col("x"))``).

    Built with ``concat_str`` rather than ``pl.format``: in polars 2.1 ``pl.format`` inside ``when/then`` can panic
    on filtered frames.
    """
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p.cast(pl.Utf8) for p in parts])


def _fmt(e: pl.Expr) -> pl.Expr:
    return reason("'", e, "'")


def _num_text(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:g}"


def _field_exprs(f: Field, raw: pl.Expr) -> tuple[pl.Expr | None, list[Rule]]:
    """The typed expression for ``f`` (None for dates, done eagerly) and its rules."""
    rules: list[Rule] = []
    if f.required:
        rules.append(Rule(f.source, raw.is_null(), pl.lit(f"missing {f.label}")))
    out: pl.Expr | None
    if f.kind == "text":
        out = raw
        if f.pattern is not None:
            rules.append(
                Rule(f.source, raw.is_not_null() & ~raw.str.contains(f.pattern), reason(f"bad {f.label} ", _fmt(raw)))
            )
        if f.choices is not None:
            rules.append(
                Rule(f.source, raw.is_not_null() & ~raw.is_in(f.choices), reason(f"unknown {f.label} ", _fmt(raw)))
            )
    elif f.kind in ("int", "float"):
        num = raw.cast(pl.Float64, strict=False)
        rules.append(
            Rule(
                f.source,
                raw.is_not_null() & (num.is_null() | num.is_nan() | num.is_infinite()),
                reason("unreadable number ", _fmt(raw)),
            )
        )
        if f.kind == "int":
            rules.append(
                Rule(
                    f.source,
                    num.is_not_null() & (num != num.floor()),
                    reason(f"{f.label} is not a whole number ", _fmt(raw)),
                )
            )
        if f.minimum is not None:
            low = (
                reason(f"negative {f.label} ", raw)
                if f.minimum == 0
                else reason(f"{f.label} ", raw, f" below {_num_text(f.minimum)}")
            )
            rules.append(Rule(f.source, num < f.minimum, low))
        if f.maximum is not None:
            rules.append(
                Rule(
                    f.source, num > f.maximum, reason(f"implausible {f.label} ", raw, f" (max {_num_text(f.maximum)})")
                )
            )
        # Cast after the checks: rows failing them are dropped, so the strict=False nulls never reach the output.
        out = num.cast(pl.Int64, strict=False) if f.kind == "int" else num
    elif f.kind == "bool":
        up = raw.str.to_uppercase()
        known = [v.upper() for v in (*f.true, *f.false, *f.nulls)]
        rules.append(Rule(f.source, raw.is_not_null() & ~up.is_in(known), reason(f"unexpected {f.label} ", _fmt(raw))))
        out = (
            pl.when(up.is_in([v.upper() for v in f.true]))
            .then(pl.lit(True))
            .when(up.is_in([v.upper() for v in f.false]))
            .then(pl.lit(False))
            .otherwise(None)
        )
    elif f.kind == "date":
        typed = pl.col(f.name)
        rules.append(Rule(f.source, raw.is_not_null() & typed.is_null(), reason("unreadable date ", _fmt(raw))))
        rules.append(
            Rule(f.source, (typed.dt.year() < 1900) | (typed.dt.year() > 2100), reason("implausible date ", _fmt(raw)))
        )
        out = None
    else:  # pragma: no cover - programming error
        raise ValueError(f"unknown field kind {f.kind!r}")
    return out, rules


def apply_rules(df: pl.DataFrame, rules: Sequence[Rule]) -> tuple[pl.DataFrame, list[Skip]]:
    """Split ``df`` into rows passing every rule and :class:`Skip` records (first failing rule per row).

    Only the index of the first failing rule is computed for every row; reason texts are built for failing rows.
    """
    if not rules or df.height == 0:
        return df, []
    first = pl.coalesce([pl.when(r.bad.fill_null(False)).then(pl.lit(i, dtype=pl.Int32)) for i, r in enumerate(rules)])
    marked = df.with_columns(first.alias("_rule"))
    failing = marked.filter(pl.col("_rule").is_not_null())
    kept = marked.filter(pl.col("_rule").is_null()).drop("_rule")
    if failing.height == 0:
        return kept, []
    which = pl.col("_rule")
    column = pl.coalesce([pl.when(which == i).then(pl.lit(r.column)) for i, r in enumerate(rules)])
    why = pl.coalesce([pl.when(which == i).then(r.reason) for i, r in enumerate(rules)])
    failing = failing.select(_ROW, column.alias("column"), why.fill_null("invalid value").alias("reason"))
    return kept, [Skip(row=int(r), column=c, reason=s) for r, c, s in failing.iter_rows()]


def convert(
    df: pl.DataFrame,
    fields: Sequence[Field],
    *,
    rules: Sequence[Rule] = (),
    key: Sequence[str] = (),
    key_label: str = "",
) -> tuple[pl.DataFrame, list[Skip]]:
    """Type and validate ``df`` (string columns named by header, plus ``_row``) into canonical columns.

    Returns the kept rows (``_row`` plus each field's ``name``, in order) and the skips, sorted by row. Extra
    ``rules`` may use the canonical (typed) names. Duplicate ``key`` values keep the first *valid* row.
    """
    raws = {f.name: _RAW + f.name for f in fields}
    frame = df.select(pl.col(_ROW), *[pl.col(f.source).alias(raws[f.name]) for f in fields])
    for f in fields:
        if f.clean is not None:
            frame = frame.with_columns(f.clean(pl.col(raws[f.name])).alias(raws[f.name]))
    exprs: list[pl.Expr] = []
    all_rules: list[Rule] = []
    for f in fields:
        out, field_rules = _field_exprs(f, pl.col(raws[f.name]))
        if out is None:
            frame = frame.with_columns(dates_of(frame.get_column(raws[f.name])).alias(f.name))
        else:
            exprs.append(out.alias(f.name))
        all_rules.extend(field_rules)
    frame = frame.with_columns(exprs)
    kept, skips = apply_rules(frame, [*all_rules, *rules])
    if key:
        source = next((f.source for f in fields if f.name == key[0]), key[0])
        first = pl.struct(list(key)).is_first_distinct() if len(key) > 1 else pl.col(key[0]).is_first_distinct()
        text = pl.concat_str([pl.col(k).cast(pl.Utf8) for k in key], separator=" ")
        kept, dupes = apply_rules(kept, [Rule(source, ~first, reason(f"duplicate {key_label} ", text))])
        skips = sorted([*skips, *dupes], key=lambda s: s.row)
    return kept.select(_ROW, *[f.name for f in fields]), skips


def without_row(df: pl.DataFrame) -> pl.DataFrame:
    return df.drop(_ROW) if _ROW in df.columns else df


def financial_year_from_name(name: str, period: str | None, *, file: str) -> str:
    """A financial year like ``2022-23`` from a file name (``QOF 2022-23.csv``, ``...-22-23-prac...``).

    ``period`` overrides. When neither gives one, the caller must say which year the file is for.
    """
    if period is not None:
        if not re.fullmatch(r"\d{4}-\d{2}", period):
            raise DatasetFormatError(f"{file}: period {period!r} should look like 2022-23")
        return period
    for pattern, century in ((r"(?<!\d)(\d{4})-(\d{2})(?!\d)", ""), (r"(?<!\d)(\d{2})-(\d{2})(?!\d)", "20")):
        m = re.search(pattern, name)
        if m and (int(m.group(1)) + 1) % 100 == int(m.group(2)):
            return f"{century}{m.group(1)}-{m.group(2)}"
    raise DatasetFormatError(
        f"{file}: cannot tell the financial year from the file name; pass period='2022-23' (for example)"
    )


def clear_bad_values(df: pl.DataFrame, fields: Sequence[Field]) -> tuple[pl.DataFrame, list[Skip]]:
    """Blank the bad values of ``keep_row`` fields in ``df`` (raw string columns plus ``_row``); keep their rows.

    A column the service does not use must not cost a practice its row: the value is checked by the same rules
    :func:`convert` applies, a failing cell becomes null, and each is reported (row, column, reason) so the import
    log still shows it. Call before :func:`convert` with the same fields; those fields must not be ``required``.
    """
    cleared: list[Skip] = []
    for f in fields:
        if not f.keep_row:
            continue
        if f.required:  # pragma: no cover - programming error
            raise ValueError(f"{f.source}: a required field cannot keep its row when its value is bad")
        _, bad = convert(df, [f])
        if not bad:
            continue
        rows = [s.row for s in bad]
        df = df.with_columns(
            pl.when(pl.col(_ROW).is_in(rows))
            .then(pl.lit(None, dtype=pl.Utf8))
            .otherwise(pl.col(f.source))
            .alias(f.source)
        )
        cleared += [Skip(s.row, s.column, f"{s.reason} (value ignored, row kept)") for s in bad]
    return df, sorted(cleared, key=lambda s: s.row)
