"""A session log with a history and a dispute, as the ICB team (resolving it), the provider (sent back to amend) and
the practice see it: each page passes axe and does not scroll sideways at 390 and 1280 px (screenshots of both widths
are kept for a person to look at). The dispute's resolution is refused once, to show its errors beside the fields."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from apps.accounts.demo import DEMO_PASSWORD
from tests.browser.conftest import assert_accessible, follow, sign_in
from tests.browser.test_team_journey import check_layout

pytestmark = pytest.mark.browser


@pytest.fixture
def disputed(django_db_blocker: Any) -> Iterator[int]:
    """A session at practice-x's practice delivered by the demo provider: logged, amended once, disputed by the
    practice, sent back to amend by icb-a, amended again, then disputed again (open)."""
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.delivery import services
    from apps.delivery.models import FacultyMember, Session

    with django_db_blocker.unblock():
        users = {u.username: u for u in User.objects.filter(username__in=("icb-a", "practice-x", "provider"))}
        for u in users.values():
            u.set_password(DEMO_PASSWORD)  # hashed with this run's hasher
            u.save(update_fields=["password"])
        icb, px, prov = users["icb-a"], users["practice-x"], users["provider"]
        member = FacultyMember.objects.filter(user=prov).first()
        assert member is not None, "the demo provider login is a coach in the faculty"
        s = Session.objects.create(
            practice=px.practice,
            member=member,
            title="Coaching for the partners: session 2",
            starts_at=timezone.now() - timedelta(hours=3),
            planned_hours=2,
            created_by=icb,
        )
        log = services.LogInput(
            delivered=True,
            hours=2,
            attendees={"gp_partner": 3, "practice_manager": 1},
            notes="Succession plan drafted; the rota for the winter reviewed line by line with the partners.",
            sign_off=True,
        )
        services.log_session(prov, s, log)
        services.amend_session(
            prov, s, services.LogInput(**{**log.__dict__, "hours": 2.5}), "The session ran half an hour over."
        )
        services.dispute_session(px, s, "Only two partners attended, and the session ended after ninety minutes.")
        services.resolve_dispute(icb, s, "amend", "The signed register shows two partners and ninety minutes.")
        services.amend_session(
            prov,
            s,
            services.LogInput(**{**log.__dict__, "hours": 1.5, "attendees": {"gp_partner": 2, "practice_manager": 1}}),
            "Corrected to the signed register, as the ICB team asked.",
        )
        services.dispute_session(px, s, "The practice manager left after half an hour: she should not be counted.")
    yield s.pk


def test_a_session_with_a_history_and_a_dispute_fits_the_screen_for_each_role(page: Any, disputed: int) -> None:
    url = f"/delivery/sessions/{disputed}/"
    sign_in(page, "icb-a", DEMO_PASSWORD)
    page.goto(url)
    expect(page.get_by_role("heading", name="Resolve the dispute")).to_be_visible()
    expect(page.get_by_role("heading", name="History of the log")).to_be_visible()
    expect(page.get_by_text("Version 3 (current)")).to_be_visible()
    follow(page, page.get_by_role("button", name="Resolve the dispute"))
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("Choose how the dispute is resolved.")
    expect(summary).to_contain_text("Write a note of the decision")
    summary.get_by_role("link", name="Write a note of the decision (at least 10 characters).").click()
    expect(page.locator("textarea#decision_note")).to_be_focused()
    assert_accessible(page)
    check_layout(page, "session-dispute-icb")

    page.get_by_label("The dispute is accepted: the provider must amend the log").check()
    page.get_by_label("Note of the decision").fill("Count only who stayed for the whole session.")
    follow(page, page.get_by_role("button", name="Resolve the dispute"))
    expect(page.get_by_text("Dispute resolved: the provider must amend the log.")).to_be_visible()

    page.context.clear_cookies()
    sign_in(page, "provider", DEMO_PASSWORD)
    page.goto(url)
    expect(page.get_by_text("asked you to amend this log")).to_be_visible()
    expect(page.get_by_role("heading", name="Amend the log")).to_be_visible()
    assert_accessible(page)
    check_layout(page, "session-amend-provider")

    page.context.clear_cookies()
    sign_in(page, "practice-x", DEMO_PASSWORD)
    page.goto(url)
    expect(page.get_by_text("Disputed:").first).to_be_visible()
    assert_accessible(page)
    check_layout(page, "session-history-practice")
    assert page.js_errors == []
