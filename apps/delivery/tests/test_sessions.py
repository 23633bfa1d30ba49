"""The session log: plan, log (delivered or cancelled), provider sign-off, practice confirmation, invoice hand-over."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from apps.cases.models import Notification, NotificationKind
from apps.delivery import services
from apps.delivery.models import Session

pytestmark = pytest.mark.django_db


DELIVERED = services.LogInput(
    delivered=True, hours=1.5, attendees={"gp_partner": 2, "practice_manager": 1}, notes="Succession plan drafted."
)


def test_coach_logs_and_signs_off_the_practice_confirms_and_the_session_can_be_invoiced(
    personas, past_session, assignment
):
    prov, px = personas["provider"], personas["practice_x"]
    s = services.log_session(prov, past_session, DELIVERED)
    assert s.state == Session.State.DELIVERED and s.logged_by == prov and s.attendee_count == 3
    services.sign_off_session(prov, s)
    assert Notification.objects.filter(user=px, kind=NotificationKind.SESSION_LOGGED).exists()
    # the day the session happened (an hour ago: just after midnight that is yesterday, not today)
    today = timezone.localtime(s.starts_at).date()
    assert services.delivered_sessions_for_invoice(assignment.organisation, assignment.case, today, today) == []
    s = services.confirm_session(px, s)
    assert s.confirmed_by == px and s.confirmed_at is not None
    assert Notification.objects.filter(user=prov, kind=NotificationKind.SESSION_CONFIRMED).exists()
    (line,) = services.delivered_sessions_for_invoice(assignment.organisation, assignment.case, today, today)
    # 1.5 hours of an offer priced £250 per 2-hour session: 0.75 units, £187.50
    assert (line.offer_code, line.hours, line.units, line.amount_pence) == ("gprp-coaching", 1.5, 0.75, 18750)
    assert line.unit_cost_pence == assignment.line.unit_cost_pence


def test_a_delivered_log_without_attendees_is_refused_and_nothing_changes(personas, past_session):
    bad = services.LogInput(delivered=True, hours=2, attendees={}, notes="We met and talked it through.")
    with pytest.raises(services.DeliveryError, match="Say who attended"):
        services.log_session(personas["provider"], past_session, bad)
    past_session.refresh_from_db()
    assert past_session.state == Session.State.PLANNED and past_session.logged_at is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (services.LogInput(delivered=True, hours=0, attendees={"nurse": 1}, notes="A useful session."), "hours"),
        (services.LogInput(delivered=True, hours=2, attendees={"pilot": 1}, notes="A useful session."), "Unknown"),
        (services.LogInput(delivered=True, hours=2, attendees={"nurse": 1}, notes="ok"), "short note"),
        (services.LogInput(delivered=False), "why the session was cancelled"),
    ],
)
def test_bad_logs_are_refused_with_a_clear_reason(personas, past_session, data, message):
    with pytest.raises(services.DeliveryError, match=message):
        services.log_session(personas["provider"], past_session, data)


def test_a_session_in_the_future_cannot_be_logged_as_delivered_but_can_be_cancelled(personas, assignment):
    when = timezone.now() + timedelta(days=2)
    s = services.plan_session(personas["provider"], assignment, when, 2, "Coaching 2")
    with pytest.raises(services.DeliveryError, match="once it has started"):
        services.log_session(personas["provider"], s, DELIVERED)
    s = services.log_session(
        personas["provider"], s, services.LogInput(delivered=False, cancelled_reason="GP off sick")
    )
    assert s.state == Session.State.CANCELLED


def test_a_signed_off_session_cannot_be_changed(personas, past_session):
    services.log_session(
        personas["provider"], past_session, services.LogInput(**{**DELIVERED.__dict__, "sign_off": True})
    )
    with pytest.raises(services.DeliveryError, match="signed off"):
        services.log_session(personas["provider"], past_session, DELIVERED)


def test_only_the_coach_logs_and_only_the_practice_confirms_after_sign_off(personas, past_session):
    for who in ("icb_a", "practice_x"):
        with pytest.raises(services.DeliveryError, match="member delivering"):
            services.log_session(personas[who], past_session, DELIVERED)
    services.log_session(personas["provider"], past_session, DELIVERED)
    with pytest.raises(services.DeliveryError, match="not signed this session off"):
        services.confirm_session(personas["practice_x"], past_session)
    services.sign_off_session(personas["provider"], past_session)
    with pytest.raises(services.DeliveryError, match="practice that received"):
        services.confirm_session(personas["practice_y"], past_session)


def test_sessions_are_planned_within_the_packages_dates(personas, assignment):
    late = timezone.make_aware(
        timezone.datetime.combine(assignment.ends + timedelta(days=1), timezone.datetime.min.time())
    )
    with pytest.raises(services.DeliveryError, match="within the package's dates"):
        services.plan_session(personas["provider"], assignment, late, 2, "Too late")
    with pytest.raises(services.DeliveryError, match="at most 12"):
        services.plan_session(personas["provider"], assignment, timezone.now() + timedelta(days=1), 13, "Long")
    with pytest.raises(services.DeliveryError, match="planned by the provider"):
        services.plan_session(personas["practice_x"], assignment, timezone.now() + timedelta(days=1), 2, "Mine")
    assert not Session.objects.filter(assignment=assignment).exists()


def test_the_session_page_lets_the_coach_log_and_the_practice_confirm(client_for, past_session):
    url = f"/delivery/sessions/{past_session.pk}/"
    response = client_for("provider").post(
        url,
        {"action": "log", "outcome": "delivered", "hours": "2", "att-gp_partner": "two", "notes": "Covered it all."},
    )
    assert response.status_code == 400 and "enter a whole number" in response.content.decode()
    response = client_for("provider").post(
        url,
        {
            "action": "log",
            "outcome": "delivered",
            "hours": "2",
            "att-gp_partner": "2",
            "notes": "Covered it all.",
            "sign_off": "1",
        },
    )
    assert response.status_code == 302
    html = client_for("practice_x").get(url).content.decode()
    assert "Confirm the session took place" in html
    assert client_for("practice_x").post(url, {"action": "confirm"}).status_code == 302
    past_session.refresh_from_db()
    assert past_session.confirmed_at is not None and past_session.delivered_hours == 2


def test_invoice_hand_over_covers_only_the_period_asked_for(personas, past_session, assignment):
    services.log_session(
        personas["provider"], past_session, services.LogInput(**{**DELIVERED.__dict__, "sign_off": True})
    )
    services.confirm_session(personas["practice_x"], past_session)
    day = timezone.localtime(past_session.starts_at).date()  # an hour ago: yesterday, just after midnight
    before = day - timedelta(days=1)
    assert services.delivered_sessions_for_invoice(assignment.organisation, None, date(2020, 1, 1), before) == []
    assert len(services.delivered_sessions_for_invoice(assignment.organisation, None, before, day)) == 1
