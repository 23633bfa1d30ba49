"""Four eyes, once for payments and virements: the person who asks never decides, a request is decided once, and a
rejection says why. The rule lives in ``apps.funding.services.decisions`` and, behind it, in the database."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from apps.accounts.models import Role, User
from apps.funding import services
from apps.funding.errors import FundingError
from apps.funding.models import Budget, FourEyesDecision, LedgerEntry, Payment, Virement
from apps.funding.tests.conftest import POUND, allocate_to, commit, make_line
from apps.pages.testing import ICB_B

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_national(personas):
    """Another member of the national team, who may decide what the first asked for."""
    return User.objects.create_user(username="t-national2", password="x-test-password-1", role=Role.NATIONAL)


@pytest.fixture
def virement(personas, budget):
    other = make_line(personas["national"], code="FOUR")
    allocate_to(personas["national"], other, {ICB_B: 1})
    return services.request_virement(
        from_budget=budget,
        to_budget=Budget.objects.get(line=other, icb__code=ICB_B),
        amount_pence=1_000 * POUND,
        reason="ICB B's waiting list is longer",
        user=personas["national"],
    )


def test_the_national_member_who_asked_for_a_virement_cannot_approve_it(personas, second_national, virement):
    with pytest.raises(FundingError, match="virement is approved by someone other than the person who asked for it"):
        services.approve_virement(virement=virement, user=personas["national"])
    virement.refresh_from_db()
    assert virement.status == Virement.Status.REQUESTED and virement.decided_by is None
    assert not LedgerEntry.objects.filter(virement=virement).exists()
    services.approve_virement(virement=virement, user=second_national)
    virement.refresh_from_db()
    assert virement.status == Virement.Status.APPROVED and virement.decided_by == second_national


def test_the_national_member_who_asked_for_a_virement_cannot_reject_it_either(personas, second_national, virement):
    with pytest.raises(FundingError, match="someone other than"):
        services.reject_virement(virement=virement, user=personas["national"], note="On reflection, not needed")
    with pytest.raises(FundingError, match="reason of at least") as short:
        services.reject_virement(virement=virement, user=second_national, note="no")
    assert short.value.field == "note"
    services.reject_virement(virement=virement, user=second_national, note="ICB A needs it this quarter")
    with pytest.raises(FundingError, match="already been decided"):
        services.approve_virement(virement=virement, user=second_national)
    virement.refresh_from_db()
    assert virement.status == Virement.Status.REJECTED and virement.decision_note == "ICB A needs it this quarter"


def test_approving_your_own_virement_on_the_page_is_refused_with_the_reason(client_for, personas, virement):
    response = client_for("national").post(reverse("funding:virements"), {"action": "approve", "virement": virement.pk})
    assert response.status_code == 400
    assert "someone other than the person who asked for it" in response.content.decode()
    virement.refresh_from_db()
    assert virement.status == Virement.Status.REQUESTED


def test_payments_and_virements_share_one_decision_model():
    for model in (Payment, Virement):
        assert issubclass(model, FourEyesDecision)
        assert set(model.Status.values) == set(FourEyesDecision.Decision.values)


@pytest.mark.parametrize("model", [Payment, Virement])
def test_the_database_refuses_a_decision_by_the_requester(model, personas, budget, practices_a, virement):
    commitment = commit(budget, personas["icb_a"], practices_a, 100 * POUND, "FOUR-EYES/1")
    payment = services.record_payment(
        reference=commitment.reference,
        amount_pence=POUND,
        kind="invoice",
        payee="Coach",
        invoice_number="I-1",
        user=personas["icb_a"],
    )
    row = payment if model is Payment else virement
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.filter(pk=row.pk).update(decided_by_id=row.requested_by_id, status="approved")
    # a colleague's decision is what the check lets through
    other = User.objects.exclude(pk=row.requested_by_id).first()
    assert model.objects.filter(pk=row.pk).update(decided_by_id=other.pk, status="approved") == 1
