"""Journey: the national team sets up a programme, allocates it to ICBs by weighted patients (preview, then
confirm) and releases a first tranche."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from apps.accounts.management.commands.create_demo_users import DEMO_PASSWORD
from tests.browser.conftest import assert_accessible, sign_in

pytestmark = pytest.mark.browser
CODE = "JOURNEY"


@pytest.fixture
def clean_programme(django_db_blocker: Any) -> Iterator[None]:
    """The journey writes through the live server; remove what it wrote so other tests start clean.

    Ledger entries refuse to be deleted through the ORM (they are immutable); a test clean-up deletes them raw.
    """
    yield
    from apps.funding.models import Allocation, Budget, FundingLine, FundingYear, LedgerEntry, Programme, Release

    with django_db_blocker.unblock():
        entries = LedgerEntry.objects.filter(budget__line__programme__code=CODE)
        entries._raw_delete(entries.db)
        for model in (Release, Allocation, Budget):
            model.objects.filter(line__programme__code=CODE).delete()
        FundingYear.objects.filter(line__programme__code=CODE).delete()
        FundingLine.objects.filter(programme__code=CODE).delete()
        Programme.objects.filter(code=CODE).delete()


def test_national_user_allocates_a_programme_by_weighted_patients_and_releases_a_tranche(page, clean_programme):
    sign_in(page, "national", DEMO_PASSWORD)
    # the header moves items that do not fit into its "More" menu after load, so go by address, not by nav link
    page.goto("/money/")
    expect(page.get_by_role("heading", name="National budget", level=1)).to_contain_text("National budget")
    assert_accessible(page)

    page.get_by_role("link", name="Set up a programme").click()
    page.get_by_label("Programme code").fill(CODE)
    page.get_by_label("Programme name").fill("Journey resilience scheme")
    page.get_by_label("Line 1 code").fill("core")
    page.get_by_label("Line 1 name").fill("Core support")
    page.get_by_label("Line 1 cost centre").fill("CC99")
    page.get_by_label("Line 1 ledger code").fill("5299")
    page.get_by_label("Line 1 financial-year profile").fill("2026-27: 2,000,000")
    assert_accessible(page)
    page.get_by_role("button", name="Set up programme").click()
    expect(page.get_by_role("heading", name="Journey resilience scheme", level=1)).to_be_visible()

    page.get_by_role("link", name="Allocate Core support to ICBs").click()
    page.get_by_label("Per weighted patient (payments file)").check()
    page.get_by_role("button", name="Preview the split").click()
    expect(page.locator("#preview-total")).to_have_text("£2,000,000.00")
    expect(page.get_by_role("table", name="Allocation preview by ICB")).to_contain_text("North East and North Cumbria")
    assert_accessible(page)
    page.get_by_role("button", name="Confirm allocation").click()
    expect(page.get_by_text("Allocated £2,000,000.00 of Core support 2026-27 to ICBs")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Release a tranche of Core support").click()
    page.get_by_label("Financial year").select_option("2026")
    page.get_by_label("Amount to release, in pounds").fill("500,000")
    page.get_by_label("What this release is").fill("First tranche: £0.5m of £2m")
    page.get_by_role("button", name="Release tranche").click()
    expect(page.get_by_text("Released £500,000.00")).to_be_visible()
    releases = page.get_by_role("table", name="Releases, newest first")
    expect(releases).to_contain_text("First tranche: £0.5m of £2m")
    expect(releases).to_contain_text("Nadia Okafor")
    assert_accessible(page)
    assert page.js_errors == []
