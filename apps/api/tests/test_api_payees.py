"""Commitments outside cases through the API: ICB A's team commits to an LMC support team in two tranches, pays each
(the payment names its tranche; a colleague approves), reads it back fully paid; the body is read through the page's
form (422) and the service's refusals answer 400 with the field; the national team gets totals, never a payee."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from analytics.money import financial_year_of, fy_end
from apps.api.testing import icb_a_budget
from apps.funding import services
from apps.funding.models import Commitment, Payment
from apps.pages.testing import ICB_A

pytestmark = pytest.mark.django_db
YEAR_END = fy_end(financial_year_of(timezone.localdate()))
BODY = {
    "kind": "lmc_team",
    "name": "Apishire LMC support team",
    "organisation_code": "LMC77",
    "purpose": "Support to practices in difficulty",
    "amount_pence": 600,
    "tranches": [
        {"due": (YEAR_END.replace(day=1)).isoformat(), "amount_pence": 400},
        {"due": YEAR_END.isoformat(), "amount_pence": 200},
    ],
}


@pytest.fixture
def colleague(personas: dict[str, Any]) -> Any:
    """A second member of ICB A's team, who approves what the first records."""
    from apps.accounts.models import Role, User

    return User.objects.create_user(
        username="t-icb_a2", password="x-test-password-1", role=Role.ICB, icb=personas["icb_a"].icb
    )


def _create(api_call: Any, personas: dict[str, Any], body: dict[str, Any], who: str = "icb_a") -> Any:
    return api_call(who, "POST", f"/api/v1/budgets/{icb_a_budget(personas)}/payee-commitments", body)


def test_an_lmc_support_team_is_committed_and_paid_in_two_tranches_through_the_api(api_call, personas, colleague):
    made = _create(api_call, personas, BODY)
    assert made.status_code == 201, made.content
    ref = made.json()["reference"]
    assert [t["state"] for t in made.json()["tranches"]] == ["Not paid", "Not paid"]
    for n, amount in ((1, 400), (2, 200)):
        c = Commitment.objects.get(reference=ref)
        answer = api_call(
            "icb_a",
            "POST",
            f"/api/v1/commitments/{c.pk}/payments",
            {
                "kind": "invoice",
                "amount_pence": amount,
                "payee": "Apishire LMC",
                "invoice_number": f"A-{n}",
                "tranche": n,
            },
        )
        assert answer.status_code == 201, answer.content
        services.approve_payment(payment=Payment.objects.get(pk=answer.json()["id"]), user=colleague)
    again = api_call(
        "icb_a",
        "POST",
        f"/api/v1/commitments/{c.pk}/payments",
        {"kind": "invoice", "amount_pence": 1, "payee": "X", "invoice_number": "A-3", "tranche": 2},
    )
    assert again.status_code == 400 and again.json()["field"] in {"amount", "tranche"}
    detail = api_call("icb_a", "GET", f"/api/v1/payee-commitments/{ref}").json()
    assert (detail["paid_pence"], detail["remaining_pence"]) == (600, 0)
    assert [t["state"] for t in detail["tranches"]] == ["Paid", "Paid"]
    assert [h["kind"] for h in detail["history"]] == ["commitment", "payment", "payment"]
    listed = api_call("icb_a", "GET", "/api/v1/payee-commitments").json()
    assert ref in {r["reference"] for r in listed["results"]}


def test_the_api_refuses_a_bad_body_and_tranches_that_do_not_add_up(api_call, personas):
    bad = _create(api_call, personas, {**BODY, "kind": "locum", "name": ""})
    assert bad.status_code == 422
    assert {e["loc"][-1] for e in bad.json()["detail"]} >= {"kind", "name"}
    short = _create(api_call, personas, {**BODY, "amount_pence": 700})
    assert short.status_code == 422 and short.json()["detail"][0]["loc"][-1] == "schedule"
    assert "add up to £6.00, not £7.00" in short.json()["detail"][0]["msg"]
    late = _create(api_call, personas, {**BODY, "tranches": [{"due": "2001-04-01", "amount_pence": 600}]})
    assert late.status_code == 400 and late.json()["field"] == "schedule"  # the service's rule: the budget's year
    huge = _create(
        api_call,
        personas,
        {**BODY, "amount_pence": 10**11, "tranches": [{"due": YEAR_END.isoformat(), "amount_pence": 10**11}]},
    )
    assert huge.status_code == 400 and "short" in huge.json()["detail"] and huge.json()["field"] == "amount"
    assert not Commitment.objects.filter(payee__name=BODY["name"]).exists()


def test_the_national_team_gets_totals_and_no_payee(api_call, personas):
    assert _create(api_call, personas, BODY).status_code == 201
    totals = api_call("national", "GET", "/api/v1/payee-commitments/totals", icb=ICB_A)
    assert totals.status_code == 200
    lmc = next(t for t in totals.json() if t["kind"] == "lmc_team")
    assert lmc["committed_pence"] >= 600 and "Apishire" not in totals.content.decode()
    assert api_call("national", "GET", "/api/v1/payee-commitments").status_code == 403
    assert _create(api_call, personas, BODY, who="icb_b").status_code == 404
