"""Journey: the national team sets up a programme, allocates it to ICBs by weighted patients (preview, then
confirm) and releases a first tranche."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from apps.accounts.demo import DEMO_PASSWORD
from tests.browser.conftest import assert_accessible, follow, sign_in

pytestmark = pytest.mark.browser
CODE = "JOURNEY"


def test_national_user_allocates_a_programme_by_weighted_patients_and_releases_a_tranche(page):
    sign_in(page, "national", DEMO_PASSWORD)
    # the header moves items that do not fit into its "More" menu after load, so go by address, not by nav link
    page.goto("/money/")
    expect(page.get_by_role("heading", name="National budget", level=1)).to_contain_text("National budget")
    assert_accessible(page)

    follow(page, page.get_by_role("link", name="Set up a programme"))
    page.get_by_label("Programme code").fill(CODE)
    page.get_by_label("Programme name").fill("Journey resilience scheme")
    page.get_by_label("Line 1 code").fill("core")
    page.get_by_label("Line 1 name").fill("Core support")
    page.get_by_label("Line 1 cost centre").fill("CC99")
    page.get_by_label("Line 1 ledger code").fill("5299")
    page.get_by_label("Line 1 financial-year profile").fill("2026-27: 2,000,000")
    assert_accessible(page)
    follow(page, page.get_by_role("button", name="Set up programme"))
    expect(page.get_by_role("heading", name="Journey resilience scheme", level=1)).to_be_visible()

    follow(page, page.get_by_role("link", name="Allocate Core support to ICBs"))
    page.get_by_label("Per weighted patient (payments file)").check()
    follow(page, page.get_by_role("button", name="Preview the split"))
    expect(page.locator("#preview-total")).to_have_text("£2,000,000.00")
    expect(page.get_by_role("table", name="Allocation preview by ICB")).to_contain_text("North East and North Cumbria")
    assert_accessible(page)
    follow(page, page.get_by_role("button", name="Confirm allocation"))
    expect(page.get_by_text("Allocated £2,000,000.00 of Core support 2026-27 to ICBs")).to_be_visible()
    assert_accessible(page)

    follow(page, page.get_by_role("link", name="Release a tranche of Core support"))
    page.get_by_label("Financial year").select_option("2026")
    page.get_by_label("Amount to release, in pounds").fill("500,000")
    page.get_by_label("What this release is").fill("First tranche: £0.5m of £2m")
    follow(page, page.get_by_role("button", name="Release tranche"))
    expect(page.get_by_text("Released £500,000.00")).to_be_visible()
    releases = page.get_by_role("table", name="Releases, newest first")
    expect(releases).to_contain_text("First tranche: £0.5m of £2m")
    expect(releases).to_contain_text("Nadia Okafor")
    assert_accessible(page)
    assert page.js_errors == []
