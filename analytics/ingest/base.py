"""Shared contract for the national-file parsers.

Every parser is a function ``parse(path: Path) -> Parsed``. It:

* checks the file's layout (headers, or field count and value shapes for header-less ODS files) *before*
  reading rows, and raises :class:`DatasetFormatError` naming the missing columns when it cannot recognise it;
* reads columns by header name, never by position (except ODS files, which have no header);
* validates every row against a typed schema and drops the bad ones, recording a :class:`Skip` for each with
  the 1-based data-row number, the column and the reason;
* returns typed polars frames with the canonical column names documented in each parser module.

Parsers never touch a database: the Django ``datasets`` app loads what they return.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Literal

import polars as pl


class DatasetFormatError(ValueError):
    """The file is not in a layout we know. The message says which file and what is missing."""


@dataclass(frozen=True)
class Skip:
    """One data row left out, and why. ``row`` counts data rows from 1 (the header is not a row)."""

    row: int
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.reason}"


@dataclass
class Parsed:
    """What a parser returns.

    ``frames`` maps a table name to its typed frame; most datasets have one table called ``"rows"``.
    ``period`` is the data's reference period as text (an ISO date like ``2025-04-01`` or a financial year like
    ``2022-23``). ``layout`` names the detected file layout, so drift is visible in the import log.
    """

    dataset: str
    layout: str
    period: str
    rows_read: int
    frames: dict[str, pl.DataFrame]
    skipped: list[Skip] = field(default_factory=list)
    meta: dict[str, object] = field(default_factory=dict)
    cleared: list[Skip] = field(default_factory=list)
    """Bad values in columns the service does not use: blanked, the row kept (see :func:`clear_bad_values`)."""

    @property
    def frame(self) -> pl.DataFrame:
        """The single table of a one-table dataset."""
        if len(self.frames) != 1:
            raise KeyError(f"{self.dataset} has several tables: {sorted(self.frames)}")
        return next(iter(self.frames.values()))

    def skip_reasons(self) -> dict[str, int]:
        """Counts of skipped rows by reason, for the import log."""
        counts: dict[str, int] = {}
        for s in self.skipped:
            counts[s.reason] = counts.get(s.reason, 0) + 1
        return counts


_WS = re.compile(r"\s+")


def normalise_header(name: str) -> str:
    """Fold embedded newlines and runs of spaces, strip a BOM: QOF and ePCN headers carry line breaks."""
    return _WS.sub(" ", name.replace("\ufeff", "")).strip()


def read_text(path: Path, encodings: Sequence[str] = ("utf-8-sig", "cp1252", "latin-1")) -> tuple[str, str]:
    """Read a file as text, trying encodings in order. Returns (text, encoding used)."""
    raw = unzipped(Path(path).read_bytes(), Path(path).name)
    if not raw.strip():
        raise DatasetFormatError(f"{Path(path).name}: the file is empty")
    if b"\x00" in raw[:4096]:
        raise DatasetFormatError(f"{Path(path).name}: this looks like a binary file, not CSV text")
    for enc in encodings:
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise DatasetFormatError(f"{Path(path).name}: cannot decode the file as {', '.join(encodings)}")


def unzipped(raw: bytes, file: str) -> bytes:
    """The CSV inside a zip archive, or ``raw`` itself when it is not one.

    NHS England has published the registered-patients files inside a zip since 2023 (``gp-reg-pat-prac-all.zip``,
    one CSV member), so the archive is read as it comes. Anything else in a zip is refused: several members, no
    CSV (an Excel workbook is a zip too), or a damaged or truncated archive.
    """
    if not raw.startswith(b"PK\x03\x04"):
        return raw
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            csvs = [m for m in members if m.filename.lower().endswith(".csv")]
            if len(csvs) != 1 or len(members) != 1:
                held = ", ".join(m.filename for m in members[:5]) or "nothing"
                raise DatasetFormatError(f"{file}: a zip archive should hold exactly one CSV file; it holds {held}")
            return archive.read(csvs[0])
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise DatasetFormatError(
            f"{file}: this looks like a binary file (a damaged or truncated zip archive or workbook), not CSV text "
            f"({exc})"
        ) from exc


def sniff_delimiter(first_line: str, candidates: Iterable[str] = (",", "¬", "\t", ";", "|")) -> str:
    """Pick the delimiter that splits the header line into the most fields."""
    best, best_n = ",", 0
    for c in candidates:
        n = len(next(csv.reader([first_line], delimiter=c)))
        if n > best_n:
            best, best_n = c, n
    return best


def read_header(text: str, delimiter: str) -> list[str]:
    """The normalised header cells of a CSV text (handles quoted cells with embedded newlines)."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        return [normalise_header(h) for h in next(reader)]
    except StopIteration:
        raise DatasetFormatError("the file has no header row") from None


