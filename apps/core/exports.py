"""CSV and XLSX downloads of any table a page shows."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import polars as pl
from django.http import HttpResponse

FORMATS = {"csv", "xlsx"}


def table_download(rows: Sequence[Sequence[Any]], columns: Sequence[str], filename: str, fmt: str) -> HttpResponse:
    """Answer with the rows as a CSV or XLSX file named ``filename.<fmt>``."""
    df = pl.DataFrame([list(r) for r in rows], schema=list(columns), orient="row", infer_schema_length=None)
    buf = io.BytesIO()
    if fmt == "xlsx":
        df.write_excel(buf, worksheet="data", autofit=True)
        ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        df.write_csv(buf)
        ctype = "text/csv; charset=utf-8"
    response = HttpResponse(buf.getvalue(), content_type=ctype)
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response
