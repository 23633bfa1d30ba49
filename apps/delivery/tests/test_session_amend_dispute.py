"""Correcting a signed-off session log and the practice's dispute: versions kept, windows and invoices respected,
the ICB resolves a dispute each way, and a disputed session is never invoiced."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from apps.accounts.models import Role, User
from apps.cases.models import Notification, NotificationKind
from apps.core.models import AuditRecord
from apps.delivery import services
from apps.delivery.errors import DeliveryError
from apps.delivery.models import DisputeResolution, Session, SessionLogVersion
from apps.funding import services as funding
from apps.funding.models import Commitment

pytestmark = pytest.mark.django_db

DELIVERED = services.LogInput(
    delivered=True, hours=1.5, attendees={"gp_partner": 2, "practice_manager": 1}, notes="Succession plan drafted."
)
AMENDED = services.LogInput(
    delivered=True, hours=2.0, attendees={"gp_partner": 3}, notes="Succession plan drafted; rota reviewed."
)


@pytest.fixture
def signed_off(personas: dict[str, Any], past_session: Session) -> Session:
    return services.log_session(
        personas["provider"], past_session, services.LogInput(**{**DELIVERED.__dict__, "sign_off": True})
    )


def _invoiceable(s: Session) -> list[int]:
    assert s.assignment is not None
    day = timezone.localtime(s.starts_at).date()
    return [x.session_id for x in services.delivered_sessions_for_invoice(s.assignment.organisation, s.case, day, day)]


def test_an_amendment_keeps_both_versions_and_the_session_shows_the_new_one(personas, signed_off):
    prov = personas["provider"]
    v2 = services.amend_session(prov, signed_off, AMENDED, "The partners stayed for the rota review.")
    v1 = SessionLogVersion.objects.get(session=signed_off, number=1)
    assert (v1.delivered_hours, v1.attendees, v1.reason, v1.recorded_by) == (
        1.5,
        {"gp_partner": 2, "practice_manager": 1},
        "",
        prov,
    )
    assert (v2.number, v2.delivered_hours, v2.attendees, v2.recorded_by) == (2, 2.0, {"gp_partner": 3}, prov)
    assert v2.reason == "The partners stayed for the rota review."
    s = Session.objects.get(pk=signed_off.pk)
    assert (s.delivered_hours, s.notes) == (2.0, "Succession plan drafted; rota reviewed.")
    services.amend_session(personas["icb_a"], s, DELIVERED, "Back to the hours the practice recorded.")
    assert list(s.versions.values_list("number", "recorded_by")) == [
        (1, prov.pk),
        (2, prov.pk),
        (3, personas["icb_a"].pk),
    ]
    with pytest.raises(ValueError, match="immutable"):
        v1.save()


def test_an_amendment_needs_a_reason_and_a_valid_log_and_saves_nothing_otherwise(personas, signed_off):
    prov = personas["provider"]
    with pytest.raises(DeliveryError, match="Say why") as e:
        services.amend_session(prov, signed_off, AMENDED, "  ")
    assert e.value.field == "amend_reason"
    bad = services.LogInput(delivered=True, hours=40, attendees={"gp_partner": 1}, notes="Far too long a session")
    with pytest.raises(DeliveryError, match="hours") as e:
        services.amend_session(prov, signed_off, bad, "Hours were wrong on the log.")
    assert e.value.field == "hours"
    assert not SessionLogVersion.objects.exists()
    assert Session.objects.get(pk=signed_off.pk).delivered_hours == 1.5


def test_only_the_provider_who_delivered_or_the_icb_team_amends(personas, signed_off):
    for who in ("practice_x", "provider_b", "icb_b", "lmc", "national"):
        with pytest.raises(DeliveryError, match="Only the member"):
            services.amend_session(personas[who], signed_off, AMENDED, "Trying to change someone else's log.")


def test_amendment_is_refused_after_the_window_naming_it(personas, signed_off):
    Session.objects.filter(pk=signed_off.pk).update(logged_at=timezone.now() - timedelta(days=15))
    with pytest.raises(DeliveryError, match="within 14 days of being logged"):
        services.amend_session(personas["provider"], signed_off, AMENDED, "Hours were wrong on the log.")
    with override_settings(SESSION_AMEND_WINDOW_DAYS=30):
        services.amend_session(personas["provider"], signed_off, AMENDED, "Hours were wrong on the log.")


def test_an_unsigned_log_is_not_amended_but_logged_again(personas, past_session):
    services.log_session(personas["provider"], past_session, DELIVERED)
    with pytest.raises(DeliveryError, match="not signed off yet"):
        services.amend_session(personas["provider"], past_session, AMENDED, "Hours were wrong on the log.")


def test_amendment_is_refused_once_the_session_is_on_a_payment_unless_that_payment_was_rejected(personas, signed_off):
    icb = personas["icb_a"]
    services.confirm_session(personas["practice_x"], signed_off)
    commitment = Commitment.objects.filter(budget__icb=signed_off.practice.icb).first()
    assert commitment is not None
    payment = funding.record_payment(
        reference=commitment.reference,
        amount_pence=100,
        kind="invoice",
        payee="Test faculty",
        invoice_number="INV-1",
        session_refs=[f"S-{signed_off.pk}"],
        user=icb,
    )
    with pytest.raises(DeliveryError, match="invoiced"):
        services.amend_session(personas["provider"], signed_off, AMENDED, "Hours were wrong on the log.")
    colleague = User.objects.create_user(username="t-icb_a2", password="x-test-password-1", role=Role.ICB, icb=icb.icb)
    funding.reject_payment(payment=payment, user=colleague, note="Wrong invoice attached.")
    services.amend_session(personas["provider"], signed_off, AMENDED, "Hours were wrong on the log.")


def test_amending_a_confirmed_log_asks_the_practice_to_confirm_again(personas, signed_off):
    px = personas["practice_x"]
    services.confirm_session(px, signed_off)
    assert _invoiceable(signed_off) == [signed_off.pk]
    Notification.objects.all().delete()
    v2 = services.amend_session(personas["provider"], signed_off, AMENDED, "The partners stayed for the rota review.")
    assert (v2.replaced_confirmation_by, v2.replaced_confirmation_at is not None) == (px, True)
    s = Session.objects.get(pk=signed_off.pk)
    assert s.confirmed_at is None and _invoiceable(s) == []
    assert Notification.objects.filter(user=px, kind=NotificationKind.SESSION_LOGGED).exists()
    services.confirm_session(px, s)
    assert _invoiceable(s) == [s.pk]


def test_a_dispute_needs_a_reason_and_blocks_confirmation_and_invoicing(personas, signed_off):
    px = personas["practice_x"]
    with pytest.raises(DeliveryError, match="Say what is wrong") as e:
        services.dispute_session(px, signed_off, "no")
    assert e.value.field == "dispute_reason"
    with pytest.raises(DeliveryError, match="Only the practice"):
        services.dispute_session(personas["practice_y"], signed_off, "We never had this session at all.")
    services.dispute_session(px, signed_off, "Only one partner attended, for an hour.")
    assert Notification.objects.filter(user=personas["icb_a"], kind=NotificationKind.SESSION_DISPUTED).exists()
    with pytest.raises(DeliveryError, match="disputed"):
        services.confirm_session(px, signed_off)
    with pytest.raises(DeliveryError, match="disputed"):
        services.amend_session(personas["provider"], signed_off, AMENDED, "Answering the practice's dispute.")
    # Even a confirmation recorded some other way is not invoiced while the dispute is open.
    Session.objects.filter(pk=signed_off.pk).update(confirmed_at=timezone.now(), confirmed_by=px)
    assert _invoiceable(signed_off) == []


def test_a_confirmed_session_is_not_disputed(personas, signed_off):
    services.confirm_session(personas["practice_x"], signed_off)
    with pytest.raises(DeliveryError, match="confirmed"):
        services.dispute_session(personas["practice_x"], signed_off, "We changed our mind about it.")


def test_the_icb_upholds_a_dispute_the_log_stands_and_can_be_invoiced(personas, signed_off):
    px, icb = personas["practice_x"], personas["icb_a"]
    services.dispute_session(px, signed_off, "Only one partner attended, for an hour.")
    with pytest.raises(DeliveryError, match="Only the ICB team"):
        services.resolve_dispute(personas["icb_b"], signed_off, "upheld", "The register shows three people.")
    with pytest.raises(DeliveryError, match="note") as e:
        services.resolve_dispute(icb, signed_off, "upheld", "")
    assert e.value.field == "note"
    r = services.resolve_dispute(icb, signed_off, "upheld", "The signed register shows three attendees.")
    assert (r.outcome, r.resolved_by, r.dispute.raised_by) == (DisputeResolution.Outcome.UPHELD, icb, px)
    assert Notification.objects.filter(user=px, kind=NotificationKind.DISPUTE_RESOLVED).exists()
    assert _invoiceable(signed_off) == [signed_off.pk]
    with pytest.raises(DeliveryError, match="no open dispute"):
        services.resolve_dispute(icb, signed_off, "upheld", "The signed register shows three attendees.")


def test_the_icb_accepts_a_dispute_and_the_provider_must_amend_even_after_the_window(personas, signed_off):
    px, icb, prov = personas["practice_x"], personas["icb_a"], personas["provider"]
    services.dispute_session(px, signed_off, "Only one partner attended, for an hour.")
    r = services.resolve_dispute(icb, signed_off, "amend", "The register shows one partner for an hour.")
    assert Notification.objects.filter(user=prov, kind=NotificationKind.DISPUTE_RESOLVED).exists()
    with pytest.raises(DeliveryError, match="amend"):
        services.confirm_session(px, signed_off)  # the practice confirms the amended log, not this one
    Session.objects.filter(pk=signed_off.pk).update(logged_at=timezone.now() - timedelta(days=60))
    one_hour = services.LogInput(delivered=True, hours=1.0, attendees={"gp_partner": 1}, notes="Succession plan.")
    v2 = services.amend_session(prov, signed_off, one_hour, "Corrected to the register, as the ICB asked.")
    assert v2.answers == r
    with pytest.raises(DeliveryError, match="within 14 days"):  # the ICB's request is answered: the window is back
        services.amend_session(prov, signed_off, AMENDED, "Another change long after the session.")
    services.confirm_session(px, signed_off)
    assert _invoiceable(signed_off) == [signed_off.pk]


def test_the_icb_accepts_a_dispute_as_not_delivered_a_new_version_cancels_the_session(personas, signed_off):
    services.dispute_session(personas["practice_x"], signed_off, "The coach never came on that day.")
    services.resolve_dispute(
        personas["icb_a"], signed_off, "not_delivered", "The coach confirms the session was missed."
    )
    s = Session.objects.get(pk=signed_off.pk)
    assert s.state == Session.State.CANCELLED and s.delivered_hours is None
    assert "not delivered" in s.cancelled_reason.lower()
    assert list(s.versions.values_list("number", "state")) == [(1, "delivered"), (2, "cancelled")]
    assert _invoiceable(s) == []
    with pytest.raises(DeliveryError, match="not delivered"):
        services.confirm_session(personas["practice_x"], s)
    with pytest.raises(DeliveryError, match="only it can change the log"):  # the provider cannot undo the decision
        services.amend_session(personas["provider"], s, AMENDED, "It was delivered after all, honestly.")
    services.amend_session(personas["icb_a"], s, AMENDED, "The coach's travel receipts show it took place.")


def test_every_step_is_in_the_audit_trail(personas, signed_off):
    services.dispute_session(personas["practice_x"], signed_off, "Only one partner attended, for an hour.")
    services.resolve_dispute(personas["icb_a"], signed_off, "amend", "The register shows one partner for an hour.")
    services.amend_session(personas["provider"], signed_off, AMENDED, "Corrected to the register, as asked.")
    models = set(AuditRecord.objects.values_list("model", flat=True))
    assert {"delivery.SessionDispute", "delivery.DisputeResolution", "delivery.SessionLogVersion"} <= models
