"""Journeys: a coach logs a session and the practice confirms it; a practice manager joins a network and books coaching.

Both run against the demo delivery data (create_demo_delivery); the database is put back as built after each journey.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from apps.accounts.demo import DEMO_PASSWORD
from tests.browser.conftest import assert_accessible, follow, sign_in, sign_out

pytestmark = pytest.mark.browser


@pytest.fixture
def overdue_session(django_db_blocker: Any) -> tuple[Any, Any]:
    """The demo session that happened five days ago and is not logged yet, and the practice user who confirms it."""
    from apps.accounts.models import User
    from apps.delivery.models import Session

    with django_db_blocker.unblock():
        s = Session.objects.select_related("practice").get(
            member__user__username="provider", state=Session.State.PLANNED, title="Partners' coaching session 4"
        )
        practice_user = User.objects.get(practice=s.practice, username=f"practice-{s.practice.code.lower()}")
    return s, practice_user


def test_coach_logs_a_session_and_the_practice_confirms_it(page, overdue_session):
    _session, practice_user = overdue_session
    sign_in(page, "provider", DEMO_PASSWORD)
    follow(page, page.get_by_role("link", name="Delivery", exact=True))
    expect(page.get_by_role("heading", name="Your delivery work")).to_be_visible()
    assert_accessible(page)
    follow(
        page,
        page.get_by_role("table", name="Sessions to log (they have happened)").get_by_role(
            "link", name="Partners' coaching session 4"
        ),
    )
    expect(page.get_by_role("heading", name="Partners' coaching session 4")).to_be_visible()
    page.get_by_label("Delivered", exact=True).check()
    page.get_by_label("Hours delivered").fill("2")
    follow(page, page.get_by_role("button", name="Save the log"))  # nobody attended, no note: refused, explained
    expect(page.get_by_text("There is a problem")).to_be_visible()
    expect(page.get_by_text("Say who attended")).to_be_visible()
    page.get_by_label("GP partners").fill("3")
    page.get_by_label("Practice managers").fill("1")
    page.get_by_label("What was covered").fill("Agreed the duty-doctor rota trial and who leads recruitment.")
    page.get_by_label("Sign off now").check()
    assert_accessible(page)
    follow(page, page.get_by_role("button", name="Save the log"))
    expect(page.get_by_text("Session logged and signed off")).to_be_visible()
    expect(page.get_by_text("Signed off, awaiting the practice")).to_be_visible()
    sign_out(page)

    sign_in(page, practice_user.username, DEMO_PASSWORD)
    follow(page, page.get_by_role("link", name="Delivery", exact=True))
    follow(
        page,
        page.get_by_role("table", name="Sessions to confirm").get_by_role("link", name="Partners' coaching session 4"),
    )
    expect(page.get_by_text("Agreed the duty-doctor rota trial")).to_be_visible()
    assert_accessible(page)
    follow(page, page.get_by_role("button", name="Confirm the session took place"))
    expect(page.get_by_text("the session is confirmed")).to_be_visible()
    expect(page.get_by_text("Confirmed by the practice", exact=True).first).to_be_visible()
    assert_accessible(page)
    assert page.js_errors == []


def test_practice_manager_joins_a_network_and_books_coaching(page):
    sign_in(page, "practice-x", DEMO_PASSWORD)
    follow(page, page.get_by_role("link", name="Networks", exact=True))
    expect(page.get_by_role("heading", name="Practice-manager networks")).to_be_visible()
    assert_accessible(page)
    follow(page, page.get_by_role("link", name="North East and North Cumbria practice managers (demo)"))
    follow(page, page.get_by_role("button", name="Join the network"))
    expect(page.get_by_text("You have joined")).to_be_visible()
    expect(page.get_by_text("You are a member")).to_be_visible()
    assert_accessible(page)
    # what other managers shared is searchable across networks
    follow(page, page.get_by_role("navigation", name="Menu").get_by_role("link", name="Networks"))
    page.get_by_label("Search what worked, across your networks").fill("rota")
    follow(page, page.get_by_role("button", name="Search"))
    expect(page.get_by_role("heading", name="Rota template that survived two partners retiring")).to_be_visible()

    follow(page, page.get_by_role("link", name="Coaching", exact=True))
    follow(page, page.get_by_role("link", name="Practice-manager coaching: three 90-minute sessions"))
    follow(page, page.get_by_role("button", name="Request coaching"))  # no goals: refused, explained
    expect(page.get_by_text("There is a problem")).to_be_visible()
    page.get_by_label("What would you like from the coaching?").fill("Delegating the rota and planning the year.")
    follow(page, page.get_by_role("button", name="Request coaching"))
    expect(page.get_by_text("Request sent")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("group", name="Choose a time").get_by_role("radio").first.check()
    follow(page, page.get_by_role("button", name="Book this time"))
    expect(page.get_by_text("Booked:")).to_be_visible()
    expect(page.get_by_text("1 of 3")).to_be_visible()
    assert_accessible(page)
    # the booking is a planned session on the practice's delivery page and in its calendar
    follow(page, page.get_by_role("link", name="Delivery", exact=True))
    expect(page.get_by_role("table", name="Your sessions in the next 60 days")).to_contain_text(
        "Practice-manager coaching: three 90-minute sessions: session 1 of 3"
    )
    assert page.js_errors == []


def test_a_refused_faculty_form_shows_every_error_at_once_and_fits_a_phone(page):
    """Every problem with the new member is listed at once, each linking to its field and shown beside it; the page
    with its errors does not scroll sideways on a phone (390 px) or a desktop (1280 px)."""
    sign_in(page, "icb-a", DEMO_PASSWORD)
    page.goto("/delivery/faculty/")
    page.get_by_label("Capacity, hours a month").fill("lots")
    follow(page, page.get_by_role("button", name="Add to the faculty"))
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("Enter the member's name.")
    expect(summary).to_contain_text("Choose the member's role.")
    expect(summary).to_contain_text("Enter the capacity as a number.")
    expect(summary).to_contain_text("Enter the date they joined")
    assert page.locator(".nhsuk-error-message").count() >= 4, "each message is shown beside its field too"
    assert_accessible(page)
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow} px at {width} px"
    summary.get_by_role("link", name="Enter the capacity as a number.").click()  # in-page: the script focuses it
    expect(page.locator("#capacity")).to_be_focused()
    assert page.js_errors == []
