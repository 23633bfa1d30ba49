"""Delivery forms: every error at once, each next to its field and linked from the summary; a service's refusal lands
on the field it names; the session page and the API read a log through the same parse."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone

from apps.cases.models import Package
from apps.delivery import services
from apps.delivery.errors import DeliveryError
from apps.delivery.forms.sessions import SessionLogForm, log_input
from apps.delivery.models import FacultyMember, Session
from apps.delivery.views.common import page_errors

pytestmark = pytest.mark.django_db

SUMMARY = re.compile(r'class="nhsuk-error-summary".*?</ul>', re.S)


def summary_links(html: str) -> list[str]:
    found = SUMMARY.search(html)
    assert found, "no error summary"
    return re.findall(r'href="#([^"]+)"', found.group(0))


def test_the_faculty_form_shows_every_error_at_once_each_linked_to_its_field(client_for, org):
    before = FacultyMember.objects.count()
    response = client_for("icb_a").post(
        "/delivery/faculty/",
        {"name": "", "organisation": str(org.pk), "role": "", "capacity": "lots", "joined_on": "yesterday"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    links = summary_links(html)
    assert links == ["name", "role-new", "capacity", "joined_on"], links
    for anchor in links:
        assert f'id="{anchor}"' in html
    text = unescape(html)
    assert "Enter the member's name." in text and "Choose the member's role." in text
    assert "Enter the capacity as a number." in text and "Enter the date they joined as a date" in text
    assert html.count("nhsuk-error-message") >= 4, "each message is also shown next to its field"
    assert FacultyMember.objects.count() == before


@pytest.fixture
def past_session(personas, approved_x, coach):
    line = approved_x.packages.get(state=Package.State.APPROVED).lines.get()
    a = services.assign_work(personas["icb_a"], line, member=coach)
    return Session.objects.create(
        practice=a.case.practice,
        case=a.case,
        assignment=a,
        member=coach,
        title="Coaching 1",
        starts_at=timezone.now() - timedelta(hours=1),
        planned_hours=2,
        created_by=personas["provider"],
    )


def test_a_service_refusal_is_shown_on_the_field_it_names(client_for, past_session):
    response = client_for("provider").post(
        f"/delivery/sessions/{past_session.pk}/",
        {"action": "log", "outcome": "delivered", "hours": "2", "att-gp_partner": "1", "notes": "Short"},
    )
    assert response.status_code == 400
    assert summary_links(response.content.decode()) == ["notes"]
    past_session.refresh_from_db()
    assert past_session.state == Session.State.PLANNED


def test_the_session_page_and_the_api_read_a_log_through_the_same_parse():
    with pytest.raises(DeliveryError) as refused:
        log_input("postponed", 1.0, {}, "", "", False)
    assert refused.value.field == "outcome"
    with pytest.raises(DeliveryError) as refused:
        log_input("delivered", None, {"nurse": 1}, "Covered the rota.", "", False)
    assert (refused.value.field, refused.value.message) == ("hours", "Enter the hours delivered.")
    cancelled = log_input("cancelled", 2.0, {}, "", "Snow", True)
    assert (cancelled.delivered, cancelled.hours, cancelled.cancelled_reason) == (False, None, "Snow")

    form = SessionLogForm({"outcome": "delivered", "hours": "", "notes": "Covered the rota.", "att-nurse": "1"})
    assert not form.is_valid()
    assert form.errors["hours"] == ["Enter the hours delivered."], "the page says what the API says"


def test_an_error_about_an_input_the_page_does_not_show_is_not_linked():
    form = SessionLogForm({"outcome": "maybe", "hours": "x"})
    assert not form.is_valid()
    errors = page_errors(form, ["hours"])
    assert set(errors) == {"", "hours"}
    assert "delivered or cancelled" in errors[""]
