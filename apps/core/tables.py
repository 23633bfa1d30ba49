"""List pages as django-tables2 tables: the columns of a list (heading, sort order, how a cell shows and what it
exports as) are declared once and used by the page and by its CSV/XLSX download.

A list view builds its queryset from the app's policy scoping (never from the table), narrows it with a FilterSet,
then calls :func:`configure` (sorting and paging from the query string, counted and cut in the database) or
:func:`download_table` (every filtered row, streamed through :mod:`apps.core.exports`, typed: money as money, dates
as dates). The page renders the table with the ``data_table`` macro in ``templates/core/_table.jinja`` (NHS.UK table
markup, sortable headings as links carrying ``aria-sort``, the NHS.UK pagination component).

Every sortable column's ``order_by`` ends on a unique key, so rows neither repeat nor go missing between pages
whichever column the list is sorted by.
"""

from __future__ import annotations

import threading
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import django_tables2 as tables
import django_tables2.utils as tables_utils
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils import timezone
from django_tables2.columns import BoundColumn, ManyToManyColumn
from django_tables2.columns.linkcolumn import BaseLinkColumn
from django_tables2.rows import BoundRow

from apps.core import formatting
from apps.core.exports import STREAM_CHUNK_ROWS, Kind, stream_download
from apps.core.paging import PAGE_SIZE

MAX_PER_PAGE = 100
"""A ``per_page`` asked for in the query string is capped here: a page stays a page."""

Signature = tuple[tuple[str, ...], str | None]


def _memoised_signature(read: Callable[[Callable[..., Any]], Signature]) -> Callable[[Callable[..., Any]], Signature]:
    """django-tables2 asks ``inspect.signature`` which arguments a column's ``render``/``value`` takes once per *cell*
    (``utils.call_with_appropriate``): on a 50-row list that was a sixth of the page's CPU time. The answer depends
    only on the function (a bound method's is its function's, less ``self``), so it is kept per function; callables
    of other kinds (a ``functools.partial``, an object with ``__call__``) are asked every time, as before."""
    known: dict[tuple[Callable[..., Any], bool], Signature] = {}
    lock = threading.Lock()

    def signature(fn: Callable[..., Any]) -> Signature:
        if isinstance(fn, types.MethodType):
            key = (fn.__func__, True)
        elif isinstance(fn, types.FunctionType):
            key = (fn, False)
        else:
            return read(fn)
        found = known.get(key)
        if found is None:
            found = read(fn)
            with lock:
                if len(known) > 4096:  # functions made per request (closures) must not grow this without end
                    known.clear()
                known[key] = found
        return found

    signature.read = read  # type: ignore[attr-defined]  # the library's own, for the test that compares them
    return signature


if not hasattr(tables_utils.signature, "read"):  # once, however often this module is reloaded
    tables_utils.signature = _memoised_signature(tables_utils.signature)


