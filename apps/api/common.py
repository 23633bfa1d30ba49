"""Shared pieces of every API area: paging, CSV output for tables, and the JSON error shape.

A list endpoint takes ``page`` and ``page_size`` and answers :class:`Paged` JSON, or — with ``?format=csv`` or
``Accept: text/csv`` — every matching row as CSV (no paging: a download is the whole table, as on the pages).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Annotated, Any, Literal

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import Field, Schema
from pydantic import BeforeValidator

from apps.core.exports import stream_download

Format = Literal["json", "csv"]


def _iso_day(value: Any) -> Any:
    """Only ``YYYY-MM-DD``: pydantic would otherwise read ``0`` or ``1700000000`` as a Unix time."""
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("Enter a date as YYYY-MM-DD, for example 2026-04-01")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_day)]
"""A date query parameter, written ``YYYY-MM-DD``."""


class Error(Schema):
    """Every error answer: a sentence saying what went wrong (validation errors list each field instead)."""

    detail: str


class Refused(Schema):
    """A step the service refused (``apps.core.errors.DomainError``): what was wrong, and the input at fault, if any."""

    detail: str
    field: str | None = None


class FormatQuery(Schema):
    format: Format = Field("json", description="'csv' for the table as a CSV file (or send Accept: text/csv)")


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=1_000_000, description="Page number, from 1")
    page_size: int = Field(
        settings.API_PAGE_SIZE,
        ge=1,
        le=settings.API_MAX_PAGE_SIZE,
        description=f"Rows per page (at most {settings.API_MAX_PAGE_SIZE})",
    )
    format: Format = Field("json", description="'csv' for every matching row as a CSV file (or send Accept: text/csv)")


class Paged[T](Schema):
    count: int = Field(description="Rows matching the filters, on all pages")
    page: int
    page_size: int
    pages: int
    results: list[T]


class ValidationErrors(Schema):
    """A 422 answer: one entry per bad field, with where it is (``loc``) and what is wrong (``msg``)."""

    detail: list[dict[str, Any]]


def field_errors(where: str, errors: dict[str, str]) -> dict[str, Any]:
    """A 422 body in the same shape as ninja's own validation errors: one entry per field, named in ``loc``.

    For rules a schema cannot state (a date range the wrong way round, a rule the service checks), so that every
    422 answer names its field the same way."""
    return {"detail": [{"type": "value_error", "loc": [where, name], "msg": msg} for name, msg in errors.items()]}


def paged(rows: Sequence[Any], page: int, page_size: int, row: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """One page of ``rows`` (a queryset or list). A page past the end is empty, not an error."""
    count = len(rows) if isinstance(rows, list) else rows.count()  # type: ignore[attr-defined]
    start = (page - 1) * page_size
    return {
        "count": count,
        "page": page,
        "page_size": page_size,
        "pages": max(1, math.ceil(count / page_size)),
        "results": [row(r) for r in rows[start : start + page_size]],
    }


def wants_csv(request: HttpRequest, fmt: str) -> bool:
    if fmt == "csv":
        return True
    if "text/csv" not in request.headers.get("Accept", ""):
        return False
    return request.get_preferred_type(["application/json", "text/csv"]) == "text/csv"


def _cell(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}={v}" for k, v in value.items())
    return value


def csv_response(rows: Iterable[dict[str, Any]], schema: type[Schema], filename: str) -> HttpResponse:
    """The rows as CSV, one column per field of ``schema`` in its order (lists joined with '; '), streamed: each row
    is turned into cells as it is written (``stream_download``), so a whole national table is never held at once.
    Pass a generator (or a queryset's ``.iterator()``) for the rows to be read as they are sent."""
    columns = list(schema.model_fields)
    return stream_download(([_cell(r.get(c)) for c in columns] for r in rows), columns, filename, "csv")


def table_responses(schema: Any) -> dict[Any, Any]:
    """The ``response=`` mapping for a table endpoint: its JSON, and the errors any endpoint may give."""
    return {200: schema, 401: Error, 403: Error, 404: Error, 422: ValidationErrors}


CSV_CONTENT = {
    "responses": {200: {"content": {"text/csv": {"schema": {"type": "string", "description": "the table as CSV"}}}}}
}
"""``openapi_extra`` for a table endpoint: documents its CSV answer beside the JSON one."""
