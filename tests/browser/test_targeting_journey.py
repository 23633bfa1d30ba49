"""Journey: an ICB user sees who would absorb a practice's patients if it closed, then asks how to spend this year's
money and coach time, and gets an optimal, explained plan with variants to compare."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from apps.accounts.demo import DEMO_PASSWORD
from tests.browser.conftest import assert_accessible, follow, sign_in

pytestmark = pytest.mark.browser
# How long the journey waits for a background solve to finish (a national variant set takes about 16 s of work).
SOLVE_TIMEOUT_MS = 60_000


def test_icb_user_simulates_a_closure_and_runs_a_spending_scenario(page):
    sign_in(page, "icb-a", DEMO_PASSWORD)
    # the header moves items that do not fit into its "More" menu after load, so go by address, not by nav link
    page.goto("/targeting/")
    expect(page.get_by_role("heading", name="Ripple scores", level=1)).to_be_visible()
    assert_accessible(page)

    page.goto("/targeting/practice/A81001/")
    expect(page.get_by_role("heading", name="If The Densham Surgery closed")).to_be_visible()
    expect(page.get_by_role("img", name="Map of THE DENSHAM SURGERY")).to_be_visible()
    table = page.get_by_role("table", name="Who would absorb the patients, nearest first")
    expect(table).to_contain_text("THE DOVECOT SURGERY")
    assert_accessible(page)

    # A bad parameter is refused and explained; a good one re-runs the simulation.
    page.get_by_label("Maximum distance (km)").fill("far")
    follow(page, page.get_by_role("button", name="Simulate again"))
    expect(page.get_by_text("There is a problem")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Maximum distance (km)").fill("2")
    follow(page, page.get_by_role("button", name="Simulate again"))
    expect(page.get_by_text("neighbours within 2.0 km")).to_be_visible()

    follow(page, page.get_by_role("link", name="Suggest a group package for this practice"))
    expect(page.get_by_role("table", name="Priced lines (shared by the group)")).to_be_visible()

    page.goto("/targeting/scenarios/")
    page.get_by_label("Scenario name").fill("This year's GPRP money")
    page.get_by_label("Budget (£)").fill("250000")
    page.get_by_label("Coach and provider hours available").fill("1200")
    follow(page, page.get_by_role("button", name="Run the optimiser"))
    expect(page.get_by_role("heading", name="This year's GPRP money", level=1)).to_be_visible()
    # The optimiser runs in the background: the page shows its progress and reloads itself until the result is in.
    expect(page.get_by_role("table", name="Optimised plan against the greedy baseline")).to_be_visible(
        timeout=SOLVE_TIMEOUT_MS
    )
    expect(page.locator("#progress")).to_have_count(0)
    expect(page.get_by_text("Funded: need").first).to_be_visible()
    assert_accessible(page)

    follow(page, page.get_by_role("button", name="Run ±20% budget and ±20% coach hours variants"))
    expect(page.get_by_role("heading", name="Compare scenarios")).to_be_visible()
    expect(page.get_by_role("table", name="Scenarios side by side")).to_contain_text("budget +20%")
    # the four variants are worked out in the background; the page reloads itself until every column is filled in
    expect(page.locator("#progress")).to_have_count(0, timeout=SOLVE_TIMEOUT_MS)
    expect(page.get_by_role("table", name="Scenarios side by side")).not_to_contain_text("Waiting for the background")
    assert_accessible(page)
    assert page.js_errors == []