class Column(tables.Column):
    """A column that knows how its value is written to a spreadsheet (``kind``, see :data:`exports.Kind`)."""

    kind: Kind = "text"

    def __init__(self, *args: Any, kind: Kind | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if kind is not None:
            self.kind = kind

    def value(self, **kwargs: Any) -> Any:
        """The typed value for exports (a number stays a number), not the text the page shows."""
        value = kwargs.get("value")
        return None if value is None or value == "" else value


class MoneyColumn(Column):
    """Integer pence shown as pounds and pence, exported as a number of pounds with a currency format."""

    kind: Kind = "money"

    def render(self, value: int) -> str:
        return formatting.pounds(value, 2)

    def value(self, **kwargs: Any) -> Decimal | None:
        pence = kwargs.get("value")
        return None if pence is None else Decimal(pence) / 100


class DateColumn(Column):
    """A date (or a datetime, shown as its day in Europe/London), exported as a date cell."""

    kind: Kind = "date"

    def render(self, value: date | datetime) -> str:
        return formatting.date_uk(_day(value))

    def value(self, **kwargs: Any) -> date | None:
        v = kwargs.get("value")
        return None if v is None else _day(v)


class DateTimeColumn(Column):
    """A moment, shown and exported in Europe/London."""

    kind: Kind = "datetime"

    def render(self, value: datetime) -> str:
        return formatting.datetime_uk(value)

    def value(self, **kwargs: Any) -> datetime | None:
        v = kwargs.get("value")
        return None if v is None else timezone.localtime(v).replace(tzinfo=None)


class NumberColumn(Column):
    """A count or measure: right-aligned, grouped by thousands, exported as a number."""

    kind: Kind = "number"

    def render(self, value: float) -> str:
        return formatting.number(value)


def _day(value: date | datetime) -> date:
    return timezone.localtime(value).date() if isinstance(value, datetime) else value


NUMERIC_KINDS = {"money", "number"}


class _Cell:
    """How one column's cells are drawn, worked out once per table instead of once per cell.

    django-tables2's ``BoundRow.get_cell(name)`` finds the column by scanning the table's columns, builds two
    ``Accessor`` strings, asks the model's ``_meta`` whether the field has choices and reads three properties of the
    bound column, for every cell: on a 50-row list of eight columns that was a quarter of the page's CPU. All of it
    depends on the column (and, for the choices question, on the record's class), not on the row, so it is kept
    here; :meth:`draw` then does what ``get_cell`` does, step for step, with the kept answers
    (``apps/pages/tests/test_table_cells.py`` renders every list page both ways and compares them)."""

    __slots__ = ("args", "bound", "catch_all", "choices", "default", "empty", "link", "linked", "m2m", "path")

    def __init__(self, bound: BoundColumn) -> None:
        column = bound.column
        self.bound = bound
        accessor = tables_utils.A(bound.accessor)
        path, _, remainder = accessor.rpartition(accessor.SEPARATOR)
        self.path = (tables_utils.A(path), remainder, accessor)
        self.default = bound.default
        self.empty = column.empty_values
        self.link = bound.link
        self.m2m = isinstance(column, ManyToManyColumn)
        self.linked = isinstance(column, BaseLinkColumn) and column.text is not None
        self.args, self.catch_all = tables_utils.signature(bound.render)
        self.choices: dict[type, bool] = {}  # record class -> does the accessor end on a field with choices

    def _has_choices(self, record: Any) -> bool:
        kind = type(record)
        found = self.choices.get(kind)
        if found is None:
            field = self.path[2].get_field(record)
            found = self.choices[kind] = bool(getattr(field, "choices", ()))
        return found

    def draw(self, row: BoundRow) -> Any:
        record = row.record
        head, remainder, accessor = self.path
        value = None
        penultimate = head.resolve(record, quiet=True)
        if isinstance(penultimate, models.Model):
            display = getattr(penultimate, f"get_{remainder}_display", None)
            if display and self._has_choices(record):
                value = display()
                remainder = ""
        if remainder:
            try:
                value = accessor.resolve(record)
            except Exception:  # as tables2 does: a column that is not a field (its issue #257)
                if self.linked:
                    return self._render(row, None)
        if value in self.empty or (self.m2m and not value.exists()):
            return self.default
        return self._render(row, value)

    def _render(self, row: BoundRow, value: Any) -> Any:
        bound = self.bound
        every = {
            "value": value,
            "record": row.record,
            "column": bound.column,
            "bound_column": bound,
            "bound_row": row,
            "table": bound._table,
        }
        if self.catch_all:
            content = bound.render(**every)
        elif any(a not in every for a in self.args):
            content = None  # tables2 does not call a render that asks for something it cannot give
        else:
            content = bound.render(**{a: every[a] for a in self.args})
        return self.link(content, **every) if self.link else content


@dataclass(frozen=True)
class Heading:
    """One column heading as the page shows it: a link that sorts by it when ``href`` is set."""

    label: str
    href: str | None
    aria_sort: str | None  # "ascending" / "descending" on the column the list is sorted by, else None
    numeric: bool


@dataclass(frozen=True)
class PageLink:
    href: str
    label: str


class DataTable(tables.Table):
    """The base of every list table: paging capped, headings and page links built for the Jinja macro."""

    page_size = PAGE_SIZE
    """Rows a page unless the query asks for fewer (or more, up to :data:`MAX_PER_PAGE`). A class attribute, not
    ``Meta.per_page``: tables2 reads ``Meta`` from the class itself, so a subclass without one would lose it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("default", "–")  # an empty cell on the page (an export leaves it empty)
        super().__init__(*args, **kwargs)

    def paginate(self, paginator_class: Any = None, per_page: int | None = None, page: int = 1, *args: Any, **kw: Any):  # type: ignore[override]
        per_page = max(1, min(per_page or self.page_size, MAX_PER_PAGE))
        if paginator_class is None:
            return super().paginate(per_page=per_page, page=page, *args, **kw)  # noqa: B026
        return super().paginate(paginator_class, per_page, page, *args, **kw)

    # --- what the macro reads -----------------------------------------------------------------------------------

    def _query(self, **changes: str | None) -> str:
        q: QueryDict = self.request.GET.copy() if getattr(self, "request", None) else QueryDict(mutable=True)
        q.pop("download", None)
        for key, value in changes.items():
            q.pop(key, None)
            if value is not None:
                q[key] = value
        return "?" + q.urlencode() if q else "?"

    def headings(self) -> list[Heading]:
        out = []
        for column in self.columns:
            numeric = getattr(column.column, "kind", "text") in NUMERIC_KINDS
            label = str(column.header)
            if not column.orderable:
                out.append(Heading(label, None, None, numeric))
                continue
            sort: str | None = None
            if column.is_ordered:
                sort = "descending" if column.order_by_alias.is_descending else "ascending"
            href = self._query(
                **{self.prefixed_order_by_field: column.order_by_alias.next, self.prefixed_page_field: None}
            )
            out.append(Heading(label, href, sort, numeric))
        return out

    def visible_columns(self) -> list[BoundColumn]:
        """The columns the page shows, in order (``table.columns`` works them out again at each use)."""
        return list(self.columns)

    def cell(self, row: BoundRow, column: BoundColumn) -> Any:
        """What ``row.get_cell(column.name)`` gives, without its per-cell set-up (:class:`_Cell`)."""
        cells: dict[str, _Cell] = self.__dict__.setdefault("_cells", {})
        found = cells.get(column.name)
        if found is None or found.bound is not column:
            found = cells[column.name] = _Cell(column)
        return found.draw(row)

    def numeric_columns(self) -> set[str]:
        return {c.name for c in self.columns if getattr(c.column, "kind", "text") in NUMERIC_KINDS}

    def previous_link(self) -> PageLink | None:
        page = getattr(self, "page", None)
        if page is None or not page.has_previous():
            return None
        n = page.previous_page_number()
        return PageLink(self._query(**{self.prefixed_page_field: str(n)}), f"Page {n} of {page.paginator.num_pages}")

    def next_link(self) -> PageLink | None:
        page = getattr(self, "page", None)
        if page is None or not page.has_next():
            return None
        n = page.next_page_number()
        return PageLink(self._query(**{self.prefixed_page_field: str(n)}), f"Page {n} of {page.paginator.num_pages}")

    def download_query(self, fmt: str) -> str:
        """The link that downloads this list as it is filtered and sorted (every page)."""
        return self._query(**{self.prefixed_page_field: None, "download": fmt})


def configure(request: HttpRequest, table: DataTable, paginator_class: type[Any] | None = None) -> DataTable:
    """Sort and page ``table`` from the query string (an odd page number shows the first page, one past the end
    the last). ``paginator_class`` replaces Django's paginator for a list that counts its rows another way."""
    paginate: dict[str, Any] = {"silent": True}
    if paginator_class is not None:
        paginate["paginator_class"] = paginator_class
    tables.RequestConfig(request, paginate=paginate).configure(table)
    return table


def export_rows(table: DataTable) -> tuple[list[tuple[str, Kind]], Iterator[list[Any]]]:
    """The table's exported columns (heading, kind) and each row's typed values, in the table's order. The rows are
    read as they are written, in chunks (``QuerySet.iterator``), never all held: a case list over years of cases
    downloads in constant memory."""
    columns = [c for c in table.columns.iterall() if not c.column.exclude_from_export]
    heads = [(str(c.header), getattr(c.column, "kind", "text")) for c in columns]
    data = table.data.data  # ordered as the page is (RequestConfig applies the sort to it)
    records = data.iterator(chunk_size=STREAM_CHUNK_ROWS) if isinstance(data, QuerySet) else iter(data)
    rows = ([BoundRow(record, table=table).get_cell_value(c.name) for c in columns] for record in records)
    return heads, rows


def download_table(request: HttpRequest, table: DataTable, filename: str, fmt: str) -> HttpResponse:
    """Every row of ``table`` (sorted as the page is) as a CSV or XLSX file, with the page's column headings:
    streamed (:func:`apps.core.exports.stream_download`), CSV as it is written, XLSX in constant memory."""
    tables.RequestConfig(request, paginate=False).configure(table)
    heads, rows = export_rows(table)
    return stream_download(rows, [h for h, _ in heads], filename, fmt, kinds=[k for _, k in heads])
