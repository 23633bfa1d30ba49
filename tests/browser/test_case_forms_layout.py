"""The case forms with their errors shown: every error at once in the NHS.UK error summary, each link moving to its
field; the pages pass axe and do not scroll sideways at phone and desktop widths."""

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
def open_case(django_db_blocker: Any) -> Iterator[int]:
    """An open, triaged case of the demo ICB team ``icb-a`` (its package and plan pages are the widest forms)."""
    from apps.accounts.models import User
    from apps.cases.models import OPEN, Case, Status

    with django_db_blocker.unblock():
        user = User.objects.get(username="icb-a")
        user.set_password(DEMO_PASSWORD)  # hashed with this run's hasher
        user.save(update_fields=["password"])
        case = (
            Case.objects.filter(icb_id=user.icb_id, status__in=OPEN)
            .exclude(status=Status.REFERRED)
            .order_by("pk")
            .first()
        )
        assert case is not None, "the demo data has no triaged case in icb-a's ICB"
    yield case.pk


def test_the_package_builder_names_every_bad_box_and_fits_the_screen(page: Any, open_case: int) -> None:
    sign_in(page, "icb-a", DEMO_PASSWORD)
    page.goto(f"/cases/{open_case}/package/")
    page.get_by_label("Delivery starts").fill("")
    page.locator("textarea#group").fill("A81002 150")
    follow(page, page.get_by_role("button", name="Price the package"))
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("link")).to_have_count(2)
    summary.get_by_role("link", name="Group line 1").click()
    expect(page.locator("textarea#group")).to_be_focused()
    assert_accessible(page)
    check_layout(page, "case-package-errors")


def test_the_plan_editor_names_each_bad_row_and_fits_the_screen(page: Any, open_case: int) -> None:
    sign_in(page, "icb-a", DEMO_PASSWORD)
    page.goto(f"/cases/{open_case}/plan/")
    rows = page.locator("input[name^='goal-']").count()
    last = rows - 1  # a blank row offered by the editor
    page.locator(f"#goal-{last}").fill("Steady the rota")
    follow(page, page.get_by_role("button", name="Save the plan"))
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("link").first).to_contain_text("fill in the goal, the action")
    assert_accessible(page)
    check_layout(page, "case-plan-errors")


@pytest.fixture
def approved_package(django_db_blocker: Any) -> Iterator[tuple[int, int]]:
    """A demo package of ``icb-a``'s ICB that the panel approved (the variation page's form is for it)."""
    from apps.accounts.models import User
    from apps.cases.models import Package

    with django_db_blocker.unblock():
        user = User.objects.get(username="icb-a")
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        pkg = (
            Package.objects.filter(case__icb_id=user.icb_id, state=Package.State.APPROVED)
            .order_by("case_id", "number")
            .first()
        )
        assert pkg is not None, "the demo data has no approved package in icb-a's ICB"
    yield pkg.case_id, pkg.number


def test_the_variation_page_names_every_bad_box_and_fits_the_screen(
    page: Any, approved_package: tuple[int, int]
) -> None:
    case, number = approved_package
    sign_in(page, "icb-a", DEMO_PASSWORD)
    page.goto(f"/cases/{case}/package/{number}/vary/")
    check_layout(page, "case-vary")
    page.locator("input[name^='units-']").first.fill("many")
    follow(page, page.get_by_role("button", name="Vary the package"))
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("link")).to_have_count(2)  # the bad units, and the missing reason
    summary.get_by_role("link", name="Say why the package changes").click()
    expect(page.locator("textarea#reason")).to_be_focused()
    assert_accessible(page)
    check_layout(page, "case-vary-errors")
