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
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import IO, Any

import polars as pl
import xlsxwriter
from django.http import FileResponse, HttpResponse, StreamingHttpResponse

FORMATS = {"csv", "xlsx"}

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these may be evaluated by a spreadsheet that opens the CSV."""

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"


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


def table_download(rows: Sequence[Sequence[Any]], columns: Sequence[str], filename: str, fmt: str) -> HttpResponse:
    """Answer with the rows as a CSV or XLSX file named ``filename.<fmt>``."""
    buf = io.BytesIO()
    if fmt == "xlsx":
        write_xlsx(rows, columns, buf)
        ctype = XLSX_TYPE
    else:
        write_csv(rows, columns, buf)
        ctype = CSV_TYPE
    response = HttpResponse(buf.getvalue(), content_type=ctype)
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response


STREAM_CHUNK_ROWS = 2000
"""Rows written into one chunk of a streamed CSV: large enough that the chunks are few, small enough to stay light."""


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"  # as the polars writer spells them
    if isinstance(value, datetime | date):
        return value.isoformat()
    return neutralise(value)


def _csv_chunks(rows: Iterable[Sequence[Any]], columns: Sequence[str]) -> Iterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for n, row in enumerate(rows, 1):
        writer.writerow([_csv_cell(v) for v in row])
        if n % STREAM_CHUNK_ROWS == 0:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()


def _xlsx_file(rows: Iterable[Sequence[Any]], columns: Sequence[str]) -> IO[bytes]:
    out = tempfile.TemporaryFile()  # noqa: SIM115 - handed to FileResponse, which closes it when sent
    workbook = xlsxwriter.Workbook(
        out,
        {
            "constant_memory": True,  # each row is flushed to disk once the next starts
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
            "remove_timezone": True,
        },
    )
    try:
        sheet = workbook.add_worksheet("data")
        sheet.write_row(0, 0, list(columns))
        for n, row in enumerate(rows, 1):
            sheet.write_row(n, 0, [v.isoformat() if isinstance(v, datetime | date) else v for v in row])
    finally:
        workbook.close()
    out.seek(0)
    return out


def stream_download(rows: Iterable[Sequence[Any]], columns: Sequence[str], filename: str, fmt: str) -> HttpResponse:
    """Answer with the rows as ``filename.<fmt>`` without holding them all: pass an iterator. CSV text cells are
    neutralised like :func:`write_csv`'s; XLSX strings stay strings as in :func:`write_xlsx`."""
    response: HttpResponse
    if fmt == "xlsx":
        response = FileResponse(_xlsx_file(rows, columns), content_type=XLSX_TYPE)  # type: ignore[assignment]
    else:
        response = StreamingHttpResponse(_csv_chunks(rows, columns), content_type=CSV_TYPE)  # type: ignore[assignment]
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response
