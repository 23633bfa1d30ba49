"""The practice-manager development forms with their errors shown: what was typed stays in its box, every error is
in the NHS.UK error summary, and the pages do not scroll sideways at phone and desktop widths."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from apps.accounts.demo import DEMO_PASSWORD
from tests.browser.conftest import assert_accessible, follow, sign_in
from tests.browser.test_team_journey import check_layout

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_pm(django_db_blocker: Any) -> Iterator[tuple[int, int]]:
    """A demo network ``icb-a`` runs, and a demo coaching offer whose coach is the ``provider`` user."""
    from apps.accounts.models import User
    from apps.delivery.models import CoachingOffer, Network

    with django_db_blocker.unblock():
        icb = User.objects.get(username="icb-a")
        net = Network.objects.filter(icb_id=icb.icb_id).order_by("pk").first()
        offer = CoachingOffer.objects.filter(coach__user__username="provider").order_by("pk").first()
        assert net is not None and offer is not None, "the demo data has no network or coaching offer"
    yield net.pk, offer.pk


def test_a_refused_meeting_keeps_its_boxes_and_fits_the_screen(page: Any, demo_pm: tuple[int, int]) -> None:
    sign_in(page, "icb-a", DEMO_PASSWORD)
    page.goto(f"/networks/{demo_pm[0]}/meetings/new/")
    page.get_by_label("Title").fill("Winter planning")
    page.get_by_label("Length in minutes").fill("1.5")
    page.get_by_label("Where").fill("Room 4, the long name of the building where the managers meet every month")
    follow(page, page.get_by_role("button", name="Schedule the meeting"))
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_be_visible()
    expect(page.get_by_label("Title")).to_have_value("Winter planning")
    expect(page.get_by_label("Length in minutes")).to_have_value("1.5")
    assert_accessible(page)
    check_layout(page, "pm-meeting-errors")
    assert page.js_errors == []


def test_refused_slots_keep_the_lines_and_place_and_fit_the_screen(page: Any, demo_pm: tuple[int, int]) -> None:
    sign_in(page, "provider", DEMO_PASSWORD)
    page.goto(f"/coaching/{demo_pm[1]}/")
    page.get_by_label("Publish times").fill("2027-01-14 10:00\nsoon")
    page.locator("#location").fill("Room 2, Leeds")
    follow(page, page.get_by_role("button", name="Publish the times"))
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("is not a date and time")
    expect(page.get_by_label("Publish times")).to_have_value("2027-01-14 10:00\nsoon")
    expect(page.locator("#location")).to_have_value("Room 2, Leeds")
    assert_accessible(page)
    check_layout(page, "pm-slots-errors")
    assert page.js_errors == []
