"""Paging for list pages: one page of a queryset, counted and cut in the database, and the query string to carry the
filters into the page links. A page therefore costs the same few queries with 50 rows or 50,000."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import QueryDict

PAGE_SIZE = 50


def page_of(qs: QuerySet[Any], number: str | None, size: int = PAGE_SIZE, count: int | None = None) -> Page:
    """The page asked for (the first for a missing or odd number, the last for one past the end). ``qs`` must be
    ordered on something unique so rows neither repeat nor go missing between pages. ``count``: the number of rows
    when the caller already has it (kept as a running total), so that ``qs`` is not counted again."""
    paginator = Paginator(qs, size)
    if count is not None:
        paginator.__dict__["count"] = count  # Paginator.count is a cached property: this is its cached value
    return paginator.get_page(number)


def counted_paginator(count: int) -> type[Paginator]:
    """A paginator that takes the number of rows as given (kept as a running total) instead of counting them, for
    ``apps.core.tables.configure``."""

    class Counted(Paginator):
        @property
        def count(self) -> int:  # type: ignore[override]
            return count

    return Counted


def query_without(query: QueryDict, *drop: str) -> str:
    """The request's query string without ``drop`` (e.g. ``page``), for links that keep the other filters."""
    q = query.copy()
    for key in drop:
        q.pop(key, None)
    return q.urlencode()
