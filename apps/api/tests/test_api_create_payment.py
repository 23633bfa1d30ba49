"""Recording a payment through the API: ICB A's own team only, awaiting a colleague's approval (four eyes), an
invoice paid once per commitment, and an ``Idempotency-Key`` that makes a retried request return the first result."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apps.api.models import IdempotentRequest
from apps.api.testing import icb_a_commitment
from apps.funding.models import LedgerEntry, Payment

pytestmark = pytest.mark.django_db
BODY = {"kind": "invoice", "amount_pence": 250, "payee": "Retry Co", "invoice_number": "API-1"}


def _post(client: Any, token: str, commitment: str, body: dict[str, Any], key: str = "") -> Any:
    headers = {"Authorization": f"Bearer {token}", **({"Idempotency-Key": key} if key else {})}
    return client.post(f"/api/v1/commitments/{commitment}/payments", json.dumps(body),
                       content_type="application/json", headers=headers)  # fmt: skip


def test_a_payment_is_recorded_awaiting_approval_and_moves_no_money(client, api_tokens, personas):
    commitment = icb_a_commitment(personas)
    entries = LedgerEntry.objects.count()
    answer = _post(client, api_tokens["icb_a"], commitment, BODY)
    assert answer.status_code == 201, answer.content
    out = answer.json()
    assert out["status"] == "requested" and out["amount_pence"] == 250
    assert out["requested_by"] == personas["icb_a"].username
    assert LedgerEntry.objects.count() == entries  # four eyes: nothing moves until a colleague approves


def test_a_retry_with_the_same_key_returns_the_first_result_and_pays_once(client, api_tokens, personas):
    commitment = icb_a_commitment(personas)
    first = _post(client, api_tokens["icb_a"], commitment, BODY, key="retry-1")
    again = _post(client, api_tokens["icb_a"], commitment, BODY, key="retry-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert Payment.objects.filter(commitment_id=commitment, invoice_number="API-1").count() == 1


def test_the_same_key_with_another_body_is_refused(client, api_tokens, personas):
    commitment = icb_a_commitment(personas)
    assert _post(client, api_tokens["icb_a"], commitment, BODY, key="k-2").status_code == 201
    other = _post(client, api_tokens["icb_a"], commitment, {**BODY, "amount_pence": 999}, key="k-2")
    assert other.status_code == 409 and "different request" in other.json()["detail"]


def test_a_key_is_per_user(client, api_tokens, personas, django_user_model):
    commitment = icb_a_commitment(personas)
    assert _post(client, api_tokens["icb_a"], commitment, BODY, key="shared").status_code == 201
    assert IdempotentRequest.objects.filter(key="shared").count() == 1
    assert _post(client, api_tokens["icb_b"], commitment, BODY, key="shared").status_code == 404  # not theirs


def test_a_repeated_invoice_without_a_key_is_refused_naming_the_first(client, api_tokens, personas):
    commitment = icb_a_commitment(personas)
    first = _post(client, api_tokens["icb_a"], commitment, BODY).json()
    again = _post(client, api_tokens["icb_a"], commitment, BODY)
    assert again.status_code == 400
    named = f"Invoice API-1 is already recorded against {first['reference']}: payment {first['id']}"
    assert named in again.json()["detail"]


def test_a_refusal_is_not_stored_so_a_corrected_retry_with_the_key_works(client, api_tokens, personas):
    commitment = icb_a_commitment(personas)
    too_much = _post(client, api_tokens["icb_a"], commitment, {**BODY, "amount_pence": 10**12}, key="k-3")
    assert too_much.status_code == 400 and "unpaid" in too_much.json()["detail"]
    assert not IdempotentRequest.objects.filter(key="k-3").exists()


@pytest.mark.parametrize("key", ["x" * 101, "clé"])
def test_an_unusable_key_is_a_clear_error(client, api_tokens, personas, key):
    answer = _post(client, api_tokens["icb_a"], icb_a_commitment(personas), BODY, key=key)
    assert answer.status_code == 400 and "Idempotency-Key" in answer.json()["detail"]
