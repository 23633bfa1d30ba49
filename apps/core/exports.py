"""CSV and XLSX downloads of any table a page or the API shows: the one place the service writes a spreadsheet.

Every export goes through ``table_download`` (or ``write_csv`` for a file a command writes), so the defence against
spreadsheet formula injection lives here once. A text cell that a spreadsheet would read as a formula — one that
begins with ``=``, ``+``, ``-`` or ``@``, or with a tab or carriage return that some programs strip before looking for
those — is written with a leading apostrophe, the convention spreadsheets use for "this is text" (OWASP's advice for
CSV injection). Numbers are left as numbers: ``-120`` in an integer column is a value, not a formula. The XLSX writer
is told never to turn strings into formulas, numbers or links, so a text cell is always a string cell there.
``apps/core/tests/test_exports.py`` fails when code elsewhere writes CSV or XLSX any other way.

A long table (the ledger: hundreds of thousands of rows) is downloaded with :func:`stream_download`, which takes the
rows as an iterator (a queryset's ``.iterator()``) and never holds them all: CSV is sent to the client as it is
written, XLSX is written row by row in xlsxwriter's constant-memory mode to a temporary file that is then sent.

Both downloads write cells by what they hold, so a file reads like the page it came from: a ``date`` is a date cell
(``dd/mm/yyyy``), a ``datetime`` a date-and-time cell, a number a number. A column said to be ``money`` (``kinds``,
one :data:`Kind` a column; list tables say it for you, see :mod:`apps.core.tables`) holds pounds and is written as
a number with a currency format in XLSX and as a plain ``1234.50`` in CSV (a spreadsheet then reads it as a number).
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any, Literal

import polars as pl
import xlsxwriter
from django.http import FileResponse, HttpResponse, StreamingHttpResponse

FORMATS = {"csv", "xlsx"}

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these may be evaluated by a spreadsheet that opens the CSV."""

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"

Kind = Literal["text", "number", "money", "date", "datetime"]
"""How a column is written: ``money`` is pounds (a number with a currency format in XLSX, two places in CSV)."""

XLSX_FORMATS: dict[str, dict[str, Any]] = {
    "money": {"num_format": "£#,##0.00;-£#,##0.00"},
    "date": {"num_format": "dd/mm/yyyy"},
    "datetime": {"num_format": "dd/mm/yyyy hh:mm"},
    "heading": {"bold": True},
}


_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?%?")
"""Text that is only a signed number ("-0.8%", "-12") cannot call anything, and quoting it would spoil the value."""


