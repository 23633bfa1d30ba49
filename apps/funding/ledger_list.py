"""The ledger as a list, for the page, the API and their downloads: filtered, grouped, counted, summed and paged in
the database, so a page costs the same few queries with 500 entries or 500,000 (issue 19), and a download streams.

An ICB's own team sees its entries one by one (practice, offer, reference, memo, author). The national team sees
totals per budget (ICB, programme, line, year), kind and month (``access.sees_case_rows``): no line is one
commitment, so none carries a reference, memo or author that would identify a practice's case.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.db.models import Count, F, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Concat, Trim, TruncMonth
from django.utils import timezone

from analytics import money
from apps.core.exports import Kind
from apps.funding import ledger_writes
from apps.funding.models import Budget, LedgerEntry, LedgerMonth


@dataclass
class LedgerFilters:
    icb: str = ""
    line: str = ""  # "<programme code>/<line code>"
    kind: str = ""
    start: date | None = None
    end: date | None = None

    def apply[Q: QuerySet[Any]](self, qs: Q) -> Q:
        """Narrow ledger entries, or the ledger's monthly totals (the same fields but the time: :func:`counted`)."""
        if self.icb:
            qs = qs.filter(icb__code=self.icb)
        if self.line and "/" in self.line:
            prog, line = self.line.split("/", 1)
            qs = qs.filter(budget__line__programme__code=prog, budget__line__code=line)
        if self.kind:
            qs = qs.filter(kind=self.kind)
        tz = timezone.get_current_timezone()
        if self.start:
            qs = qs.filter(created_at__gte=datetime.combine(self.start, time.min, tz))
        if self.end:
            qs = qs.filter(created_at__lte=datetime.combine(self.end, time.max, tz))
        return qs


_BY = Trim(Concat(F("created_by__first_name"), Value(" "), F("created_by__last_name")))

# Newest first, then a fixed order within a month, ending on something unique so that pages neither repeat nor lose
# a row between them.
_ENTRY_ORDER = ("-created_at", "-pk")
_MONTH_ORDER = ("-month", "-icb_code", "-programme", "-line_name", "-financial_year", "kind", "budget_id")


def ledger_rows(qs: QuerySet[LedgerEntry], detail: bool) -> QuerySet[Any]:
    """One ``values()`` row per line, in the list's order: every field the page, the API and the downloads show.
    ``detail`` gives entries one by one; without it, month totals per budget and kind (``entries`` counts them)."""
    shown = {
        "icb_code": F("icb__code"),
        "programme": F("budget__line__programme__code"),
        "line": F("budget__line__code"),
        "financial_year": F("budget__fy"),
    }
    if detail:
        return (
            qs.order_by(*_ENTRY_ORDER)
            .annotate(at=F("created_at"), by_name=_BY, by_username=F("created_by__username"), **shown)
            .values(
                "pk",
                "at",
                "budget_id",
                "kind",
                "amount_pence",
                "reference",
                "practice_code",
                "offer_code",
                "memo",
                "by_name",
                "by_username",
                *shown,
            )
        )
    tz = timezone.get_current_timezone()
    return (
        qs.annotate(month=TruncMonth("created_at", tzinfo=tz))
        .order_by()
        .values("month", "budget_id", "kind")
        .annotate(amount_total=Sum("amount_pence"), entries=Count("pk"), line_name=F("budget__line__name"), **shown)
        .order_by(*_MONTH_ORDER)
    )


class MonthRows:
    """The national list's month lines read from the running monthly totals (``LedgerMonth``: one row per budget, kind
    and month, kept with each entry) instead of grouping every entry: what :func:`ledger_rows` gives without
    ``detail``, row for row, for a page or a download that no date range narrows. Sliced, counted and iterated as
    that queryset is (by the paginator, the API and the downloads); each month, stored as its first day, is given as
    the same aware midnight ``TruncMonth`` gives."""

    ordered = True

    def __init__(self, months: QuerySet[LedgerMonth]) -> None:
        self._qs = (
            months.annotate(
                amount_total=F("amount_pence"),
                line_name=F("budget__line__name"),
                icb_code=F("icb__code"),
                programme=F("budget__line__programme__code"),
                line=F("budget__line__code"),
                financial_year=F("budget__fy"),
            )
            .values(
                "month",
                "budget_id",
                "kind",
                "amount_total",
                "entries",
                "line_name",
                "icb_code",
                "programme",
                "line",
                "financial_year",
            )
            .order_by(*_MONTH_ORDER)
        )
        self._tz = timezone.get_current_timezone()

    def _as_truncated(self, row: dict[str, Any]) -> dict[str, Any]:
        return {**row, "month": datetime.combine(row["month"], time.min, self._tz)}

    def count(self) -> int:
        return self._qs.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[dict[str, Any]]:
        return [self._as_truncated(r) for r in self._qs[index]]

    def iterator(self, chunk_size: int = 2000) -> Iterator[dict[str, Any]]:
        return (self._as_truncated(r) for r in self._qs.iterator(chunk_size=chunk_size))


