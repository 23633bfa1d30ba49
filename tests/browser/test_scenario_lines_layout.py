"""A spending scenario by funding line (issue 17 §6): the form with its line budgets, and the result page with its
per-line table, places and each practice's why, pass axe and do not scroll sideways at phone and desktop widths."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from apps.accounts.demo import DEMO_PASSWORD
from tests.browser.conftest import assert_accessible, sign_in
from tests.browser.test_team_journey import check_layout

pytestmark = pytest.mark.browser


@pytest.fixture
def scenario_by_line(django_db_blocker: Any) -> Iterator[str]:
    """A solved scenario of the demo ICB team ``icb-a`` with a targeted and a universal line."""
    from apps.accounts.models import User
    from apps.funding.models import FundingLine, LineAccess, Programme
    from apps.targeting import scenarios
    from apps.targeting.lines import parse_line_budgets

    with django_db_blocker.unblock():
        user = User.objects.get(username="icb-a")
        user.set_password(DEMO_PASSWORD)  # hashed with this run's hasher
        user.save(update_fields=["password"])
        national = User.objects.filter(role="national").first() or user
        gpdp = Programme.objects.create(code="GPDP-B", name="Development", menu="GPDP", created_by=national)
        FundingLine.objects.create(programme=gpdp, code="dev", name="Development places", total_pence=10**8,
                                   cost_centre="C", ledger_code="L", access=LineAccess.UNIVERSAL)  # fmt: skip
        core = FundingLine.objects.filter(programme__menu="GPRP").order_by("pk").first()
        assert core is not None
        parsed = parse_line_budgets(f"{core.programme.code}/{core.code} 250000\nGPDP-B/DEV 40000")
        s = scenarios.run_scenario(
            user, name="Lines at phone width", scope="icb", icb=user.icb, budget_pence=sum(x.pence for x in parsed),
            coach_hours=2000, practice_cap_pence=2_500_000, line_budgets=[x.stored() for x in parsed],
        )  # fmt: skip
    yield s.ref


def test_a_scenario_by_line_fits_the_screen_and_passes_axe(page: Any, scenario_by_line: str) -> None:
    sign_in(page, "icb-a", DEMO_PASSWORD)
    page.goto("/targeting/scenarios/")
    expect(page.get_by_label("Budget by funding line")).to_be_visible()
    assert_accessible(page)
    check_layout(page, "scenario-form-lines")
    page.goto(f"/targeting/scenarios/{scenario_by_line}/")
    expect(page.get_by_role("heading", name="By funding line")).to_be_visible()
    expect(page.get_by_role("heading", name="Places on universal offers")).to_be_visible()
    assert_accessible(page)
    check_layout(page, "scenario-lines")
