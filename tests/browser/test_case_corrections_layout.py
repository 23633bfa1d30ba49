"""Closing with a listed reason and reopening with a rationale, with their errors shown: every error in the NHS.UK
error summary, each link moving to its field; the pages pass axe and do not scroll sideways at 390 and 1280 px.
Nothing is submitted validly, so the demo data the other browser tests read is left as it was."""

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
def cases(django_db_blocker: Any) -> Iterator[tuple[int, int]]:
    """(an open case, a closed case) of the demo ICB team ``icb-a``, the closed one within its reopening window."""
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.cases.models import OPEN, Case, Status

    with django_db_blocker.unblock():
        user = User.objects.get(username="icb-a")
        user.set_password(DEMO_PASSWORD)  # hashed with this run's hasher
        user.save(update_fields=["password"])
        mine = Case.objects.filter(icb_id=user.icb_id)
        open_case = mine.filter(status__in=OPEN).order_by("pk").first()
        closed = mine.filter(status=Status.CLOSED).order_by("pk").first()
        assert open_case is not None and closed is not None, (
            "the demo data has an open and a closed case in icb-a's ICB"
        )
        Case.objects.filter(pk=closed.pk).update(status_changed_at=timezone.now())  # inside the reopening window
    yield open_case.pk, closed.pk


def test_closing_asks_why_from_the_list_and_fits_the_screen(page: Any, cases: tuple[int, int]) -> None:
    sign_in(page, "icb-a", DEMO_PASSWORD)
    page.goto(f"/cases/{cases[0]}/move/closed/")
    follow(page, page.get_by_role("button", name="Close the case"))
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_be_visible()
    summary.get_by_role("link", name="Choose why the case is closed.").click()
    expect(page.locator("input#why")).to_be_focused()
    assert_accessible(page)
    check_layout(page, "case-close-errors")


def test_reopening_asks_for_a_rationale_and_fits_the_screen(page: Any, cases: tuple[int, int]) -> None:
    sign_in(page, "icb-a", DEMO_PASSWORD)
    page.goto(f"/cases/{cases[1]}/")
    follow(page, page.get_by_role("link", name="Reopen the case"))
    follow(page, page.get_by_role("button", name="Reopen the case"))
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_be_visible()
    summary.get_by_role("link").first.click()
    expect(page.locator("textarea#rationale")).to_be_focused()
    assert_accessible(page)
    check_layout(page, "case-reopen-errors")
