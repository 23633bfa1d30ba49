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