def require_columns(file: str, header: Sequence[str], required: Iterable[str], layout: str = "") -> None:
    """Raise a clear error naming every required column the header lacks."""
    have = set(header)
    missing = [c for c in required if c not in have]
    if missing:
        what = f" for the {layout} layout" if layout else ""
        raise DatasetFormatError(
            f"{file}: missing column(s){what}: {', '.join(missing)}. Columns found: {', '.join(header)}"
        )


def read_csv_text(text: str, delimiter: str, file: str) -> pl.DataFrame:
    """Read CSV text into an all-string frame with normalised header names.

    Everything is read as text so that validation (not the CSV reader) decides what a bad value is, and can say
    which row and column it was in.
    """
    try:
        df = pl.read_csv(
            io.StringIO(text).read().encode(),
            separator=delimiter,
            infer_schema=False,
            quote_char='"',
            truncate_ragged_lines=False,
        )
    except pl.exceptions.ComputeError as exc:  # ragged lines, unterminated quotes
        raise DatasetFormatError(f"{file}: cannot read as CSV ({str(exc).splitlines()[0]})") from exc
    df = df.rename({c: normalise_header(c) for c in df.columns})
    return df.with_columns(pl.col(c).str.strip_chars() for c in df.columns)


_MONTHS = {
    m: i
    for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)
}
_DMY_WORD = re.compile(r"^(\d{1,2})-?([A-Za-z]{3})-?(\d{2}|\d{4})$")


def parse_date_any(value: str | None) -> date | None:
    """Parse every date form seen in NHS files; ``None`` for blank. Raises ValueError when unreadable.

    Forms: ``2025-04-01`` (ISO), ``20250401`` (ODS), ``01/04/1974`` (payments, day first), ``01JAN2021`` and
    ``01May2022`` (older registrations EXTRACT_DATE), ``01-Sep-20`` (two-digit year, read as 20xx).
    """
    if value is None:
        return None
    v = value.strip()
    if not v:
        return None
    if m := _DMY_WORD.match(v):
        day, mon, year = int(m.group(1)), _MONTHS.get(m.group(2).upper()), int(m.group(3))
        if mon is None:
            raise ValueError(f"unknown month in date {value!r}")
        if year < 100:
            year += 2000
        return date(year, mon, day)
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M"):
        try:
            return datetime.strptime(v, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"unreadable date {value!r}")


ODS_PRACTICE_CODE = re.compile(r"^[A-Z][0-9]{5}$|^[A-Z][0-9A-Z]{4,5}$")
"""ODS organisation codes of GP practices: a letter and five characters (A81001, Y02622, W00001)."""


def is_english_practice_code(code: str) -> bool:
    """Welsh practices have codes starting ``W``; they are outside the English programmes."""
    return not code.startswith("W")


# ---------------------------------------------------------------------------------------------------------------------
# Helpers shared by the dataset parsers. Everything below builds on the contract above without changing it.
# ---------------------------------------------------------------------------------------------------------------------

NULL_TOKENS: tuple[str, ...] = ("", "NA", "N/A", "-")
"""Cell values that mean "missing" in NHS/ONS files. Missing is null, never 0."""

DELIMITERS: tuple[str, ...] = (",", "¬", "\t", ";", "|")

