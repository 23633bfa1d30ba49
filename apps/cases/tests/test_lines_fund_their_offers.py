"""Issue 17 §1: a funding line pays only for the offers it lists (``apps.funding.lines.funds_offer``), wherever money
is committed; a case package is paid from targeted lines only, still as one decision across its budgets."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from analytics.money import financial_year_of
from apps.accounts.models import User
from apps.cases import services
from apps.cases.models import Case, Package
from apps.funding import services as funding
from apps.funding.models import Budget, Commitment, LineAccess
from apps.funding.tests.conftest import POUND, allocate_to
from apps.pages.testing import ICB_A

from .conftest import this_year


def programme_budgets(national: User, lines: list[funding.LineSpec], code: str = "LOCAL") -> dict[str, Budget]:
    """A programme of our own whose lines are all allocated to ICB A and fully released: ``{line code: budget}``."""
    programme = funding.create_programme(user=national, code=code, name="Local scheme", menu="GPRP", lines=lines)
    found = {}
    for line in programme.lines.all():
        allocate_to(national, line, {ICB_A: 1})
        fy = line.years.get().fy
        funding.release_tranche(user=national, line=line, fy=fy, amount_pence=line.total_pence, note="All of it")
        found[line.code] = Budget.objects.select_related("line__programme", "icb").get(line=line)
    return found


def spec(code: str, offers: tuple[str, ...], access: str = LineAccess.TARGETED) -> funding.LineSpec:
    fy = financial_year_of(timezone.localdate())
    return funding.LineSpec(code, f"{code.title()} line", "CC01", "5210", {fy: 20_000 * POUND}, None, offers, access)


def package(user: User, case: Case, offers: list[tuple[str, int]]) -> Package:
    starts, ends = this_year()
    pkg = services.build_package(user, case, [services.LineInput(o, n) for o, n in offers], [], starts, ends)
    services.submit_package(user, pkg)
    return pkg


def test_each_offer_is_committed_against_the_line_that_funds_it(personas: dict[str, Any], agreed_x: Case) -> None:
    icb = personas["icb_a"]
    budgets = programme_budgets(
        personas["national"], [spec("coaching", ("gprp-coaching",)), spec("workforce", ("gprp-workforce",))]
    )
    pkg = package(icb, agreed_x, [("gprp-coaching", 2), ("gprp-workforce", 1)])

    # Both budgets are chosen (the demo's GPRP budgets fund workforce support too); each pays for its own offer.
    services.approve_package(icb, pkg, "Panel approved", budgets["coaching"], [budgets["workforce"]])

    made = {c.budget_id: c.offers for c in funding.commitments_under([pkg.ref])}
    assert set(made) == {budgets["coaching"].pk, budgets["workforce"].pk}
    assert list(made[budgets["coaching"].pk]) == ["gprp-coaching"]
    assert list(made[budgets["workforce"].pk]) == ["gprp-workforce"]


def test_an_offer_no_targeted_line_funds_is_refused_naming_the_offer(personas: dict[str, Any], agreed_x: Case) -> None:
    icb = personas["icb_a"]
    # Only a universal line funds Time for Care here (the demo has no GPDP money): a case package may not use it.
    budgets = programme_budgets(
        personas["national"],
        [spec("coaching", ("gprp-coaching",)), spec("open", ("gpdp-hia",), LineAccess.UNIVERSAL)],
    )
    before = Commitment.objects.count()
    pkg = package(icb, agreed_x, [("gprp-coaching", 2), ("gpdp-hia", 1)])

    with pytest.raises(services.CaseError) as refused:
        services.approve_package(icb, pkg, "ok", budgets["coaching"])

    assert "The GPDP lines need a budget" in refused.value.message
    assert "whose targeted line funds Time for Care improvement programme" in refused.value.message
    assert Commitment.objects.count() == before
    pkg.refresh_from_db()
    assert pkg.state == Package.State.SUBMITTED


def test_a_universal_budget_chosen_for_a_case_package_is_refused(personas: dict[str, Any], agreed_x: Case) -> None:
    budgets = programme_budgets(personas["national"], [spec("open", ("gprp-coaching",), LineAccess.UNIVERSAL)])
    pkg = package(personas["icb_a"], agreed_x, [("gprp-coaching", 1)])
    with pytest.raises(services.CaseError, match="universal money"):
        services.approve_package(personas["icb_a"], pkg, "ok", budgets["open"])
    assert not funding.commitments_under([pkg.ref]).exists()


def test_a_chosen_budget_whose_line_funds_none_of_the_offers_is_refused_naming_its_offers(
    personas: dict[str, Any], agreed_x: Case
) -> None:
    budgets = programme_budgets(personas["national"], [spec("coaching", ("gprp-coaching",))])
    pkg = package(personas["icb_a"], agreed_x, [("gprp-workforce", 1)])
    with pytest.raises(services.CaseError, match="its line Coaching line funds gprp-coaching"):
        services.approve_package(personas["icb_a"], pkg, "ok", budgets["coaching"])


def test_commit_funds_refuses_an_offer_outside_the_lines_list(personas: dict[str, Any], agreed_x: Case) -> None:
    budgets = programme_budgets(personas["national"], [spec("coaching", ("gprp-coaching",))])
    with pytest.raises(funding.FundingError, match="not an offer the line Coaching line funds"):
        funding.commit_funds(
            budget=budgets["coaching"],
            amount_pence=50_000,
            reference="T-1",
            user=personas["icb_a"],
            recipients=[(agreed_x.practice.code, 50_000)],
            offers={"gprp-workforce": 50_000},
        )
    assert not Commitment.objects.filter(reference="T-1").exists()