def list_rows(
    filters: LedgerFilters, entries: QuerySet[LedgerEntry], months: QuerySet[LedgerMonth], detail: bool
) -> QuerySet[Any] | MonthRows:
    """:func:`ledger_rows` of ``entries`` (``filters`` applied). The month lines come from ``months`` (the running
    totals, narrowed the same way but for ``filters``) when no date range cuts a month, as :func:`counted` does."""
    if detail or filters.start or filters.end:
        return ledger_rows(entries, detail)
    return MonthRows(filters.apply(months))


def totals(qs: QuerySet[LedgerEntry]) -> dict[str, int]:
    """Entries and their net amount over every filtered entry (both ways of listing sum to the same net)."""
    found = qs.order_by().aggregate(entries=Count("pk"), net=Coalesce(Sum("amount_pence"), 0))
    return {"entries": int(found["entries"]), "net": int(found["net"])}


def counted(filters: LedgerFilters, entries: QuerySet[LedgerEntry], months: QuerySet[LedgerMonth]) -> dict[str, int]:
    """:func:`totals` of ``entries`` (``filters`` applied), read from ``months`` (the same entries' running monthly
    totals, narrowed the same way but for ``filters``) when no date narrows them: a few rows per budget and month
    instead of every entry (``apps.funding.ledger_writes``). A date range cuts months, so it counts the entries."""
    if filters.start or filters.end:
        return totals(entries)
    return ledger_writes.totals(filters.apply(months))


def lines_of(rows: Sequence[dict[str, Any]], detail: bool) -> list[dict[str, Any]]:
    """One page of :func:`ledger_rows` as the lines the page and the API show, with their budgets (one query)."""
    budgets = Budget.objects.select_related("icb", "line__programme").in_bulk({r["budget_id"] for r in rows})
    lines = []
    for r in rows:
        budget = budgets[r["budget_id"]]
        lines.append(
            {
                "at": r["at"] if detail else r["month"],
                "icb": budget.icb,
                "budget": budget,
                "kind": r["kind"],
                "amount_pence": r["amount_pence"] if detail else r["amount_total"],
                "reference": r["reference"] if detail else "",
                "practice_code": r["practice_code"] if detail else "",
                "offer_code": r["offer_code"] if detail else "",
                "memo": r["memo"] if detail else "",
                "by": (r["by_name"] or r["by_username"]) if detail else "",
                "entries": 1 if detail else r["entries"],
            }
        )
    return lines


def export_rows(rows: QuerySet[Any] | MonthRows, detail: bool) -> Iterator[tuple[Any, ...]]:
    """Every row of :func:`ledger_rows` for a download (:data:`EXPORT_COLUMNS`), read in chunks, never all held."""
    for r in rows.iterator(chunk_size=2000):
        at = timezone.localtime(r["at"] if detail else r["month"]).isoformat(timespec="seconds")
        amount = r["amount_pence"] if detail else r["amount_total"]
        head = (at, r["icb_code"], r["programme"], r["line"], money.fy_label(r["financial_year"]), r["kind"])
        tail = (
            (r["reference"], r["practice_code"], r["offer_code"], r["memo"], r["by_name"] or r["by_username"])
            if detail
            else (r["entries"],)
        )
        yield (*head, amount, amount / 100, *tail)


EXPORT_COLUMNS = ["date_time", "icb_code", "programme", "line", "financial_year", "kind", "amount_pence", "amount_gbp"]


def export_columns(detail: bool) -> list[str]:
    return [*EXPORT_COLUMNS, *(["reference", "practice_code", "offer_code", "memo", "by"] if detail else ["entries"])]


def export_kinds(detail: bool) -> list[Kind]:
    """How each of :func:`export_columns` is written: ``amount_gbp`` as money, counts as numbers."""
    head: list[Kind] = ["text"] * 6 + ["number", "money"]
    return [*head, *(["text"] * 5 if detail else ["number"])]