# Code shapes (polars/Rust regex syntax). Loose on purpose: they catch garbage and shifted columns, not every
# theoretically invalid code.
PRACTICE_CODE_RE = r"^[A-Z][0-9]{5}$|^[A-Z][0-9A-Z]{4,5}$"
# Practice codes, and branch-surgery/location codes that append a three-digit site number (A81013001).
LOCATION_CODE_RE = r"^[A-Z][0-9A-Z]{5}([0-9]{3})?$"
SUB_ICB_CODE_RE = r"^[0-9A-Z]{3}$|^[0-9A-Z]{5}$"  # 16C, 7A3 (Welsh health board), W2U3Z (post-2022 codes)
ICB_CODE_RE = r"^Q[0-9A-Z]{2}$"  # QHM; Q99 is ODS's pseudo-code for Wales
REGION_CODE_RE = r"^Y[0-9]{2}$|^W00$"  # NHS England regions Y56..Y63; W00 = Wales in ODS files
ONS_CODE_RE = r"^[EWSN][0-9]{8}$"  # GSS codes: E38 sub-ICB, E54 ICB, E40 region, E01 LSOA, E06-E09 LAD
PCN_CODE_RE = r"^U[0-9]{5}$"
LSOA_CODE_RE = r"^[EW]01[0-9]{6}$"
POSTCODE_RE = r"^[A-Z]{1,2}[0-9][0-9A-Z]? [0-9][A-Z]{2}$"

UK_LAT = (49.0, 61.0)
UK_LON = (-9.0, 2.5)
MAX_LIST_SIZE = 1_000_000
MAX_FTE = 1_000.0

_ROW = "_row"
_RAW = "raw:"


@dataclass(frozen=True)
class Table:
    """A delimited file read as all-string columns, with a 1-based ``_row`` data-row number."""

    frame: pl.DataFrame
    header: list[str]
    encoding: str
    delimiter: str

    @property
    def rows(self) -> int:
        return self.frame.height


def sniff_record_delimiter(sample: str, file: str, candidates: Iterable[str] = DELIMITERS) -> str:
    """The delimiter that splits the first *record* (quoted header cells may hold newlines) into most fields.

    A header that stays one column whatever the delimiter means this is not a delimited file we can read.
    """
    best, best_n = ",", 0
    for c in candidates:
        try:
            n = len(next(csv.reader(io.StringIO(sample), delimiter=c)))
        except (StopIteration, csv.Error):
            n = 0
        if n > best_n:
            best, best_n = c, n
    if best_n < 2:
        shown = sample.split("\n", 1)[0][:80]
        raise DatasetFormatError(
            f"{file}: the header row is a single column ({shown!r}); expected fields separated by one of "
            + " ".join(repr(c) for c in candidates)
        )
    return best


def check_field_counts(text: str, delimiter: str, expected: int, file: str, *, final_newline: bool = True) -> None:
    """Raise when any non-blank record has a field count other than ``expected`` (ragged or truncated file), or,
    with ``final_newline`` (the publisher ends every line with a line break), when the last line has none.

    polars pads short lines with empty fields silently, so this is checked separately, vectorised: quoted cells
    (which may hold the delimiter or a line break) are cut out of the whole text, then delimiters are counted per
    line. Line numbers in the message count records, which are the file's lines unless a quoted cell spans lines.
    """
    whole = pl.Series("text", [text])
    if '"' in text:
        whole = whole.str.replace_all(r'"[^"]*"', "")
    lines = whole.str.split("\n").explode().str.strip_suffix("\r")
    frame = pl.DataFrame({"n": lines.str.count_matches(delimiter, literal=True) + 1, "blank": lines == ""})
    bad = frame.with_row_index("line", offset=1).filter(~pl.col("blank") & (pl.col("n") != expected))
    if bad.height:
        found = [(int(r[0]), int(r[1])) for r in bad.select("line", "n").head(3).iter_rows()]
        where = "; ".join(f"line {line} has {n}" for line, n in found)
        more = f" and {bad.height - len(found)} more" if bad.height > len(found) else ""
        raise DatasetFormatError(
            f"{file}: ragged or truncated file: every line should have {expected} fields, but {where}{more}"
        )
    if final_newline:
        check_final_newline(text, file)


