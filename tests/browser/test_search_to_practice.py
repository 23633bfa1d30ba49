"""Journey: an ICB user signs in, searches for a practice, filters, and opens the practice page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from apps.accounts.demo import DEMO_PASSWORD
from tests.browser.conftest import assert_accessible, follow, sign_in

pytestmark = pytest.mark.browser


def test_icb_user_searches_and_opens_a_practice(page):
    page.goto("/")
    assert_accessible(page)
    sign_in(page, "icb-a", DEMO_PASSWORD)
    page.wait_for_url("**/home/")
    expect(page.get_by_role("heading", name="Hello Imran")).to_be_visible()
    assert_accessible(page)

    follow(page, page.get_by_role("link", name="Practices", exact=True).first)
    page.get_by_label("ODS code, name or postcode").fill("densham")
    follow(page, page.get_by_role("button", name="Search"))
    expect(page.locator("#result-count")).to_contain_text("1 practice found")
    assert_accessible(page)

    follow(page, page.get_by_role("link", name="The Densham Surgery"))
    page.wait_for_url("**/practices/A81001/")
    expect(page.get_by_role("heading", name="The Densham Surgery", level=1)).to_be_visible()
    expect(page.get_by_role("columnheader", name="Patients per GP FTE")).to_be_visible()
    assert_accessible(page)

    follow(page, page.get_by_role("link", name="STOCKTON PCN").first)
    expect(page.get_by_role("heading", name="STOCKTON PCN", level=1)).to_be_visible()
    assert_accessible(page)
    assert page.js_errors == []


def test_filters_narrow_the_list_and_the_nhs_styles_load(page):
    sign_in(page, "icb-a", DEMO_PASSWORD)
    page.goto("/practices/")
    page.get_by_label("ICB").select_option("QHM")
    follow(page, page.get_by_role("button", name="Search"))
    count = page.locator("#result-count").inner_text()
    assert "practices found" in count
    # the NHS.UK stylesheet is served locally and applied
    colour = page.evaluate("getComputedStyle(document.querySelector('.nhsuk-header')).backgroundColor")
    assert colour == "rgb(0, 94, 184)"
    assert_accessible(page)
