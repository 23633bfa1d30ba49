"""Stage clocks (issue 16 §4): working days leave out weekends and England and Wales bank holidays; an urgent
referral is late after 2 working days, a routine one after 4 weeks; an ICB lead sets its own targets (audited, the
old value kept), and a breach shows on the case page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Role, TeamRole, User
from apps.cases import clocks, services
from apps.cases.models import ClockTarget, Route, Status
from apps.core.errors import DomainError
from apps.core.models import AuditRecord


def at_noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def test_every_listed_bank_holiday_is_a_weekday_and_the_list_covers_the_next_year():
    hol = clocks.holidays()
    assert all(d.weekday() < 5 for d in hol.days)
    assert hol.covered_until >= date(2027, 12, 31)
    assert date(2026, 12, 28) in hol.days  # Boxing Day 2026 is a Saturday: its substitute is Monday


def test_working_days_skip_weekends_and_bank_holidays():
    # Thursday 24 Dec 2026 + 2 working days: Fri 25 (Christmas), Sat, Sun, Mon 28 (substitute) are all out
    assert clocks.add_working_days(date(2026, 12, 24), 2) == date(2026, 12, 30)
    assert clocks.working_days_between(date(2026, 12, 24), date(2026, 12, 30)) == 2
    assert clocks.add_working_days(date(2026, 11, 6), 1) == date(2026, 11, 9)  # Friday → Monday
    assert clocks.working_days_between(date(2026, 11, 9), date(2026, 11, 9)) == 0


def test_working_days_between_agrees_with_adding_working_days():
    start = date(2025, 12, 1)
    for n in range(0, 60):
        assert clocks.working_days_between(start, clocks.add_working_days(start, n)) == n


def test_an_urgent_referral_is_late_after_two_working_days_and_a_routine_one_after_four_weeks():
    targets = {t.key: t.working_days for t in clocks.default_targets()}
    monday = at_noon(date(2026, 11, 2))
    urgent = clocks.clock_of(Status.REFERRED, "urgent", monday, monday, targets, date(2026, 11, 4))
    assert urgent is not None and urgent.due == date(2026, 11, 4) and not urgent.breached
    urgent = clocks.clock_of(Status.REFERRED, "urgent", monday, monday, targets, date(2026, 11, 5))
    assert urgent is not None and urgent.breached and urgent.days_late == 1
    routine = clocks.clock_of(Status.REFERRED, "routine", monday, monday, targets, date(2026, 11, 27))
    assert routine is not None and routine.due == date(2026, 11, 30) and not routine.breached


def test_every_open_stage_has_a_clock_and_ended_cases_have_none():
    targets = {t.key: t.working_days for t in clocks.default_targets()}
    now = timezone.now()
    for status in Status:
        clock = clocks.clock_of(status, "routine", now, now, targets, date.today())
        assert (clock is None) == (status in (Status.CLOSED, Status.DECLINED, Status.WITHDRAWN)), status
    assert all(t.source and t.rationale for t in clocks.default_targets())


@pytest.mark.django_db
def test_an_icb_lead_sets_its_own_target_as_a_new_audited_row(client_for, personas):
    icb = personas["icb_a"].icb
    client = client_for("icb_a")
    form = {t.key: str(t.working_days) for t in clocks.default_targets()} | {"triage_urgent": "3"}
    response = client.post(reverse("cases:clock_targets"), form)
    assert response.status_code == 302
    assert clocks.targets_for(icb.pk)["triage_urgent"] == 3
    assert clocks.targets_for(personas["icb_b"].icb_id)["triage_urgent"] == 2  # another ICB keeps the default
    row = ClockTarget.objects.get(icb=icb)
    assert row.set_by == personas["icb_a"]
    assert AuditRecord.objects.filter(model="cases.ClockTarget", object_pk=str(row.pk), action="create").exists()
    client.post(reverse("cases:clock_targets"), form | {"triage_urgent": "4"})
    assert list(ClockTarget.objects.filter(icb=icb).values_list("working_days", flat=True)) == [4, 3]
    assert "set to 3 working days" in client.get(reverse("cases:clock_targets")).content.decode()


@pytest.mark.django_db
def test_a_bad_target_is_refused_with_every_error_and_changes_nothing(client_for, personas):
    client = client_for("icb_a")
    form = {t.key: str(t.working_days) for t in clocks.default_targets()}
    response = client.post(reverse("cases:clock_targets"), form | {"triage_urgent": "0", "review": "ten"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'href="#triage_urgent"' in html and 'href="#review"' in html
    assert not ClockTarget.objects.exists()
    with pytest.raises(DomainError):
        clocks.set_target(personas["icb_a"].icb_id, "triage_urgent", 999, personas["icb_a"])


@pytest.mark.django_db
def test_only_the_team_lead_changes_targets_and_only_icb_teams_see_them(client_for, personas):
    member = User.objects.create_user(
        username="t-member", password="x-test-password-1", role=Role.ICB, icb=personas["icb_a"].icb,
        team_role=TeamRole.MEMBER,
    )  # fmt: skip
    client = client_for("icb_a")
    client.force_login(member)
    assert client.get(reverse("cases:clock_targets")).status_code == 200
    form = {t.key: str(t.working_days) for t in clocks.default_targets()} | {"triage_urgent": "5"}
    assert client.post(reverse("cases:clock_targets"), form).status_code == 403
    assert not ClockTarget.objects.exists()
    for name in ("national", "practice_x", "provider", "lmc"):
        assert client_for(name).get(reverse("cases:clock_targets")).status_code == 403


@pytest.mark.django_db
def test_a_breached_clock_shows_on_the_case_page(client_for, personas):
    px = personas["practice_x"]
    case, _ = services.refer(px, px.practice, Route.SELF, services.ReferralInput("Partners leaving.", urgency="urgent"))
    client = client_for("icb_a")
    assert "Past its stage clock" not in client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    type(case).objects.filter(pk=case.pk).update(opened_at=timezone.now() - timedelta(days=10))
    html = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "Past its stage clock" in html and "Triage an urgent referral" in html
    assert [b.case_id for b in clocks.breaches(type(case).objects.filter(pk=case.pk))] == [case.pk]
