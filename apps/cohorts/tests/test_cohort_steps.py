"""Creating a cohort, expressing interest, attendance and the automatic allocation: refusals in words, nothing
written when refused, and who may take each step."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from analytics import money
from apps.cohorts import policy, services
from apps.cohorts.models import AttendeeRole, Cohort, Interest, Rule
from apps.cohorts.tests.conftest import practice_user, practices_of
from apps.funding.models import FundingLine
from apps.practices.models import Practice

pytestmark = pytest.mark.django_db
PM = AttendeeRole.PRACTICE_MANAGER


def test_a_targeted_line_or_one_that_does_not_fund_the_offer_is_refused_with_every_problem(
    personas: dict[str, Any], make_cohort: Callable[..., Cohort]
) -> None:
    targeted = FundingLine.objects.exclude(access="universal").first()
    assert targeted is not None
    with pytest.raises(services.CohortError) as refused:
        make_cohort(personas["icb_a"], line_id=targeted.pk, places=0, title=" ")
    errors = refused.value.as_errors()
    assert "targeted line" in errors["line"] and "places" in errors and "title" in errors
    with pytest.raises(services.CohortError, match="does not fund Online consultation"):
        make_cohort(personas["icb_a"], offer_code="gpdp-online-consultation")
    assert not Cohort.objects.exists()


def test_quotas_must_fit_the_places_and_belong_to_the_quotas_rule(
    personas: dict[str, Any], make_cohort: Callable[..., Cohort]
) -> None:
    a, b = personas["icb_a"].icb.code, personas["icb_b"].icb.code
    with pytest.raises(services.CohortError, match="quotas add up to 5, more than the 2 places"):
        make_cohort(personas["national"], rule=Rule.QUOTAS, quotas={a: 3, b: 2})
    with pytest.raises(services.CohortError, match="only by the quotas rule"):
        make_cohort(personas["national"], quotas={a: 1})
    with pytest.raises(services.CohortError, match="Unknown ICB codes: ZZZ"):
        make_cohort(personas["national"], eligible_icbs=("ZZZ",))


def test_dates_are_checked(personas: dict[str, Any], make_cohort: Callable[..., Cohort]) -> None:
    today = timezone.localdate()
    with pytest.raises(services.CohortError) as refused:
        make_cohort(personas["icb_a"], closes_on=today - timedelta(days=1), ends_on=today)
    errors = refused.value.as_errors()
    assert "past" in errors["closes_on"] and "end on or after" in errors["ends_on"]


def test_only_icb_and_national_teams_create_cohorts(
    personas: dict[str, Any], make_cohort: Callable[..., Cohort]
) -> None:
    for name in ("practice_x", "provider", "lmc"):
        with pytest.raises(PermissionDenied):
            make_cohort(personas[name])
    assert make_cohort(personas["national"]).is_national
    assert make_cohort(personas["icb_a"]).icb_id == personas["icb_a"].icb_id


def test_interest_is_for_eligible_practices_once_and_for_practice_managers_when_so_limited(
    personas: dict[str, Any], make_cohort: Callable[..., Cohort]
) -> None:
    cohort = make_cohort(personas["icb_a"], practice_managers_only=True)
    px, py = personas["practice_x"], personas["practice_y"]
    with pytest.raises(services.CohortError, match="for practice managers"):
        services.express_interest(px, cohort, px.practice, "Sam Partner", AttendeeRole.GP)
    with pytest.raises(services.CohortError, match="for practices in"):
        services.express_interest(py, cohort, py.practice, "Pat Manager", PM)
    with pytest.raises(PermissionDenied):
        services.express_interest(px, cohort, py.practice, "Pat Manager", PM)
    made = services.express_interest(px, cohort, px.practice, "Pat Manager", PM, "Time to plan the rota")
    assert made.state == Interest.State.WAITING and made.expressed_by == px
    with pytest.raises(services.CohortError, match="already expressed interest"):
        services.express_interest(personas["icb_a"], cohort, px.practice, "Pat Manager", PM)
    assert cohort.interests.count() == 1


def test_a_late_interest_takes_a_free_place_at_once(
    personas: dict[str, Any], make_cohort: Callable[..., Cohort]
) -> None:
    icb = personas["icb_a"]
    cohort = make_cohort(icb, places=3)
    p1, p2 = practices_of(icb.icb, 2)
    services.express_interest(icb, cohort, p1, "A", PM)
    services.allocate(icb, cohort)
    late = services.express_interest(icb, cohort, p2, "B", PM)
    assert late.state == Interest.State.OFFERED


def test_allocation_is_the_running_teams_and_happens_once(
    personas: dict[str, Any], make_cohort: Callable[..., Cohort]
) -> None:
    icb = personas["icb_a"]
    cohort = make_cohort(icb)
    with pytest.raises(services.CohortError, match="Nobody has expressed interest"):
        services.allocate(icb, cohort)
    services.express_interest(icb, cohort, practices_of(icb.icb, 1)[0], "A", PM)
    for name in ("icb_b", "national", "practice_x", "provider"):
        with pytest.raises(PermissionDenied):
            services.allocate(personas[name], cohort)
    services.allocate(icb, cohort)
    with pytest.raises(services.CohortError, match="already allocated"):
        services.allocate(icb, cohort)


def test_cohorts_past_their_closing_date_are_allocated_automatically(
    personas: dict[str, Any], make_cohort: Callable[..., Cohort]
) -> None:
    icb = personas["icb_a"]
    cohort = make_cohort(icb)
    empty = make_cohort(icb, title="Nobody came")
    services.express_interest(icb, cohort, practices_of(icb.icb, 1)[0], "A", PM)
    assert services.allocate_due(cohort.closes_on) == 0  # not yet past
    assert services.allocate_due(cohort.closes_on + timedelta(days=1)) == 1
    cohort.refresh_from_db()
    empty.refresh_from_db()
    assert cohort.status == Cohort.Status.ALLOCATED and cohort.allocated_by is None
    assert empty.status == Cohort.Status.OPEN
    assert cohort.interests.get().events.get(step="offered").by is None


def test_attendance_is_recorded_by_the_provider_on_accepted_places_once_started(
    personas: dict[str, Any], make_cohort: Callable[..., Cohort]
) -> None:
    icb = personas["icb_a"]
    cohort = make_cohort(icb)
    (p1,) = practices_of(icb.icb, 1)
    services.express_interest(icb, cohort, p1, "A", PM)
    services.allocate(icb, cohort)
    place = services.accept(practice_user(p1), cohort.interests.get())
    with pytest.raises(services.CohortError, match="record attendance from then"):
        services.record_attendance(personas["provider"], place, True, True)
    Cohort.objects.filter(pk=cohort.pk).update(starts_on=timezone.localdate())
    place = Interest.objects.get(pk=place.pk)
    with pytest.raises(PermissionDenied):
        services.record_attendance(personas["provider_b"], place, True, True)
    with pytest.raises(services.CohortError, match="did not attend"):
        services.record_attendance(personas["provider"], place, False, True)
    services.record_attendance(personas["provider"], place, True, True)
    place.refresh_from_db()
    assert place.attended and place.completed
    with pytest.raises(services.CohortError, match="cannot be withdrawn"):
        services.withdraw(practice_user(p1), place, "Changed our minds about it")


def test_the_national_team_sees_no_practice_rows_and_an_icb_only_its_own_in_a_national_cohort(
    personas: dict[str, Any], make_cohort: Callable[..., Cohort]
) -> None:
    cohort = make_cohort(personas["national"])
    a1: Practice = practices_of(personas["icb_a"].icb, 1)[0]
    b1: Practice = practices_of(personas["icb_b"].icb, 1)[0]
    services.express_interest(personas["icb_a"], cohort, a1, "A", PM)
    services.express_interest(personas["icb_b"], cohort, b1, "B", PM)
    assert not policy.interests_visible_to(personas["national"], cohort).exists()
    assert [i.practice_id for i in policy.interests_visible_to(personas["icb_a"], cohort)] == [a1.pk]
    assert not policy.interests_visible_to(personas["lmc"], cohort).exists()
    assert cohort.fy == money.financial_year_of(cohort.starts_on)


def test_waiting_for_me_lists_the_offer_to_answer_the_cohort_to_allocate_and_the_attendance_to_record(
    personas: dict[str, Any], make_cohort: Callable[..., Cohort]
) -> None:
    from apps.cases.services.waiting import waiting_for
    from apps.cohorts import waiting

    icb = personas["icb_a"]
    cohort = make_cohort(icb)
    (p1,) = practices_of(icb.icb, 1)
    services.express_interest(icb, cohort, p1, "A", PM)
    assert not [w for w in waiting_for(icb) if w.step == waiting.ALLOCATE]  # interest still open
    Cohort.objects.filter(pk=cohort.pk).update(closes_on=timezone.localdate())
    assert [w.title for w in waiting_for(icb) if w.step == waiting.ALLOCATE] == [cohort.title]
    assert not [w for w in waiting_for(personas["icb_b"]) if w.step == waiting.ALLOCATE]
    services.allocate(icb, cohort)
    user = practice_user(p1)
    assert [w.step for w in waiting_for(user) if w.step.startswith("cohort")] == [waiting.ANSWER]
    services.accept(user, cohort.interests.get())
    assert not [w for w in waiting_for(user) if w.step.startswith("cohort")]
    Cohort.objects.filter(pk=cohort.pk).update(starts_on=timezone.localdate())
    assert [w.step for w in waiting_for(personas["provider"]) if w.step.startswith("cohort")] == [waiting.ATTENDANCE]
    assert not [w for w in waiting_for(personas["provider_b"]) if w.step.startswith("cohort")]


def test_the_scheduled_task_allocates_closed_cohorts(
    personas: dict[str, Any], make_cohort: Callable[..., Cohort]
) -> None:
    from apps.cohorts.tasks import allocate_closed_cohorts

    icb = personas["icb_a"]
    cohort = make_cohort(icb)
    services.express_interest(icb, cohort, practices_of(icb.icb, 1)[0], "A", PM)
    Cohort.objects.filter(pk=cohort.pk).update(closes_on=timezone.localdate() - timedelta(days=1))
    result = allocate_closed_cohorts.enqueue()
    assert result.return_value == {"allocated": 1}
    cohort.refresh_from_db()
    assert cohort.status == Cohort.Status.ALLOCATED


def test_a_national_cohort_to_allocate_waits_for_the_national_team_and_no_one_else(
    personas: dict[str, Any], make_cohort: Callable[..., Cohort]
) -> None:
    from apps.cases.services.waiting import waiting_for
    from apps.cohorts import waiting

    national = personas["national"]
    cohort = make_cohort(national)  # no ICB: a national cohort, which the national team allocates
    assert cohort.icb_id is None
    icb = personas["icb_a"]
    services.express_interest(icb, cohort, practices_of(icb.icb, 1)[0], "A", PM)
    assert not [w for w in waiting_for(national) if w.step == waiting.ALLOCATE]  # interest still open
    Cohort.objects.filter(pk=cohort.pk).update(closes_on=timezone.localdate())
    assert [(w.title, w.href) for w in waiting_for(national) if w.step == waiting.ALLOCATE] == [
        (cohort.title, f"/cohorts/{cohort.pk}/allocate/")
    ]
    for name in ("icb_a", "icb_b", "lmc", "provider"):  # they may see the cohort; only national runs it
        assert not [w for w in waiting_for(personas[name]) if w.step == waiting.ALLOCATE], name
    assert not [w for w in waiting_for(national) if w.case is not None]  # national acts on no case
    services.allocate(national, cohort)
    assert not [w for w in waiting_for(national) if w.step == waiting.ALLOCATE]
