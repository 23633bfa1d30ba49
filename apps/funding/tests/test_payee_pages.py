"""The pages of commitments outside cases: the ICB team commits money to a payee on a form (every error at once),
lists its payees with committed, paid and remaining, and records a tranche's payment on the commitment's page; the
national team sees totals by kind of payee and no payee; another ICB sees nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from analytics import money
from apps.funding import services
from apps.funding.models import Budget, Commitment, PayeeCommitment, PayeeKind, Payment
from apps.funding.tests.conftest import POUND
from apps.pages.testing import ICB_A

pytestmark = pytest.mark.django_db


def _form(budget: Budget, **changes: str) -> dict[str, str]:
    start = money.fy_start(budget.fy)
    first, second = start + timedelta(days=120), start + timedelta(days=300)
    return {
        "budget": str(budget.pk),
        "kind": PayeeKind.LMC_TEAM,
        "name": "Kent and Medway LMC support team",
        "organisation": "LMC01",
        "purpose": "Pastoral and practical support to practices in difficulty",
        "amount": "£30,000",
        "schedule": f"{first.isoformat()}: 15,000\n{second:%d/%m/%Y}: 15,000.00",
        **changes,
    }


def test_the_icb_team_commits_to_a_payee_and_records_a_tranche_payment_on_its_pages(client_for, budget, colleague_a):
    c = client_for("icb_a")
    assert "Commitments outside cases" in c.get(reverse("funding:icb_budget", args=[ICB_A])).content.decode()
    assert c.get(reverse("funding:payee_new", args=[ICB_A])).status_code == 200
    response = c.post(reverse("funding:payee_new", args=[ICB_A]), _form(budget))
    assert response.status_code == 302
    payee = PayeeCommitment.objects.select_related("commitment").get()
    assert payee.commitment.amount_pence == 30_000 * POUND and len(payee.commitment.schedule) == 2
    listed = c.get(reverse("funding:payees", args=[ICB_A]), {"fy": budget.fy}).content.decode()
    assert "Kent and Medway LMC support team" in listed and "£30,000.00" in listed

    detail_url = reverse("funding:payee", args=[ICB_A, payee.commitment.reference])
    response = c.post(detail_url, {"tranche": "1", "payee": "Kent LMC", "invoice_number": "I-1", "amount": "15,000"})
    assert response.status_code == 302
    payment = Payment.objects.get(commitment=payee.commitment)
    assert (payment.tranche, payment.status) == (1, Payment.Status.REQUESTED)
    again = c.post(detail_url, {"tranche": "1", "payee": "Kent LMC", "invoice_number": "I-2", "amount": "15,000"})
    assert (
        again.status_code == 400
        and "Tranche 1 of" in again.content.decode()
        and 'href="#tranche"' in again.content.decode()
    )
    services.approve_payment(payment=payment, user=colleague_a)
    page = c.get(detail_url).content.decode()
    assert "Paid" in page and "Not paid" in page and "£15,000.00" in page and "Commitment" in page


def test_the_payee_form_shows_every_error_at_once_and_writes_nothing(client_for, budget):
    c = client_for("icb_a")
    response = c.post(
        reverse("funding:payee_new", args=[ICB_A]),
        _form(budget, kind="", name="", purpose="", amount="twelve", schedule="next week: 100"),
    )
    page = response.content.decode()
    assert response.status_code == 400
    for field in ("kind", "name", "purpose", "amount", "schedule"):
        assert f'href="#{field}"' in page
    assert not Commitment.objects.filter(budget=budget).exists()


def test_a_schedule_that_does_not_add_up_and_an_overdraw_are_refused_on_the_page(client_for, budget):
    c = client_for("icb_a")
    short = c.post(reverse("funding:payee_new", args=[ICB_A]), _form(budget, amount="31,000"))
    assert short.status_code == 400 and "The tranches add up to £30,000.00, not £31,000.00" in short.content.decode()
    start = money.fy_start(budget.fy)
    over = c.post(
        reverse("funding:payee_new", args=[ICB_A]),
        _form(budget, amount="50,000", schedule=f"{start + timedelta(days=9):%Y-%m-%d}: 50,000"),
    )
    text = over.content.decode()
    assert over.status_code == 400 and "short" in text and budget.line.name in text
    assert not Commitment.objects.filter(budget=budget).exists()


def test_the_national_team_sees_totals_only_and_another_icb_nothing(client_for, personas, budget):
    start = money.fy_start(budget.fy)
    made = services.commit_to_payee(
        budget=budget,
        user=personas["icb_a"],
        kind=PayeeKind.RESILIENCE_POST,
        name="Dr Named Person's employer",
        purpose="A local resilience GP post",
        amount_pence=10_000 * POUND,
        tranches=[(start + timedelta(days=100), 10_000 * POUND)],
    )
    national = client_for("national")
    listed = national.get(reverse("funding:payees", args=[ICB_A]), {"fy": budget.fy})
    assert listed.status_code == 200
    text = listed.content.decode()
    assert "Local resilience post" in text and "£10,000.00" in text
    assert "Dr Named Person" not in text and made.reference not in text
    assert national.get(reverse("funding:payee", args=[ICB_A, made.reference])).status_code == 403
    assert national.get(reverse("funding:payee_new", args=[ICB_A])).status_code == 403
    other = client_for("icb_b")
    for url in (
        reverse("funding:payees", args=[ICB_A]),
        reverse("funding:payee_new", args=[ICB_A]),
        reverse("funding:payee", args=[ICB_A, made.reference]),
    ):
        assert other.get(url).status_code in (403, 404)


def test_the_commitment_is_varied_and_cancelled_on_its_page_with_errors_shown_at_once(client_for, personas, budget):
    start = money.fy_start(budget.fy)
    first, second = start + timedelta(days=120), start + timedelta(days=300)
    made = services.commit_to_payee(
        budget=budget,
        user=personas["icb_a"],
        kind=PayeeKind.PM_PROGRAMME,
        name="Practice-manager programme provider",
        purpose="A cohort of the practice-manager development programme",
        amount_pence=10_000 * POUND,
        tranches=[(first, 5_000 * POUND), (second, 5_000 * POUND)],
    )
    c = client_for("icb_a")
    url = reverse("funding:payee", args=[ICB_A, made.reference])
    page = c.get(url).content.decode()
    assert "10,000.00" in page and f"{first.isoformat()}: 5,000.00" in page  # the variation starts from today's
    bad = c.post(url, {"action": "vary", "amount": "11,000", "schedule": f"{first}: 5,000", "reason": "no"})
    text = bad.content.decode()
    assert bad.status_code == 400 and "add up to £5,000.00" in text and "reason of at least" in text
    assert 'href="#vary-schedule"' in text and 'href="#vary-reason"' in text  # every problem at once
    good = c.post(
        url,
        {
            "action": "vary",
            "amount": "11,000",
            "schedule": f"{first}: 5,000\n{second}: 6,000",
            "reason": "One more session a month agreed",
        },
    )
    assert good.status_code == 302
    made.refresh_from_db()
    assert made.amount_pence == 11_000 * POUND and made.schedule[1][1] == 6_000 * POUND
    short = c.post(url, {"action": "cancel", "reason": ""})
    assert short.status_code == 400 and 'href="#cancel-reason"' in short.content.decode()
    assert c.post(url, {"action": "cancel", "reason": "The contract ended early"}).status_code == 302
    made.refresh_from_db()
    assert made.status == Commitment.Status.CANCELLED


def test_the_list_costs_the_same_queries_for_one_payee_or_twelve(client_for, personas, budget):
    """Committed, paid and remaining come from the database with the rows (the paid amount a ledger subquery)."""
    start = money.fy_start(budget.fy)
    c = client_for("icb_a")
    url = reverse("funding:payees", args=[ICB_A])

    def commit(n: int) -> None:
        services.commit_to_payee(
            budget=budget,
            user=personas["icb_a"],
            kind=PayeeKind.COHORT_PROVIDER,
            name=f"Cohort provider {n}",
            purpose="A cohort of reception training",
            amount_pence=100 * POUND,
            tranches=[(start + timedelta(days=50 + n), 100 * POUND)],
        )

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert c.get(url, {"fy": budget.fy}).status_code == 200
        return len(ctx)

    commit(0)
    queries()  # the first request of a session reads more (the session, the user's team): not the list's cost
    one = queries()
    for n in range(1, 12):
        commit(n)
    assert queries() == one
