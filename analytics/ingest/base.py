"""Shared contract for the national-file parsers.

Every parser is a function ``parse(path: Path) -> Parsed``. It:

* checks the file's layout (headers, or field count and value shapes for header-less ODS files) *before*
  reading rows, and raises :class:`DatasetFormatError` naming the missing columns when it cannot recognise it;
* reads columns by header name, never by position (except ODS files, which have no header);
* validates every row against a typed schema and drops the bad ones, recording a :class:`Skip` for each with
  the 1-based data-row number, the column and the reason;
* returns typed polars frames with the canonical column names documented in each parser module.

Parsers never touch a database: the Django ``datasets`` app loads what they return.

The helpers the parsers share build on this contract without changing it: reading a table and its layout
(:mod:`analytics.ingest.tables`) and typed conversion with row validation (:mod:`analytics.ingest.convert`).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

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
            text.encode(),
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
