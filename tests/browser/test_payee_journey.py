"""Journey: an ICB team commits money to an LMC support team outside any case (every error shown at once first),
sees its tranches, records the first tranche's payment, and finds it on the list of commitments outside cases; each
page passes axe and does not scroll sideways at 390 and 1280 px (screenshots in var/screenshots)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from apps.accounts.demo import DEMO_PASSWORD
from tests.browser.conftest import assert_accessible, follow, sign_in
from tests.browser.test_team_journey import check_layout

pytestmark = pytest.mark.browser


def test_an_icb_team_commits_to_an_lmc_support_team_and_records_a_tranche(page: Any) -> None:
    from django.utils import timezone

    from analytics.money import financial_year_of, fy_end

    year_end = fy_end(financial_year_of(timezone.localdate()))
    sign_in(page, "icb-a", DEMO_PASSWORD)
    page.goto("/money/")  # an ICB team is sent to its own budget
    follow(page, page.get_by_role("link", name="Commitments outside cases"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Commitments outside cases")
    follow(page, page.get_by_role("button", name="Commit money to a payee"))

    follow(page, page.get_by_role("button", name="Commit money", exact=True))
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("link")).to_have_count(6)  # budget, kind, payee, purpose, amount, schedule
    summary.get_by_role("link", name="Enter the payee's name").click()
    expect(page.locator("input#name")).to_be_focused()
    assert_accessible(page)
    check_layout(page, "payee-new-errors")

    budget = page.get_by_label("Budget line")
    budget.select_option(index=1)
    page.get_by_label("LMC support team").check()
    page.get_by_label("Payee", exact=True).fill("Journeyshire LMC support team")
    page.get_by_label("Organisation code (optional)").fill("LMC42")
    page.get_by_label("What the money pays for").fill("Pastoral and practical support, two sessions a week")
    page.get_by_label("Amount, in pounds").fill("1,000")
    page.get_by_label("Schedule of payments").fill(
        f"{year_end.replace(day=1).isoformat()}: 600\n{year_end:%d/%m/%Y}: 400"
    )
    follow(page, page.get_by_role("button", name="Commit money", exact=True))
    expect(page.get_by_role("heading", name="Journeyshire LMC support team", level=1)).to_be_visible()
    expect(page.get_by_role("table", name="Tranches, in date order")).to_contain_text("£600.00")
    assert_accessible(page)

    page.get_by_label("Tranche", exact=True).select_option("1")
    page.get_by_label("Invoice number").fill("LMC42-001")
    page.get_by_label("Amount, in pounds", exact=True).fill("600")
    follow(page, page.get_by_role("button", name="Record payment"))
    expect(page.get_by_text("Payment recorded")).to_be_visible()
    expect(page.get_by_role("table", name="Tranches, in date order")).to_contain_text("Awaiting approval")

    # a variation keeps the tranche awaiting approval and restates the other
    page.get_by_label("New amount, in pounds").fill("1,200")
    page.get_by_label("New schedule of payments").fill(
        f"{year_end.replace(day=1).isoformat()}: 600\n{year_end.isoformat()}: 600"
    )
    page.get_by_label("Why it changes").fill("A third session a month agreed with the LMC")
    follow(page, page.get_by_role("button", name="Vary the commitment"))
    expect(page.get_by_text("Commitment varied")).to_be_visible()
    expect(page.get_by_role("table", name="Ledger entries of this commitment, oldest first")).to_contain_text("£200.00")
    check_layout(page, "payee-detail")

    follow(page, page.get_by_role("link", name="Commitments outside cases"))
    listed = page.get_by_role("table", name="Commitments outside cases, newest first")
    expect(listed).to_contain_text("Journeyshire LMC support team")
    expect(listed).to_contain_text("£1,200.00")
    assert_accessible(page)
    check_layout(page, "payee-list")
    assert page.js_errors == []
