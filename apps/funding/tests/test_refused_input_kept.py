"""A refused payment or virement comes back with its boxes as typed, read from its form (not from request.POST)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from apps.funding.models import Budget, Commitment, Payment, Virement
from apps.pages.testing import ICB_A, ICB_B

pytestmark = pytest.mark.django_db


def _value(html: str, name: str) -> str:
    found = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'<textarea[^>]*name="{name}"[^>]*>\s*([^<]*)</textarea>', html
    )
    assert found, f"no box named {name}"
    return found.group(1).strip()


def test_a_refused_payment_keeps_what_was_typed(client_for):
    reference = Commitment.objects.filter(budget__icb__code=ICB_A, status=Commitment.Status.OPEN).first().reference
    before = Payment.objects.count()
    data = {"action": "record", "reference": reference, "kind": "invoice", "amount": "12.345", "payee": "Acme Ltd"}
    response = client_for("icb_a").post(reverse("funding:payments", args=[ICB_A]), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert _value(html, "amount") == "12.345"
    assert _value(html, "payee") == "Acme Ltd"
    assert re.search(rf'<option value="{reference}" selected', html)
    assert re.search(r'<input[^>]*name="kind"[^>]*value="invoice"[^>]*checked', html)
    assert Payment.objects.count() == before


def test_a_refused_virement_keeps_its_reason_and_amount(client_for):
    fy = Budget.objects.filter(icb__code=ICB_A).order_by("-fy").first().fy
    src = Budget.objects.get(icb__code=ICB_A, fy=fy, line__programme__code=f"GPR-{fy}")
    dst = Budget.objects.get(icb__code=ICB_B, fy=fy, line__programme__code=f"GPR-{fy}")
    data = {"action": "request", "from_budget": src.pk, "to_budget": dst.pk, "amount": "1,00", "reason": "B needs it"}
    response = client_for("icb_a").post(reverse("funding:virements"), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert 'href="#amount"' in html
    assert _value(html, "amount") == "1,00"
    assert _value(html, "reason") == "B needs it"
    assert re.search(rf'<option value="{src.pk}" selected', html)
    assert not Virement.objects.filter(from_budget=src).exists()