def neutralise(value: Any) -> Any:
    """The cell as it is safe to write: text that a spreadsheet would evaluate gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _frame(rows: Sequence[Sequence[Any]], columns: Sequence[str], *, csv: bool) -> pl.DataFrame:
    data = [[neutralise(v) for v in r] for r in rows] if csv else [list(r) for r in rows]
    return pl.DataFrame(data, schema=list(columns), orient="row", infer_schema_length=None)


def write_csv(rows: Sequence[Sequence[Any]], columns: Sequence[str], out: IO[bytes]) -> None:
    """Write the rows as CSV (a header line of ``columns`` first) with every text cell neutralised."""
    _frame(rows, columns, csv=True).write_csv(out)


def write_xlsx(rows: Sequence[Sequence[Any]], columns: Sequence[str], out: IO[bytes]) -> None:
    """Write the rows as a one-sheet workbook whose text cells are always strings (never formulas or links)."""
    workbook = xlsxwriter.Workbook(
        out, {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}
    )
    try:
        _frame(rows, columns, csv=False).write_excel(workbook=workbook, worksheet="data", autofit=True)
    finally:
        workbook.close()


def write_xlsx_sheets(sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Any]]]], out: IO[bytes]) -> None:
    """Write several named tables (``(sheet name, columns, rows)``) as one workbook, text cells always strings: for
    files a person fills in and sends back, such as an import template with its notes."""
    workbook = xlsxwriter.Workbook(
        out, {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}
    )
    try:
        for name, columns, rows in sheets:
            _frame(rows, columns, csv=False).write_excel(workbook=workbook, worksheet=name, autofit=True)
    finally:
        workbook.close()


def table_download(
    rows: Sequence[Sequence[Any]],
    columns: Sequence[str],
    filename: str,
    fmt: str,
    kinds: Sequence[Kind] | None = None,
) -> HttpResponse:
    """Answer with the rows as a CSV or XLSX file named ``filename.<fmt>`` (``kinds``: see the module docstring)."""
    if fmt == "xlsx":
        body, ctype = xlsx_bytes(rows, columns, kinds), XLSX_TYPE
    else:
        body, ctype = b"".join(_csv_chunks(rows, columns, kinds)), CSV_TYPE
    response = HttpResponse(body, content_type=ctype)
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response


def xlsx_bytes(rows: Sequence[Sequence[Any]], columns: Sequence[str], kinds: Sequence[Kind] | None = None) -> bytes:
    """The XLSX file a download of these rows is (``table_download``'s, and a large one the worker writes ahead)."""
    buf = io.BytesIO()
    _write_typed_xlsx(rows, columns, kinds, buf, constant_memory=False)
    return buf.getvalue()


STREAM_CHUNK_ROWS = 2000
"""Rows written into one chunk of a streamed CSV: large enough that the chunks are few, small enough to stay light."""


def _csv_cell(value: Any, kind: Kind = "text") -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"  # as the polars writer spells them
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if kind == "datetime" else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if kind == "money" and isinstance(value, int | float | Decimal):
        return f"{Decimal(value):.2f}"
    return neutralise(value)


def _csv_chunks(
    rows: Iterable[Sequence[Any]], columns: Sequence[str], kinds: Sequence[Kind] | None = None
) -> Iterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    ks: Sequence[Kind] = kinds or ["text"] * len(columns)
    for n, row in enumerate(rows, 1):
        writer.writerow([_csv_cell(v, k) for v, k in zip(row, ks, strict=False)])
        if n % STREAM_CHUNK_ROWS == 0:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()


def _write_typed_xlsx(
    rows: Iterable[Sequence[Any]],
    columns: Sequence[str],
    kinds: Sequence[Kind] | None,
    out: IO[bytes],
    *,
    constant_memory: bool,
) -> None:
    """One sheet, ``data``: a bold heading row, then each cell by what it holds (see the module docstring)."""
    workbook = xlsxwriter.Workbook(
        out,
        {
            "constant_memory": constant_memory,  # streamed: each row is flushed to disk once the next starts
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
            "remove_timezone": True,
        },
    )
    try:
        formats = {name: workbook.add_format(spec) for name, spec in XLSX_FORMATS.items()}
        sheet = workbook.add_worksheet("data")
        ks: Sequence[Kind] = kinds or ["text"] * len(columns)
        for i, (heading, kind) in enumerate(zip(columns, ks, strict=False)):
            width = max(len(str(heading)) + 2, 12 if kind in ("money", "date") else 8, 17 if kind == "datetime" else 0)
            sheet.set_column(i, i, width)
        sheet.write_row(0, 0, list(columns), formats["heading"])
        for n, row in enumerate(rows, 1):
            for i, (value, kind) in enumerate(zip(row, ks, strict=False)):
                _write_cell(sheet, n, i, value, kind, formats)
        if not constant_memory:
            sheet.autofit()
    finally:
        workbook.close()


def _write_cell(sheet: Any, r: int, c: int, value: Any, kind: Kind, formats: dict[str, Any]) -> None:
    if value is None:
        return
    if isinstance(value, datetime):
        sheet.write_datetime(r, c, value, formats["date" if kind == "date" else "datetime"])
    elif isinstance(value, date):
        sheet.write_datetime(r, c, value, formats["date"])
    elif isinstance(value, bool):
        sheet.write_boolean(r, c, value)
    elif isinstance(value, int | float | Decimal):
        sheet.write_number(r, c, float(value), formats["money"] if kind == "money" else None)
    else:
        sheet.write_string(r, c, str(value))


def _xlsx_file(rows: Iterable[Sequence[Any]], columns: Sequence[str], kinds: Sequence[Kind] | None) -> IO[bytes]:
    out = tempfile.TemporaryFile()  # noqa: SIM115 - handed to FileResponse, which closes it when sent
    _write_typed_xlsx(rows, columns, kinds, out, constant_memory=True)
    out.seek(0)
    return out


def stream_download(
    rows: Iterable[Sequence[Any]],
    columns: Sequence[str],
    filename: str,
    fmt: str,
    kinds: Sequence[Kind] | None = None,
) -> HttpResponse:
    """Answer with the rows as ``filename.<fmt>`` without holding them all: pass an iterator. Cells are written as
    :func:`table_download` writes them."""
    response: HttpResponse
    if fmt == "xlsx":
        response = FileResponse(_xlsx_file(rows, columns, kinds), content_type=XLSX_TYPE)  # type: ignore[assignment]
    else:
        response = StreamingHttpResponse(_csv_chunks(rows, columns, kinds), content_type=CSV_TYPE)  # type: ignore[assignment]
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response
