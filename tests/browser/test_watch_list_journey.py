"""Journey: an ICB user opens the watch list, reads why a practice is there, and records a decision with a reason."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from apps.accounts.demo import DEMO_PASSWORD
from tests.browser.conftest import assert_accessible, follow, sign_in

pytestmark = pytest.mark.browser


def test_icb_user_records_a_watch_list_decision(page):
    sign_in(page, "icb-a", DEMO_PASSWORD)
    follow(page, page.get_by_role("link", name="Watch list", exact=True).first)
    expect(page.get_by_role("heading", name="Watch list", level=1)).to_be_visible()
    expect(page.locator("#watch-count")).to_contain_text("practice")
    assert_accessible(page)

    page.get_by_label("Show").select_option("all")
    follow(page, page.get_by_role("button", name="Apply filters"))
    follow(page, page.get_by_role("link", name="The Densham Surgery"))
    expect(page.get_by_role("heading", name="Pressure index")).to_be_visible()
    expect(page.get_by_role("table", name="What drives the score")).to_be_visible()
    assert_accessible(page)

    # No rationale: refused, explained, nothing saved
    page.get_by_label("Change the local rating").check()
    page.get_by_label("Local rating (for a rating change)").select_option("high")
    follow(page, page.get_by_role("button", name="Save decision"))
    expect(page.get_by_text("There is a problem")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Change the local rating").check()
    page.get_by_label("Local rating (for a rating change)").select_option("high")
    page.get_by_label("Rationale").fill("Two GP partners leaving in spring; LMC has raised concern")
    follow(page, page.get_by_role("button", name="Save decision"))
    expect(page.get_by_text("Saved.")).to_be_visible()
    history = page.get_by_role("table", name="Decisions, newest first")
    expect(history).to_contain_text("Two GP partners leaving in spring")
    expect(history).to_contain_text("Imran Shah")
    assert_accessible(page)
    assert page.js_errors == []
