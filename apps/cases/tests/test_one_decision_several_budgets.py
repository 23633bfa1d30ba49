"""Issue 17 §2: a package whose lines draw on different programmes is approved as one decision that commits each
line against its own budget — every budget or none, refused naming the line and the budget."""

from __future__ import annotations

from typing import Any

import pytest

from analytics import money
from apps.cases import services
from apps.cases.models import Case, CaseEvent, Package, Status
from apps.funding import services as funding
from apps.funding.models import Budget, Commitment, LedgerEntry
from apps.funding.tests.conftest import POUND, allocate_to, make_line
from apps.pages.testing import ICB_A
from apps.practices.models import Practice, PracticeStatus

from .conftest import accept_every_share, this_year


def gprp_budget(case: Case) -> Budget:
    """The demo GPRP budget of the case's ICB this year (the one with the most headroom)."""
    found = [b for b in funding.budgets_for(case.icb) if b.line.programme.menu == "GPRP"]
    return max(found, key=lambda b: b.headroom_pence)


def gpdp_budget(national: Any, released: int) -> Budget:
    """The demo has no GPDP money: set up a GPDP line for ICB A through the services, releasing ``released``."""
    line = make_line(national, code="GPDPT", total=50_000 * POUND, menu="GPDP")
    allocate_to(national, line, {ICB_A: 1})
    funding.release_tranche(user=national, line=line, fy=line.years.get().fy, amount_pence=released, note="For test")
    return Budget.objects.select_related("line__programme", "icb").get(line=line)


def neighbour(case: Case) -> str:
    other = (
        Practice.objects.filter(icb=case.icb, status=PracticeStatus.ACTIVE)
        .exclude(code=case.practice.code)
        .order_by("code")
        .first()
    )
    assert other is not None
    return other.code


def group_package(user: Any, case: Case) -> Package:
    """GPRP workforce (2 × £320) + GPDP Time for Care (1 × £1,200), shared 60/40 by two practices."""
    starts, ends = this_year()
    pkg = services.build_package(
        user,
        case,
        [services.LineInput("gprp-workforce", 2), services.LineInput("gpdp-hia", 1)],
        [(case.practice.code, 6_000), (neighbour(case), 4_000)],
        starts,
        ends,
    )
    services.submit_package(user, pkg)
    accept_every_share(pkg)  # each covered practice accepts its share before approval
    return pkg


def committed(budget: Budget) -> int:
    return funding.balances([budget.pk])[budget.pk].committed


def test_one_decision_commits_each_line_against_its_own_budget(personas: dict[str, Any], agreed_x: Case) -> None:
    icb = personas["icb_a"]
    rp, dp = gprp_budget(agreed_x), gpdp_budget(personas["national"], 5_000 * POUND)
    before = committed(rp), committed(dp)
    pkg = group_package(icb, agreed_x)

    services.approve_package(icb, pkg, "Panel approved", rp)  # the GPDP budget is found: the ICB's only one

    pkg.refresh_from_db()
    agreed_x.refresh_from_db()
    assert pkg.state == Package.State.APPROVED and agreed_x.status == Status.APPROVED
    assert committed(rp) - before[0] == 64_000 and committed(dp) - before[1] == 120_000
    made = {c.budget_id: c for c in funding.commitments_under([pkg.commitment_ref])}
    assert set(made) == {rp.pk, dp.pk}
    assert made[rp.pk].offers == {"gprp-workforce": 64_000}
    assert made[dp.pk].offers == {"gpdp-hia": 120_000}
    assert sorted(p for _, p in made[dp.pk].recipients) == [48_000, 72_000]  # the 60/40 shares of the GPDP line
    # One decision: one movement across both budgets, one event on the case naming both budgets.
    assert LedgerEntry.objects.filter(commitment__in=made.values()).values("movement").distinct().count() == 1
    event = CaseEvent.objects.filter(case=agreed_x, kind=CaseEvent.Kind.PACKAGE).latest("pk")
    assert str(rp) in event.summary and str(dp) in event.summary


def test_when_one_budget_would_overdraw_nothing_is_committed_and_the_line_and_budget_are_named(
    personas: dict[str, Any], agreed_x: Case
) -> None:
    icb = personas["icb_a"]
    rp, dp = gprp_budget(agreed_x), gpdp_budget(personas["national"], 1_000 * POUND)  # £1,200 line, £1,000 there
    before = committed(rp), committed(dp), Commitment.objects.count()
    pkg = group_package(icb, agreed_x)

    with pytest.raises(services.CaseError) as refused:
        services.approve_package(icb, pkg, "Panel approved", rp)

    message = refused.value.message
    assert "nothing was committed" in message and "£200.00 short" in message
    assert "Time for Care improvement programme: £200.00 short" in message  # the GPDP line, by its title
    assert str(dp) in message
    assert (committed(rp), committed(dp), Commitment.objects.count()) == before  # the GPRP part was not kept
    pkg.refresh_from_db()
    agreed_x.refresh_from_db()
    assert pkg.state == Package.State.SUBMITTED and agreed_x.status == Status.PLAN_AGREED


def test_a_chosen_budget_that_funds_no_line_is_refused(personas: dict[str, Any], agreed_x: Case) -> None:
    dp = gpdp_budget(personas["national"], 5_000 * POUND)
    starts, ends = this_year()
    pkg = services.build_package(
        personas["icb_a"], agreed_x, [services.LineInput("gprp-coaching", 1)], [], starts, ends
    )
    services.submit_package(personas["icb_a"], pkg)
    with pytest.raises(services.CaseError, match="No line in this package is on the GPDP menu"):
        services.approve_package(personas["icb_a"], pkg, "ok", dp)


def test_a_programme_with_no_budget_is_refused_asking_for_one(personas: dict[str, Any], agreed_x: Case) -> None:
    pkg = group_package(personas["icb_a"], agreed_x)  # no GPDP budget set up
    with pytest.raises(services.CaseError, match="The GPDP lines need a budget"):
        services.approve_package(personas["icb_a"], pkg, "ok", gprp_budget(agreed_x))
    assert not funding.commitments_under([pkg.ref]).exists()


def test_withdrawing_a_case_releases_every_budget_of_its_package(personas: dict[str, Any], agreed_x: Case) -> None:
    icb = personas["icb_a"]
    rp, dp = gprp_budget(agreed_x), gpdp_budget(personas["national"], 5_000 * POUND)
    before = committed(rp), committed(dp)
    pkg = group_package(icb, agreed_x)
    services.approve_package(icb, pkg, "ok", rp)
    services.change_status(icb, agreed_x, Status.WITHDRAWN, "Practice merged with a neighbour")
    assert (committed(rp), committed(dp)) == before
    assert {c.status for c in funding.commitments_under([pkg.ref])} == {Commitment.Status.CANCELLED}
    assert money.Kind.DECOMMITMENT in set(LedgerEntry.objects.filter(budget=dp).values_list("kind", flat=True))