def check_final_newline(text: str, file: str) -> None:
    """Raise when the text does not end with a line break.

    Every file the NHS and ONS publish for this service ends its last line with one, so a file that does not was
    cut short; when the cut falls inside the last field, the field count is still right and the cut value would
    load as a smaller number or a shorter name. (A cut exactly at a line end is caught by the row-count check
    against the previous import, in the Django loader.) A parser for a file whose publisher writes no final line
    break (the HEEC practice-lineage research file does not) passes ``final_newline=False`` to :func:`load_table`.
    """
    if text and not text.endswith("\n"):
        tail = text.rsplit("\n", 1)[-1]
        raise DatasetFormatError(
            f"{file}: ragged or truncated file: the last line does not end with a line break, as every line of "
            f"the published file does, so it was probably cut inside its last field (last line: {tail[:60]!r})"
        )


def null_tokens(df: pl.DataFrame) -> pl.DataFrame:
    """Turn the textual "missing" markers (``NA``, ``-``, blank) into nulls in every string column."""
    return df.with_columns(
        pl.when(pl.col(c).is_in(NULL_TOKENS)).then(None).otherwise(pl.col(c)).alias(c)
        for c, t in df.schema.items()
        if t == pl.Utf8
    )


def number_rows(df: pl.DataFrame) -> pl.DataFrame:
    """Drop blank lines (all cells null) and number the data rows from 1 in a ``_row`` column."""
    if df.width:
        df = df.filter(~pl.all_horizontal(pl.all().is_null()))
    return df.with_row_index(_ROW, offset=1).with_columns(pl.col(_ROW).cast(pl.Int64))


def load_table(path: Path, candidates: Iterable[str] = DELIMITERS, *, final_newline: bool = True) -> Table:
    """Read a delimited text file whatever its encoding/delimiter, after checking its shape.

    Empty, binary, one-column (unknown delimiter), duplicate-header and ragged files raise
    :class:`DatasetFormatError`; nothing from polars or csv leaks out.
    """
    path = Path(path)
    file = path.name
    text, encoding = read_text(path)
    delimiter = sniff_record_delimiter(text[:65536], file, candidates)
    header = read_header(text[:65536], delimiter)  # the header record only: parsing all the text is slow
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise DatasetFormatError(f"{file}: duplicate column name(s): {', '.join(dupes)}")
    check_field_counts(text, delimiter, len(header), file, final_newline=final_newline)
    sep = delimiter
    if len(delimiter.encode()) > 1:
        # polars wants a one-byte separator; the NHS website files use "¬" (two bytes in UTF-8).
        if "\x1f" in text:
            raise DatasetFormatError(f"{file}: unexpected control character in a {delimiter!r}-delimited file")
        text, sep = text.replace(delimiter, "\x1f"), "\x1f"
    try:
        df = read_csv_text(text, sep, file)
    except (pl.exceptions.PolarsError, ValueError) as exc:
        if isinstance(exc, DatasetFormatError):
            raise
        raise DatasetFormatError(f"{file}: cannot read as CSV ({str(exc).splitlines()[0]})") from exc
    return Table(frame=null_tokens(number_rows(df)), header=header, encoding=encoding, delimiter=delimiter)


def find_column(header: Sequence[str], *, exact: Iterable[str] = (), prefix: Iterable[str] = ()) -> str | None:
    """The first header cell equal to one of ``exact`` or starting with one of ``prefix`` (case-insensitive).

    Used where publishers put a changing number in a header ("Achievement score (635 max)").
    """
    folded = {h.casefold(): h for h in header}
    for e in exact:
        if e.casefold() in folded:
            return folded[e.casefold()]
    for p in prefix:
        for h in header:
            if h.casefold().startswith(p.casefold()):
                return h
    return None


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
