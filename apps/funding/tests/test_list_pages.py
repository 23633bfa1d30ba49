"""The ICB payments page is paged, filtered and summed in the database: its query count does not grow with the
payments, it shows one page of rows, and its totals count every payment (issue 19: 5.1 s and 14 MB at 27,000)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.db.models import Count, Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.core.formatting import pounds
from apps.core.paging import PAGE_SIZE
from apps.funding import services
from apps.funding.models import Commitment, LedgerEntry, Payment
from apps.funding.tests.conftest import commit
from apps.pages.testing import ICB_A

pytestmark = pytest.mark.django_db


def record(personas, approver, n: int, start: int) -> None:
    """``n`` provider invoices of £1.xx on a demo commitment; every third approved by a colleague."""
    for i in range(start, start + n):
        p = services.record_payment(
            reference="DEMO-QHM-1",
            amount_pence=100 + i,
            kind=Payment.Kind.INVOICE,
            payee="Coach Ltd",
            user=personas["icb_a"],
            invoice_number=f"T-INV-{i:03d}",
        )
        if i % 3 == 0:
            services.approve_payment(payment=p, user=approver)


def get(client, url: str, params: dict[str, str] | None = None) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def invoices_shown(html: str) -> list[str]:
    return re.findall(r"invoice (T-INV-\d{3})", html)


def test_the_payments_page_is_paged_with_totals_over_every_payment_in_constant_queries(
    client_for, personas, colleague_a
):
    client = client_for("icb_a")
    url = reverse("funding:payments", args=[ICB_A])
    client.get(url)  # warm per-process caches so both measured requests start alike

    record(personas, colleague_a, 3, 0)
    few, _ = get(client, url)
    record(personas, colleague_a, 2 * PAGE_SIZE, 3)
    many, html = get(client, url)
    assert many == few, f"{few} queries with few payments, {many} with many"

    # one page of rows, newest first; the oldest are on a later page
    shown = invoices_shown(html)
    assert len(shown) == PAGE_SIZE and shown[0] == f"T-INV-{2 * PAGE_SIZE + 2:03d}" and "T-INV-000" not in shown
    # totals by status over every payment of the ICB, not just the page
    mine = Payment.objects.filter(commitment__budget__icb__code=ICB_A)
    for status in Payment.Status.values:
        agg = mine.filter(status=status).aggregate(n=Count("pk"), t=Sum("amount_pence"))
        row = re.search(rf'status={status}">[^<]+</a></td><td[^>]*>([\d,]+)</td><td[^>]*>([^<]+)</td>', html)
        assert row, status
        assert (row[1], row[2]) == (f"{agg['n']:,}", pounds(agg["t"] or 0, 2))
    assert f"{mine.count():,} payments, newest first: 1 to {PAGE_SIZE} shown" in html


def test_the_status_filter_is_kept_in_the_page_links_and_later_pages_hold_the_rest(client_for, personas, colleague_a):
    client = client_for("icb_a")
    url = reverse("funding:payments", args=[ICB_A])
    record(personas, colleague_a, 3 * PAGE_SIZE + 6, 0)
    approved = Payment.objects.filter(commitment__budget__icb__code=ICB_A, status=Payment.Status.APPROVED)
    assert approved.count() > PAGE_SIZE

    _, first = get(client, url, {"status": "approved"})
    assert "status=approved&amp;page=2" in first or "status=approved&page=2" in first
    _, second = get(client, url, {"status": "approved", "page": "2"})
    on_pages = invoices_shown(first) + invoices_shown(second)
    ours = sorted(approved.filter(invoice_number__startswith="T-INV-").values_list("invoice_number", flat=True))
    assert sorted(on_pages) == ours  # every approved test invoice once, nothing else
    assert all(int(n[-3:]) % 3 == 0 for n in on_pages)
    # an odd page number or status shows the first page of everything, not an error
    _, odd = get(client, url, {"status": "paid?", "page": "x"})
    assert len(invoices_shown(odd)) == PAGE_SIZE


def commit_many(budget, personas, approver, practices, n: int, start: int) -> None:
    """``n`` commitments of £10.xx on the test budget; every fourth partly paid (recorded, then approved)."""
    for i in range(start, start + n):
        c = commit(budget, personas["icb_a"], practices, 1000 + i, f"T-COM-{i:03d}")
        if i % 4 == 0:
            p = services.record_payment(
                reference=c.reference,
                amount_pence=500,
                kind=Payment.Kind.INVOICE,
                payee="Coach Ltd",
                user=personas["icb_a"],
                invoice_number=f"T-PAY-{i:03d}",
            )
            services.approve_payment(payment=p, user=approver)


def commitments_shown(html: str) -> list[str]:
    return re.findall(r"<td>(T-COM-\d{3})<br>", html)


def test_the_budget_pages_commitments_are_paged_with_totals_over_all_in_constant_queries(
    client_for, personas, colleague_a, budget, practices_a
):
    client = client_for("icb_a")
    url = reverse("funding:icb_budget", args=[ICB_A])
    client.get(url)

    commit_many(budget, personas, colleague_a, practices_a, 3, 0)
    few, _ = get(client, url)
    commit_many(budget, personas, colleague_a, practices_a, 2 * PAGE_SIZE, 3)
    many, html = get(client, url)
    assert many == few, f"{few} queries with few commitments, {many} with many"

    shown = commitments_shown(html)
    assert len(shown) <= PAGE_SIZE and shown[0] == f"T-COM-{2 * PAGE_SIZE + 2:03d}" and "T-COM-000" not in shown
    fy = budget.fy
    mine = Commitment.objects.filter(budget__icb__code=ICB_A, budget__fy=fy, status=Commitment.Status.OPEN)
    paid = LedgerEntry.objects.filter(commitment__in=mine, kind="payment").aggregate(t=Sum("amount_pence"))["t"]
    row = re.search(r'status=open">Open</a></td><td[^>]*>([\d,]+)</td><td[^>]*>([^<]+)</td><td[^>]*>([^<]+)</td>', html)
    assert row
    agg = mine.aggregate(n=Count("pk"), t=Sum("amount_pence"))
    assert (row[1], row[2], row[3]) == (f"{agg['n']:,}", pounds(agg["t"], 2), pounds(paid or 0, 2))
    # each row's paid column comes from the ledger: a paid test commitment on the page shows its £5.00
    first_paid = next(n for n in shown if int(n[-3:]) % 4 == 0)
    cell = re.search(rf"<td>{first_paid}<br>.*?</td><td[^>]*>(£[\d.,]+)</td><td[^>]*>(£[\d.,]+)</td>", html, re.S)
    assert cell and cell[2] == "£5.00"

    _, later = get(client, url, {"page": "3"})
    assert "T-COM-000" in commitments_shown(later)
