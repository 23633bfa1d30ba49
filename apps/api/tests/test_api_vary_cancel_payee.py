"""Varying and cancelling a commitment to a payee through the API (issue 17 §4 gaps): the same services, form and
refusals as the page; a paid tranche keeps its place; cancelling returns the unpaid part to the budget; another ICB's
team gets 404."""

from __future__ import annotations

from typing import Any

import pytest

from apps.api.tests.test_api_payees import BODY, YEAR_END, _create, colleague  # noqa: F401  (fixture)
from apps.funding import services
from apps.funding.models import Budget, Commitment, LedgerEntry, Payment

pytestmark = pytest.mark.django_db


def _pay_first(api_call: Any, ref: str, who: Any) -> None:
    c = Commitment.objects.get(reference=ref)
    answer = api_call(
        "icb_a",
        "POST",
        f"/api/v1/commitments/{c.pk}/payments",
        {"kind": "invoice", "amount_pence": 400, "payee": "Apishire LMC", "invoice_number": "V-1", "tranche": 1},
    )
    assert answer.status_code == 201, answer.content
    services.approve_payment(payment=Payment.objects.get(pk=answer.json()["id"]), user=who)


def test_a_payee_commitment_is_varied_then_cancelled_through_the_api(api_call, personas, colleague):  # noqa: F811
    ref = _create(api_call, personas, BODY).json()["reference"]
    _pay_first(api_call, ref, colleague)
    first_due = BODY["tranches"][0]["due"]
    url = f"/api/v1/payee-commitments/{ref}"

    moved = api_call(
        "icb_a",
        "POST",
        f"{url}/variations",
        {
            "amount_pence": 500,
            "tranches": [{"due": YEAR_END.isoformat(), "amount_pence": 100}, {"due": first_due, "amount_pence": 400}],
            "reason": "Fewer sessions in March",
        },
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["committed_pence"] == 500
    assert [t["amount_pence"] for t in moved.json()["tranches"]] == [400, 100]
    assert [h["kind"] for h in moved.json()["history"]][-1] == "variation"

    # The paid tranche keeps its place and at least its payment: refused on the schedule, nothing changes.
    refused = api_call(
        "icb_a",
        "POST",
        f"{url}/variations",
        {"amount_pence": 300, "tranches": [{"due": first_due, "amount_pence": 300}], "reason": "Cut it right back"},
    )
    assert refused.status_code == 400 and refused.json()["field"] == "schedule"
    assert Commitment.objects.get(reference=ref).amount_pence == 500

    short = api_call("icb_a", "POST", f"{url}/cancellation", {"reason": "no"})
    assert short.status_code == 422

    budget = Budget.objects.get(pk=Commitment.objects.get(reference=ref).budget_id)
    before = budget.balance().committed
    done = api_call("icb_a", "POST", f"{url}/cancellation", {"reason": "The LMC team was stood down"})
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "cancelled" and done.json()["paid_pence"] == 400
    assert budget.balance().committed == before - 100  # only the unpaid part goes back
    assert LedgerEntry.objects.filter(reference=ref, kind="decommitment").count() == 1
    again = api_call("icb_a", "POST", f"{url}/cancellation", {"reason": "The LMC team was stood down"})
    assert again.status_code == 400 and "already cancelled" in again.json()["detail"]


def test_another_icbs_team_cannot_find_the_commitment_to_vary_or_cancel(api_call, personas):
    ref = _create(api_call, personas, BODY).json()["reference"]
    for op, body in (("variations", {**BODY, "reason": "Not ours to change"}), ("cancellation", {"reason": "Nope x"})):
        for who in ("icb_b", "national"):
            answer = api_call(who, "POST", f"/api/v1/payee-commitments/{ref}/{op}", body)
            assert answer.status_code == 404, (who, op, answer.status_code)
    assert Commitment.objects.get(reference=ref).status == Commitment.Status.OPEN
