"""Journey: an ICB user signs in, searches for a practice, filters, and opens the practice page."""

from __future__ import annotations

import pytest

from tests.browser.conftest import assert_accessible, sign_in

from apps.accounts.management.commands.create_demo_users import DEMO_PASSWORD

pytestmark = pytest.mark.browser


def test_icb_user_searches_and_opens_a_practice(page):
    page.goto("/")
    assert_accessible(page)
    sign_in(page, "icb-a", DEMO_PASSWORD)
    page.wait_for_url("**/home/")
    assert page.get_by_role("heading", name="Hello Imran").is_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Practices", exact=True).first.click()
    page.get_by_label("ODS code, name or postcode").fill("densham")
    page.get_by_role("button", name="Search").click()
    assert "1 practice found" in page.locator("#result-count").inner_text()
    assert_accessible(page)

    page.get_by_role("link", name="The Densham Surgery").click()
    page.wait_for_url("**/practices/A81001/")
    assert page.get_by_role("heading", name="The Densham Surgery", level=1).is_visible()
    assert page.get_by_text("Patients per GP FTE").first.is_visible()
    assert_accessible(page)

    page.get_by_role("link", name="STOCKTON PCN").first.click()
    assert page.get_by_role("heading", name="STOCKTON PCN", level=1).is_visible()
    assert_accessible(page)
    assert page.js_errors == []


def test_filters_narrow_the_list_and_the_nhs_styles_load(page):
    sign_in(page, "icb-a", DEMO_PASSWORD)
    page.goto("/practices/")
    page.get_by_label("ICB").select_option("QHM")
    page.get_by_role("button", name="Search").click()
    count = page.locator("#result-count").inner_text()
    assert "practices found" in count
    # the NHS.UK stylesheet is served locally and applied
    colour = page.evaluate("getComputedStyle(document.querySelector('.nhsuk-header')).backgroundColor")
    assert colour == "rgb(0, 94, 184)"
    assert_accessible(page)
