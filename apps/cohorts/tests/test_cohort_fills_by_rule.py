"""Issue 17's "Done when": a cohort of a universal offer fills from expressions of interest with a waiting list, by
the programme's rule — first come, ICB quotas, priority to higher pressure — and accepting a place commits its cost
to the line, declining or withdrawing offers the place on (withdrawing releases the commitment)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from analytics.money import Kind
from apps.cohorts import services
from apps.cohorts.models import AttendeeRole, Cohort, Interest, Rule
from apps.cohorts.tests.conftest import practice_user, practices_of
from apps.funding.models import Budget, Commitment, FundingLine, LedgerEntry
from apps.funding.services import InsufficientFunds
from apps.indicators.models import PracticeScore
from apps.indicators.scoring_runs import current_run
from apps.practices.models import Practice

pytestmark = pytest.mark.django_db
PM = AttendeeRole.PRACTICE_MANAGER


def _express(user: Any, cohort: Cohort, practices: list[Practice]) -> list[Interest]:
    return [services.express_interest(user, cohort, p, f"Manager of {p.code}", PM) for p in practices]


def _states(cohort: Cohort) -> dict[str, str]:
    return {i.practice.code: i.state for i in cohort.interests.select_related("practice")}


def _waiting(cohort: Cohort) -> list[str]:
    return [i.practice.code for i in services.waiting_list(cohort)]


def _headroom(line: FundingLine, cohort: Cohort, icb_id: int) -> int:
    return Budget.objects.get(line=line, fy=cohort.fy, icb_id=icb_id).balance().headroom


def test_first_come_offers_the_earliest_and_the_rest_wait_in_order(
    personas: dict[str, Any], make_cohort: Callable[..., Cohort], line: FundingLine
) -> None:
    icb = personas["icb_a"]
    cohort = make_cohort(icb, places=2, rule=Rule.FIRST_COME)
    p1, p2, p3, p4 = practices_of(icb.icb, 4)
    _express(icb, cohort, [p1, p2, p3, p4])

    offered = services.allocate(icb, cohort)

    assert [i.practice.code for i in offered] == [p1.code, p2.code]
    assert _waiting(cohort) == [p3.code, p4.code]
    cohort.refresh_from_db()
    assert cohort.status == Cohort.Status.ALLOCATED and cohort.allocated_by == icb

    # Accepting commits the place's cost to the ICB's budget of the universal line, naming practice and offer.
    before = _headroom(line, cohort, icb.icb_id)
    accepted = services.accept(practice_user(p1), Interest.objects.get(cohort=cohort, practice=p1))
    assert accepted.commitment is not None and accepted.commitment.amount_pence == 150_000
    assert accepted.commitment.budget.line == line and accepted.commitment.budget.icb_id == icb.icb_id
    entry = LedgerEntry.objects.get(commitment=accepted.commitment)
    assert (entry.kind, entry.practice_code, entry.offer_code) == (Kind.COMMITMENT, p1.code, "gpdp-pm-development")
    assert _headroom(line, cohort, icb.icb_id) == before - 150_000

    # Declining offers the place to the next on the waiting list.
    services.decline(practice_user(p2), Interest.objects.get(cohort=cohort, practice=p2))
    assert _states(cohort) == {p1.code: "accepted", p2.code: "declined", p3.code: "offered", p4.code: "waiting"}

    # Withdrawing releases the commitment (a de-commitment in the ledger) and offers the place on.
    services.withdraw(practice_user(p1), accepted, "Our practice manager has left the practice")
    commitment = Commitment.objects.get(pk=accepted.commitment.pk)
    assert commitment.status == Commitment.Status.CANCELLED
    assert LedgerEntry.objects.filter(commitment=commitment, kind=Kind.DECOMMITMENT, amount_pence=-150_000).exists()
    assert _headroom(line, cohort, icb.icb_id) == before
    assert _states(cohort) == {p1.code: "withdrawn", p2.code: "declined", p3.code: "offered", p4.code: "offered"}
    assert _waiting(cohort) == []
    steps = list(Interest.objects.get(cohort=cohort, practice=p1).events.values_list("step", flat=True))
    assert steps == ["expressed", "offered", "accepted", "withdrawn"]


def test_quotas_keep_places_for_each_icb_then_first_come(
    personas: dict[str, Any], make_cohort: Callable[..., Cohort], line: FundingLine
) -> None:
    icb_a, icb_b = personas["icb_a"], personas["icb_b"]
    a, b = icb_a.icb.code, icb_b.icb.code
    cohort = make_cohort(personas["national"], places=3, rule=Rule.QUOTAS, quotas={a: 1, b: 1})
    a1, a2, a3 = practices_of(icb_a.icb, 3)
    b1, b2 = practices_of(icb_b.icb, 2)
    _express(icb_a, cohort, [a1, a2, a3])
    _express(icb_b, cohort, [b1])  # last to come, but ICB B's quota keeps it a place

    offered = services.allocate(personas["national"], cohort)

    assert sorted(i.practice.code for i in offered) == sorted([a1.code, b1.code, a2.code])
    assert _waiting(cohort) == [a3.code]
    # A late interest from ICB B waits behind A3 while B's quota is filled...
    _express(icb_b, cohort, [b2])
    assert _waiting(cohort) == [a3.code, b2.code]
    # ...and goes first when B's place comes free: the quota is ICB B's.
    services.decline(practice_user(b1), Interest.objects.get(cohort=cohort, practice=b1))
    assert _states(cohort)[b2.code] == "offered" and _waiting(cohort) == [a3.code]
    # A national cohort's place is paid from the practice's own ICB budget of the line.
    place = services.accept(practice_user(b2), Interest.objects.get(cohort=cohort, practice=b2))
    assert place.commitment is not None and place.commitment.budget.icb_id == icb_b.icb_id


def test_priority_to_higher_pressure_orders_places_and_waiting_list_by_current_score(
    personas: dict[str, Any], make_cohort: Callable[..., Cohort]
) -> None:
    icb = personas["icb_a"]
    run = current_run()
    assert run is not None
    scored = list(
        PracticeScore.objects.filter(run=run, icb=icb.icb, composite__isnull=False)
        .exclude(practice=personas["practice_x"].practice)
        .order_by("practice__code")[:5]
        .values_list("practice_id", "composite")
    )
    practices = [Practice.objects.get(pk=pk) for pk, _ in scored]
    by_pressure = [p.code for p, (_, c) in sorted(zip(practices, scored, strict=True), key=lambda t: -t[1][1])]
    cohort = make_cohort(icb, places=2, rule=Rule.PRESSURE)
    _express(icb, cohort, practices)  # in code order: the rule, not the order of arrival, decides

    offered = services.allocate(icb, cohort)

    assert [i.practice.code for i in offered] == by_pressure[:2]
    assert _waiting(cohort) == by_pressure[2:]
    top = Interest.objects.get(cohort=cohort, practice__code=by_pressure[0])
    assert top.pressure == max(c for _, c in scored)
    assert "pressure score" in top.events.get(step="offered").note


def test_accepting_a_place_the_budget_cannot_carry_is_refused_naming_line_and_budget(
    personas: dict[str, Any], make_cohort: Callable[..., Cohort], line: FundingLine
) -> None:
    icb = personas["icb_a"]
    cohort = make_cohort(icb, places=1, cost_per_place_pence=2_000_000_000)  # £20m a place
    (p1,) = practices_of(icb.icb, 1)
    _express(icb, cohort, [p1])
    services.allocate(icb, cohort)
    interest = Interest.objects.get(cohort=cohort)
    with pytest.raises(InsufficientFunds) as refused:
        services.accept(practice_user(p1), interest)
    assert str(line) in refused.value.message and icb.icb.short_name in refused.value.message
    interest.refresh_from_db()
    assert interest.state == Interest.State.OFFERED and interest.commitment is None
    assert not Commitment.objects.filter(reference__startswith=f"COHORT-{cohort.pk}-").exists()


def test_a_place_is_not_committed_once_the_line_no_longer_funds_the_offer(
    personas: dict[str, Any], make_cohort: Callable[..., Cohort], line: FundingLine
) -> None:
    icb = personas["icb_a"]
    cohort = make_cohort(icb, places=1)
    (p1,) = practices_of(icb.icb, 1)
    _express(icb, cohort, [p1])
    services.allocate(icb, cohort)
    FundingLine.objects.filter(pk=line.pk).update(offer_codes=["gpdp-reception-training"])
    with pytest.raises(services.CohortError, match="no longer funds"):
        services.accept(practice_user(p1), Interest.objects.get(cohort=cohort))
    assert not Commitment.objects.filter(reference__startswith=f"COHORT-{cohort.pk}-").exists()
