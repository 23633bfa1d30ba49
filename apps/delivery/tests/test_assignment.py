"""Matching package lines to faculty: coverage, offers, accreditation, conflicts of interest and capacity."""

from __future__ import annotations

from datetime import datetime, time

import pytest
from django.utils import timezone

from apps.accounts.models import Role, User
from apps.cases.models import CaseEvent, Package
from apps.delivery import policy as access
from apps.delivery import services
from apps.delivery.models import Assignment, ConflictOfInterest, MemberRole, Session, Stage
from apps.delivery.tests.conftest import make_member

pytestmark = pytest.mark.django_db


def coaching_line(case):
    return case.packages.get(state=Package.State.APPROVED).lines.get(offer__code="gprp-coaching")


def test_assigning_a_line_lets_the_provider_see_the_case_and_is_on_the_timeline(personas, approved_x, coach):
    prov = personas["provider"]
    assert not access.cases_visible_to(prov).filter(pk=approved_x.pk).exists()
    a = services.assign_work(personas["icb_a"], coaching_line(approved_x), member=coach)
    assert a.hours == 12 and a.member == coach
    approved_x.refresh_from_db()
    assert approved_x.provider == prov
    assert access.cases_visible_to(prov).filter(pk=approved_x.pk).exists()
    assert CaseEvent.objects.filter(case=approved_x, summary__contains="assigned to Alex Coach").exists()


def test_a_second_coach_with_a_line_sees_the_case_and_an_unassigned_provider_does_not(personas, approved_x, coach, org):
    other = User.objects.create_user("t-coach-2", password="x-test-password-1", role=Role.PROVIDER)
    outsider = User.objects.create_user("t-coach-3", password="x-test-password-1", role=Role.PROVIDER)
    services.assign_work(personas["icb_a"], coaching_line(approved_x), member=coach)
    second = make_member(org, personas, user=other, name="Second Coach")
    services.assign_work(personas["icb_a"], coaching_line(approved_x), member=second)  # reassignment
    assert access.cases_visible_to(other).filter(pk=approved_x.pk).exists()
    assert not access.cases_visible_to(outsider).filter(pk=approved_x.pk).exists()
    assert Assignment.objects.filter(line=coaching_line(approved_x), ended_at__isnull=True).get().member == second


def test_assignment_is_refused_for_a_member_who_declared_an_interest_in_the_practice(personas, approved_x, coach):
    services.declare_conflict(personas["icb_a"], coach, "Partner in the practice", practice=approved_x.practice)
    with pytest.raises(services.DeliveryError, match=r"conflict of interest with .*Partner in the practice"):
        services.assign_work(personas["icb_a"], coaching_line(approved_x), member=coach)
    assert not Assignment.objects.filter(case=approved_x).exists()
    approved_x.refresh_from_db()
    assert approved_x.provider is None


def test_assignment_is_refused_for_an_interest_anywhere_in_the_practices_pcn(personas, approved_x, coach):
    pcn = approved_x.practice.pcn
    assert pcn is not None
    services.declare_conflict(personas["icb_a"], coach, "Clinical director of the PCN", pcn=pcn)
    with pytest.raises(services.DeliveryError, match="Clinical director of the PCN"):
        services.assign_work(personas["icb_a"], coaching_line(approved_x), member=coach)
    assert not Assignment.objects.filter(case=approved_x).exists()


def test_assignment_is_refused_when_the_coach_has_no_capacity_left_that_month(personas, approved_x, org):
    tight = make_member(org, personas, capacity=1, name="Busy Coach")
    with pytest.raises(services.DeliveryError, match=r"Busy Coach has 1\.0 of 1 hours a month free in .*needs"):
        services.assign_work(personas["icb_a"], coaching_line(approved_x), member=tight)
    assert not Assignment.objects.filter(case=approved_x).exists()


