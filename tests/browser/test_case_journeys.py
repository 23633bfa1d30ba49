"""Journeys: a practice asks for help and its case runs to an approved package; an LMC nominates a practice."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from apps.accounts.demo import DEMO_PASSWORD
from tests.browser.conftest import assert_accessible, follow, sign_in, sign_out

pytestmark = pytest.mark.browser


def test_practice_self_refers_and_the_icb_runs_the_case_to_an_approved_package(page):
    # The practice asks for help.
    sign_in(page, "practice-x", DEMO_PASSWORD)
    follow(page, page.get_by_role("link", name="Cases", exact=True))
    follow(page, page.get_by_role("link", name="Ask for support"))
    expect(page.get_by_role("heading", name="Ask for support")).to_be_visible()
    assert_accessible(page)
    follow(page, page.get_by_role("button", name="Send request"))  # nothing filled in: refused, explained
    expect(page.get_by_text("There is a problem")).to_be_visible()
    page.get_by_label("What is wrong?").fill("Two of our three partners retire in March and nobody has applied.")
    page.get_by_label("Recruitment campaign").check()
    page.get_by_label("Workforce support").check()
    page.get_by_label("Soon: within weeks").check()
    follow(page, page.get_by_role("button", name="Send request"))
    expect(page.get_by_text("Your request is in")).to_be_visible()
    case_url = page.url
    expect(page.locator("[aria-current=step]")).to_have_text("Referred")
    assert_accessible(page)
    sign_out(page)

    # The ICB team triages it from the queue.
    sign_in(page, "icb-a", DEMO_PASSWORD)
    page.goto(case_url)
    follow(page, page.get_by_role("link", name="Triage", exact=True))
    page.get_by_role("group", name="Scope for support").get_by_label("High").check()
    page.get_by_role("group", name="Impact of support").get_by_label("High").check()
    follow(page, page.get_by_role("button", name="Save triage"))
    expect(page.get_by_role("link", name="Give the rationale")).to_be_visible()
    page.get_by_label("Rationale").fill("Succession gap the menu can fill; 9,000 patients at risk.")
    follow(page, page.get_by_role("button", name="Save triage"))
    expect(page.get_by_text("Triage recorded.")).to_be_visible()
    assert_accessible(page)
    # Drafts the plan with the practice and prices a package.
    follow(page, page.get_by_role("link", name="Write the action plan"))
    page.locator("#goal-0").fill("Secure GP cover")
    page.locator("#area-0").select_option("workforce")
    page.locator("#action-0").fill("Backfill sessions from the GP pool")
    page.locator("#owner-0").fill("Practice manager")
    page.locator("#due-0").fill("2027-02-28")
    page.locator("#offer-0").select_option("gprp-workforce")
    assert_accessible(page)
    follow(page, page.get_by_role("button", name="Save the plan"))
    expect(page.get_by_text("Plan saved.")).to_be_visible()
    follow(page, page.get_by_role("link", name="Build the package"))
    page.get_by_label("How many GP sessions of Co-ordinated workforce support").fill("20")
    follow(page, page.get_by_role("button", name="Price the package"))
    expect(page.get_by_text("Priced: £6,400.00")).to_be_visible()
    assert_accessible(page)
    follow(page, page.get_by_role("button", name="Price and submit for approval"))
    expect(page.get_by_text("sent for approval")).to_be_visible()
    sign_out(page)

    # The practice agrees its plan.
    sign_in(page, "practice-x", DEMO_PASSWORD)
    page.goto(case_url)
    follow(page, page.get_by_role("button", name="Agree the action plan"))
    expect(page.get_by_text("Plan agreed.")).to_be_visible()
    sign_out(page)

    # The ICB approves the package; the timeline shows every step, attributed.
    sign_in(page, "icb-a", DEMO_PASSWORD)
    page.goto(case_url)
    follow(page, page.get_by_role("link", name="Approve or refuse"))
    page.get_by_label("Approve").check()
    page.get_by_role("group", name="Paid from (for an approval)").get_by_role("radio").first.check()
    follow(page, page.get_by_role("button", name="Record the decision"))
    expect(page.locator("[aria-current=step]")).to_have_text("Package approved")
    timeline = page.get_by_role("table", name="Everything that happened on this case, newest first")
    for text in (
        "Plan agreed → Package approved",
        "Diagnosis → Plan agreed",
        "Referred → Triaged",
        "Imran Shah",
        "Priya Patel",
    ):
        expect(timeline).to_contain_text(text)
    assert_accessible(page)
    assert page.js_errors == []


@pytest.fixture
def practice_x_code(django_db_blocker: Any) -> str:
    from apps.accounts.models import User

    with django_db_blocker.unblock():
        return User.objects.get(username="practice-x").practice.code


def test_lmc_nominates_a_practice_and_the_practice_is_told(page, practice_x_code):
    code = practice_x_code
    sign_in(page, "lmc", DEMO_PASSWORD)
    follow(page, page.get_by_role("link", name="Nominations", exact=True))
    follow(page, page.get_by_role("link", name="Nominate a practice"))
    page.get_by_label("Practice ODS code").fill(code)
    page.get_by_label("What is wrong?").fill("The practice manager is off sick and payroll has failed twice.")
    page.get_by_label("Urgent: the practice may not cope this month").check()
    follow(page, page.get_by_role("button", name="Send nomination"))
    expect(page.get_by_text("Nomination sent.")).to_be_visible()
    expect(page.get_by_role("table", name="Nominations, newest first")).to_contain_text(code)
    assert_accessible(page)
    sign_out(page)

    sign_in(page, "practice-x", DEMO_PASSWORD)
    follow(page, page.get_by_role("link", name="Waiting for me"))
    expect(page.get_by_role("table", name="Notifications, newest first")).to_contain_text("has been nominated")
    assert_accessible(page)
    follow(page, page.get_by_role("link", name="has been nominated").first)
    expect(page.get_by_role("heading", name="Nomination by the LMC")).to_be_visible()
    assert page.js_errors == []
