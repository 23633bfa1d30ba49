"""CSV and XLSX downloads of any table a page or the API shows: the one place the service writes a spreadsheet.

Every export goes through ``table_download`` (or ``write_csv`` for a file a command writes), so the defence against
spreadsheet formula injection lives here once. A text cell that a spreadsheet would read as a formula — one that
begins with ``=``, ``+``, ``-`` or ``@``, or with a tab or carriage return that some programs strip before looking for
those — is written with a leading apostrophe, the convention spreadsheets use for "this is text" (OWASP's advice for
CSV injection). Numbers are left as numbers: ``-120`` in an integer column is a value, not a formula. The XLSX writer
is told never to turn strings into formulas, numbers or links, so a text cell is always a string cell there.
``apps/core/tests/test_exports.py`` fails when code elsewhere writes CSV or XLSX any other way.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import IO, Any

import polars as pl
import xlsxwriter
from django.http import HttpResponse

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
