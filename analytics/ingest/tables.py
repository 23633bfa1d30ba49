"""Reading a national file into a table of text: delimiter and layout checks, null tokens, row numbers, the code
shapes and plausible ranges the parsers validate against. Builds on the contract in :mod:`analytics.ingest.base`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from analytics.ingest.base import DatasetFormatError, read_csv_text, read_header, read_text

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
