"""Journey (issue 17 §1, §5): the national team sets up a programme from the GPDP template, adds a line without
JavaScript, sees every error at once, saves, and reads each line's offers, access, basis and sources; an ICB team
reads the menu's sources and sets its own price. Each page passes axe and does not scroll sideways at 390 and
1280 px (screenshots in var/screenshots)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from apps.accounts.demo import DEMO_PASSWORD
from tests.browser.conftest import assert_accessible, follow, sign_in, sign_out
from tests.browser.test_team_journey import check_layout

pytestmark = pytest.mark.browser


def test_national_sets_up_a_programme_from_a_template_and_an_icb_sets_a_local_price(page: Any) -> None:
    sign_in(page, "national", DEMO_PASSWORD)
    page.goto("/money/programmes/new/")
    follow(page, page.get_by_role("link", name="General Practice Development Programme (Time for Care) (GPDP)"))
    expect(page.get_by_label("Line 4 name")).to_have_value("Online consultation systems")
    follow(page, page.get_by_role("button", name="Add another line"))
    expect(page.get_by_label("Line 5 code")).to_have_value("")
    page.get_by_label("Programme code").fill("GPDP-NEW")
    page.get_by_label("Line 5 code").fill("local")  # a line with a code and nothing else: its errors show too
    follow(page, page.get_by_role("button", name="Set up programme"))
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("Line 1: enter the finance cost centre and ledger code")
    expect(summary).to_contain_text("Line 5: enter a name")
    expect(page.get_by_label("Line 2 name")).to_have_value("Practice-manager development")  # input kept
    assert_accessible(page)
    check_layout(page, "programme-new-errors")

    for i in range(1, 6):
        page.get_by_label(f"Line {i} cost centre").fill(f"CC0{i}")
        page.get_by_label(f"Line {i} ledger code").fill("5220")
    page.get_by_label("Line 5 name").fill("Local development top-up")
    page.get_by_label("Line 5 financial-year profile").fill("2026-27: 250,000")
    follow(page, page.get_by_role("button", name="Set up programme"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Time for Care")
    expect(page.get_by_text("Practice-manager coaching")).to_be_visible()
    expect(page.get_by_text("Started from the GPDP programme template")).to_be_visible()
    assert_accessible(page)
    check_layout(page, "programme-detail")
    follow(page, page.get_by_role("link", name="change the rule"))
    page.get_by_label("Money stays on its line").check()
    assert_accessible(page)
    check_layout(page, "virement-rule")
    follow(page, page.get_by_role("button", name="Save the rule"))
    expect(page.get_by_text("Moving money between its lines: money stays on its line")).to_be_visible()
    sign_out(page)

    sign_in(page, "icb-a", DEMO_PASSWORD)
    page.goto("/menu-of-support/")
    expect(page.get_by_text("source: NHS England board, July 2016").first).to_be_visible()
    check_layout(page, "menu-sources")
    follow(page, page.get_by_role("link", name="price for Coaching and mentorship"))
    follow(page, page.get_by_role("button", name="Set the price"))
    expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Price of one session, in pounds").fill("275")
    page.get_by_label("Where the price comes from").fill("Quote from the local coaching provider")
    follow(page, page.get_by_role("button", name="Set the price"))
    expect(page.get_by_text("£275.00 per session")).to_be_visible()
    assert_accessible(page)
    page.goto("/menu-of-support/gprp-coaching/local-price/")
    check_layout(page, "local-price")
    assert page.js_errors == []
