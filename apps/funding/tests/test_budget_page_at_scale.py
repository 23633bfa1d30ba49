"""The ICB budget page at scale (issue 19 §2–3): its commitments are paged, counted and summed in the database, so
the page makes the same number of queries with ten times the commitments and payments."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.funding import services
from apps.funding.models import Payment
from apps.funding.tests.conftest import commit
from apps.pages.testing import ICB_A

pytestmark = pytest.mark.django_db


def grow(budget, user, approver, practices: list[str], start: int, n: int) -> None:
    """``n`` commitments of £10, each with one approved £4 invoice."""
    for i in range(start, start + n):
        c = commit(budget, user, practices, 1000, f"SCALE-{i:04d}")
        p = services.record_payment(
            reference=c.reference,
            amount_pence=400,
            kind=Payment.Kind.INVOICE,
            payee="Coach Ltd",
            user=user,
            invoice_number=f"S-{i}",
        )
        services.approve_payment(payment=p, user=approver)


def queries(client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def test_the_icb_budget_page_makes_the_same_queries_with_ten_times_the_commitments(
    client_for, personas, budget, practices_a, colleague_a
):
    client = client_for("icb_a")
    url = reverse("funding:icb_budget", args=[ICB_A])
    client.get(url)  # warm per-process caches so both measured requests start alike
    grow(budget, personas["icb_a"], colleague_a, practices_a, 0, 3)
    few, _ = queries(client, url)
    grow(budget, personas["icb_a"], colleague_a, practices_a, 3, 30)
    many, html = queries(client, url)
    assert many == few, f"{few} queries with 3 commitments, {many} with 33"
    assert "SCALE-0032" in html  # the newest is on the first page


def test_the_monthly_sums_put_each_entry_in_its_local_month(personas, budget, practices_a, colleague_a):
    """Each month's sums run from local midnight on the 1st: 23:30 UTC on 31 May is June in London (BST)."""
    from datetime import UTC, datetime

    from django.utils import timezone

    from analytics.money import Kind
    from apps.funding import reports
    from apps.funding.models import LedgerEntry
    from apps.funding.reports import COMMITTING

    grow(budget, personas["icb_a"], colleague_a, practices_a, 0, 2)  # committed and paid today
    fy = budget.fy
    stamps = [
        datetime(fy, 5, 31, 23, 30, tzinfo=UTC),
        datetime(fy, 6, 1, 12, tzinfo=UTC),
        datetime(fy + 1, 1, 5, tzinfo=UTC),
    ]
    LedgerEntry.objects.bulk_create(
        LedgerEntry(budget=budget, kind=Kind.VARIATION, amount_pence=100 + i, reference=f"MONTH-{i}",
                    memo="Top-up", created_by=personas["icb_a"], created_at=at)
        for i, at in enumerate(stamps)
    )  # fmt: skip
    expected: dict[tuple[int, int], list[int]] = {}
    for e in LedgerEntry.objects.filter(budget__fy=fy, budget__icb=budget.icb, kind__in=[*COMMITTING, Kind.PAYMENT]):
        local = timezone.localtime(e.created_at)
        sums = expected.setdefault((local.year, local.month), [0, 0])
        sums[1 if e.kind == Kind.PAYMENT else 0] += e.amount_pence
    got = {(d.year, d.month): [c, p] for d, c, p in reports.monthly(fy, budget.icb)}
    in_year = {k: v for k, v in expected.items() if k in got and v != [0, 0]}
    assert {k: v for k, v in got.items() if v != [0, 0]} == in_year
    assert got[(fy, 6)][0] >= 201  # the 31 May 23:30 UTC entry and the 1 June one, both June in London
    assert got[(fy + 1, 1)][0] >= 102
