"""The ICB payments list is searchable, filterable by programme and sortable (issue 16 §6)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from apps.funding import services
from apps.funding.models import Payment
from apps.pages.testing import ICB_A

pytestmark = pytest.mark.django_db


def invoices(html: str) -> list[str]:
    return re.findall(r"invoice (T-SORT-\d)", html)


@pytest.fixture
def recorded(personas):
    for i, pence in enumerate([500, 100, 900]):
        services.record_payment(
            reference="DEMO-QHM-1",
            amount_pence=pence,
            kind=Payment.Kind.INVOICE,
            payee="Sorting Ltd",
            user=personas["icb_a"],
            invoice_number=f"T-SORT-{i}",
        )


def test_payments_sort_by_amount_and_search_by_payee_or_invoice(client_for, recorded):
    client = client_for("icb_a")
    url = reverse("funding:payments", args=[ICB_A])
    by_amount = client.get(url, {"q": "Sorting", "sort": "amount"}).content.decode()
    assert invoices(by_amount) == ["T-SORT-1", "T-SORT-0", "T-SORT-2"]
    assert 'aria-sort="ascending"' in by_amount
    descending = client.get(url, {"q": "Sorting", "sort": "-amount"}).content.decode()
    assert invoices(descending) == ["T-SORT-2", "T-SORT-0", "T-SORT-1"]
    assert invoices(client.get(url, {"q": "t-sort-2"}).content.decode()) == ["T-SORT-2"]


def test_payments_filter_by_programme(client_for, recorded):
    programme = Payment.objects.filter(invoice_number="T-SORT-0").values_list(
        "commitment__budget__line__programme__code", flat=True
    )[0]
    client = client_for("icb_a")
    url = reverse("funding:payments", args=[ICB_A])
    assert len(invoices(client.get(url, {"programme": programme, "q": "Sorting"}).content.decode())) == 3
    # an unknown programme is ignored, as a stale link's would be
    unknown = client.get(url, {"programme": "NO-SUCH", "q": "Sorting"}).content.decode()
    assert len(invoices(unknown)) == 3
