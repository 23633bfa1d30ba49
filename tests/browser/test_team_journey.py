"""Journey: the national team invites an ICB lead; the lead accepts by choosing a password, then invites a colleague
and a practice user. Each team page is checked with axe and for sideways scrolling at phone and desktop widths.

Invitation emails are read from Django's test outbox (the live server runs in this process). What the journey
creates is removed afterwards, so the demo data stays as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import expect

from apps.accounts.demo import DEMO_PASSWORD
from tests.browser.conftest import assert_accessible, sign_in

pytestmark = pytest.mark.browser
LEAD = "ada.lead@nhs.example"
COLLEAGUE = "ben.colleague@nhs.example"
PRACTICE_USER = "pat.manager@nhs.example"
PASSWORD = "Kettle-harbour-2041"
LINK = re.compile(r"https?://[^/\s]+(/accounts/invitation/[\w-]+/)")
# The elements reaching furthest right, to name the culprit when a page scrolls sideways.
WIDEST = """() => [...document.querySelectorAll('body *')]
  .map(e => [e.getBoundingClientRect().right, e.tagName + '.' + e.className + ' ' + (e.textContent || '').slice(0, 40)])
  .sort((a, b) => b[0] - a[0]).slice(0, 3)"""
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def journey_world(django_db_blocker: Any) -> Iterator[dict[str, str]]:
    """The ICB the lead joins and a practice there with no account yet; the journey's people removed afterwards."""
    from apps.accounts.models import Invitation, User
    from apps.practices.models import ICB, Practice, PracticeStatus

    with django_db_blocker.unblock():
        User.objects.filter(username="national").update(is_active=True)
        icb = ICB.objects.get(code="QWE")
        practice = (
            Practice.objects.filter(icb=icb, status=PracticeStatus.ACTIVE, users__isnull=True).order_by("code").first()
        )
        national = User.objects.get(username="national")
        national.set_password(DEMO_PASSWORD)  # hashed with this run's hasher
        national.save(update_fields=["password"])
    mail.outbox = []
    yield {"icb": icb.name, "practice": practice.code}
    with django_db_blocker.unblock():
        emails = [LEAD, COLLEAGUE, PRACTICE_USER]
        Invitation.objects.filter(email__in=emails).delete()
        User.objects.filter(username__in=emails).delete()


def invitation_link(to: str) -> str:
    sent = [m for m in mail.outbox if m.to == [to]]
    assert sent, f"no invitation email to {to}"
    return LINK.search(sent[-1].body).group(1)


def check_layout(page: Any, name: str) -> None:
    """No sideways scrolling at 390 px and 1280 px; a screenshot of each width for a person to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        # let the page lay out again at the new width (the header's menu measures itself after a resize)
        page.wait_for_function(f"document.documentElement.clientWidth <= {width}")
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        page.screenshot(path=str(SHOTS / f"team-{name}-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        widest = page.evaluate(WIDEST)
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px; widest: {widest}"
    page.set_viewport_size({"width": 1280, "height": 900})


def sign_out(page: Any) -> None:
    page.get_by_role("link", name="Sign out").click()
    page.get_by_role("button", name="Sign out").click()


def invite(page: Any, email: str, first: str, last: str, kind: str, **extra: str) -> None:
    page.get_by_role("link", name="Your team").first.click()
    page.get_by_role("button", name="Invite someone").click()
    page.get_by_label("Email address").fill(email)
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill(last)
    page.get_by_role("radio", name=kind, exact=True).check()
    for label, value in extra.items():
        field = page.get_by_label(label)
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(label=value)
        else:
            field.fill(value)
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text(f"Invitation sent to {email}")).to_be_visible()


def test_national_invites_an_icb_lead_who_invites_a_colleague_and_a_practice_user(page, journey_world):
    sign_in(page, "national", DEMO_PASSWORD)
    page.get_by_role("link", name="Your team").first.click()
    expect(page.get_by_role("heading", name="Your team", level=1)).to_be_visible()
    page.get_by_role("button", name="Invite someone").click()
    page.get_by_role("button", name="Send invitation").click()  # nothing filled in: every error at once
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    assert page.locator(".nhsuk-error-summary li").count() >= 3
    assert_accessible(page)
    check_layout(page, "invite-errors")

    invite(page, LEAD, "Ada", "Lead", "ICB team lead", **{"ICB (for an ICB team lead)": journey_world["icb"]})
    check_layout(page, "national-team")
    assert_accessible(page)
    sign_out(page)

    page.goto(invitation_link(LEAD))
    expect(page.get_by_role("heading", name="Accept your invitation")).to_be_visible()
    assert_accessible(page)
    check_layout(page, "accept")
    page.get_by_label("Choose a password").fill("password")
    page.get_by_label("Type the password again").fill("password")
    page.get_by_role("button", name="Create my account").click()
    expect(page.locator(".nhsuk-error-summary").get_by_text("This password is too common")).to_be_visible()
    page.get_by_label("Choose a password").fill(PASSWORD)
    page.get_by_label("Type the password again").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_text("Your account is ready")).to_be_visible()

    invite(page, COLLEAGUE, "Ben", "Colleague", "Member of your ICB team")
    invite(
        page,
        PRACTICE_USER,
        "Pat",
        "Manager",
        "Practice user (a practice in your ICB)",
        **{"Practice ODS code (for a practice user)": journey_world["practice"]},
    )
    rows = page.locator("table").nth(1)
    expect(rows.get_by_text(COLLEAGUE)).to_be_visible()
    expect(rows.get_by_text(PRACTICE_USER)).to_be_visible()
    assert_accessible(page)
    check_layout(page, "icb-team")
    page.get_by_role("link", name="Manage Finance Officer").click()  # looked at, not changed: demo data
    expect(page.get_by_role("button", name="Change team role")).to_be_visible()
    assert_accessible(page)
    check_layout(page, "member")
    assert page.js_errors == []

    # the practice user's link makes them their practice's lead: they can invite colleagues in turn
    sign_out(page)
    page.goto(invitation_link(PRACTICE_USER))
    page.get_by_label("Choose a password").fill(PASSWORD)
    page.get_by_label("Type the password again").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    page.get_by_role("link", name="Your team").first.click()
    page.get_by_role("button", name="Invite someone").click()
    expect(page.get_by_role("radio", name="Colleague at your practice")).to_be_checked()
    check_layout(page, "practice-invite")
