"""The national ledger's month totals (issue 19): each entry counts in its month in London, summer time included,
and on SQLite the month is found by SQLite itself (``apps.core.backends.sqlite3``), not by a Python function called
once per entry, which made the national ledger grow with its entries (141 ms at 10x)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.db.models.functions import TruncMonth
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from analytics.money import Kind
from apps.funding import ledger_list
from apps.funding.models import Budget, LedgerEntry

pytestmark = pytest.mark.django_db

# Either side of local midnight at the month ends around both clock changes (BST runs from 29 March to 25 October
# 2026), and either side of the changes themselves.
STAMPS = [
    datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC),  # 00:59 GMT: March
    datetime(2026, 3, 29, 1, 0, 0, tzinfo=UTC),  # 02:00 BST: March
    datetime(2026, 3, 31, 22, 59, 59, 999999, tzinfo=UTC),  # 23:59 BST on 31 March: March
    datetime(2026, 3, 31, 23, 0, 0, tzinfo=UTC),  # midnight BST: April
    datetime(2026, 5, 31, 23, 30, tzinfo=UTC),  # 00:30 BST on 1 June: June
    datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 01:30 BST, the clocks go back at 02:00: October
    datetime(2026, 10, 31, 23, 30, tzinfo=UTC),  # 23:30 GMT: still October
    datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),  # the last second of the year: December
    datetime(2027, 1, 1, 0, 0, 0, tzinfo=UTC),  # January
]
EXPECTED = [(2026, 3), (2026, 3), (2026, 3), (2026, 4), (2026, 6), (2026, 10), (2026, 10), (2026, 12), (2027, 1)]


def entries_at(budget: Budget, user, stamps: list[datetime]) -> None:
    LedgerEntry.objects.bulk_create(
        LedgerEntry(budget=budget, kind=Kind.VARIATION, amount_pence=2**i, reference=f"MONTH-{i}", memo="Top-up",
                    created_by=user, created_at=at)
        for i, at in enumerate(stamps)
    )  # fmt: skip


def national_months(budget: Budget) -> dict[tuple[int, int], int]:
    """(year, month) -> the month's summed amount in the national (grouped) ledger of the test entries."""
    qs = LedgerEntry.objects.filter(budget=budget, reference__startswith="MONTH-")
    rows = ledger_list.ledger_rows(qs, detail=False)
    out: dict[tuple[int, int], int] = {}
    for r in rows:
        month = timezone.localtime(r["month"])
        assert (month.day, month.hour, month.minute) == (1, 0, 0), month  # local midnight on the 1st
        out[(month.year, month.month)] = out.get((month.year, month.month), 0) + r["amount_total"]
    return out


def test_each_entry_counts_in_its_london_month_either_side_of_the_clock_changes(personas, budget):
    assert [(timezone.localtime(s).year, timezone.localtime(s).month) for s in STAMPS] == EXPECTED
    entries_at(budget, personas["icb_a"], STAMPS)
    expected: dict[tuple[int, int], int] = {}
    for i, month in enumerate(EXPECTED):
        expected[month] = expected.get(month, 0) + 2**i
    assert national_months(budget) == expected


def test_a_zone_other_than_the_projects_is_still_truncated_in_that_zone(personas, budget):
    """SQLite's ``localtime`` knows only the process's zone: under another (India, +05:30) Django's own conversion
    is kept, so 18:45 UTC on 31 May is June there, while it is May in London."""
    entries_at(budget, personas["icb_a"], [datetime(2026, 5, 31, 18, 45, tzinfo=UTC)])
    qs = LedgerEntry.objects.filter(reference="MONTH-0")
    assert qs.annotate(m=TruncMonth("created_at")).get().m.date() == date(2026, 5, 1)
    with timezone.override("Asia/Kolkata"):
        month = qs.annotate(m=TruncMonth("created_at")).get().m
    assert (month.date(), month.utcoffset().total_seconds()) == (date(2026, 6, 1), 5.5 * 3600)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL truncates months natively")
def test_the_national_ledger_finds_months_with_sqlites_own_functions(client_for, personas, budget):
    entries_at(budget, personas["icb_a"], STAMPS)
    client = client_for("national")
    with CaptureQueriesContext(connection) as ctx:
        # a date range groups the entries themselves (without one the month lines are the running totals)
        response = client.get(
            reverse("funding:ledger"),
            {"line": f"{budget.line.programme.code}/{budget.line.code}", "from": "2000-01-01", "to": "2100-12-31"},
        )
    assert response.status_code == 200
    sql = "\n".join(q["sql"] for q in ctx.captured_queries)
    assert "'localtime'" in sql
    assert "django_datetime_trunc" not in sql  # Django's Python function, called once per entry