def test_capacity_counts_booked_sessions_outside_any_assignment(personas, approved_x, org):
    m = make_member(org, personas, capacity=15, name="Booked Coach")
    line = coaching_line(approved_x)
    per_month = services.line_hours(line) / len(services.months_between(line.package.starts, line.package.ends))
    assert services.refusals(m, line, services.line_hours(line)) == []
    # a booked coaching session in the package's first month uses most of that month's capacity. It was booked for
    # "now + 1 minute": in the last minute of 31 March that is April, outside the package's financial year, and no
    # month was over capacity (docs/testing.md, "Flakes fixed").
    Session.objects.create(
        practice=approved_x.practice,
        member=m,
        title="Coaching",
        starts_at=timezone.make_aware(datetime.combine(line.package.starts, time(12))),
        planned_hours=15 - per_month + 0.5,
        created_by=personas["icb_a"],
    )
    assert any("hours a month free" in r for r in services.refusals(m, line, services.line_hours(line)))


def test_a_member_not_covering_the_icb_or_not_delivering_the_offer_is_refused(personas, approved_x, org):
    m = make_member(org, personas, name="Elsewhere Coach")
    m.icbs.set([personas["icb_b"].icb])
    m.offers.clear()
    reasons = services.refusals(m, coaching_line(approved_x), 12)
    assert any("does not cover" in r for r in reasons) and any("does not deliver" in r for r in reasons)


def test_an_apprentice_before_supervised_practice_is_not_offered(personas, approved_x, org, coach):
    a = make_member(
        org, personas, name="New Apprentice", role=MemberRole.APPRENTICE, stage=Stage.FOUNDATION, supervisor=coach
    )
    assert any("not yet at supervised practice" in r for r in services.refusals(a, coaching_line(approved_x), 12))
    a.stage = Stage.SUPERVISED_PRACTICE
    a.save()
    assert services.refusals(a, coaching_line(approved_x), 12) == []


def test_candidates_list_eligible_members_first_with_reasons_for_the_rest(personas, approved_x, coach, org):
    blocked = make_member(org, personas, capacity=0, name="Aaron Full")
    cands = [c for c in services.candidates_for(coaching_line(approved_x)) if c.member.organisation == org]
    assert [c.member for c in cands] == [coach, blocked]
    assert cands[0].eligible and not cands[1].eligible


def test_only_the_cases_icb_team_assigns(personas, approved_x, coach):
    for who in ("icb_b", "practice_x", "provider", "national"):
        with pytest.raises(services.DeliveryError, match="ICB team"):
            services.assign_work(personas[who], coaching_line(approved_x), member=coach)


def test_lines_of_a_package_not_yet_approved_cannot_be_assigned(personas, approved_x, coach):
    line = coaching_line(approved_x)
    Package.objects.filter(pk=line.package_id).update(state=Package.State.SUBMITTED)
    with pytest.raises(services.DeliveryError, match="approved package"):
        services.assign_work(personas["icb_a"], line, member=coach)


def test_a_conflict_must_name_a_practice_or_a_pcn_and_say_what_it_is(personas, coach, approved_x):
    with pytest.raises(services.DeliveryError, match="either the practice or the PCN"):
        services.declare_conflict(personas["icb_a"], coach, "Partner")
    with pytest.raises(services.DeliveryError, match="Describe the interest"):
        services.declare_conflict(personas["icb_a"], coach, "x", practice=approved_x.practice)
    with pytest.raises(services.DeliveryError, match="member or by a faculty manager"):
        services.declare_conflict(personas["practice_x"], coach, "Partner there", practice=approved_x.practice)
    assert not ConflictOfInterest.objects.filter(member=coach).exists()


def test_the_case_delivery_page_explains_why_a_member_is_not_offered(client_for, personas, approved_x, coach, org):
    conflicted = make_member(org, personas, name="Conflicted Coach")
    services.declare_conflict(personas["icb_a"], conflicted, "Partner in the practice", practice=approved_x.practice)
    html = client_for("icb_a").get(f"/delivery/cases/{approved_x.pk}/").content.decode()
    assert "Alex Coach (Improvement coach" in html
    assert "Conflicted Coach has declared a conflict of interest" in html
    response = client_for("icb_a").post(
        f"/delivery/cases/{approved_x.pk}/", {"line": coaching_line(approved_x).pk, "who": f"m-{conflicted.pk}"}
    )
    assert response.status_code == 400 and "conflict of interest" in response.content.decode()
    assert not Assignment.objects.filter(case=approved_x).exists()
