"""The lifecycle: legal moves only, each attributed in the timeline; ended cases are final; overdue steps show."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.cases import lifecycle, services
from apps.cases.models import Case, CaseEvent, Status, Triage

from .conftest import budget_for, plan_goals

pytestmark = pytest.mark.django_db


def test_every_status_but_the_ended_ones_can_be_left():
    for status in Status:
        moves = [t for t in lifecycle.TRANSITIONS if t.source == status and t.target != status]
        assert bool(moves) == (status not in lifecycle.ENDED), status


def test_an_illegal_move_is_refused_with_the_allowed_next_steps(personas, case_x):
    with pytest.raises(services.CaseError, match=r"cannot move to in delivery\. Next: triaged"):
        services.change_status(personas["icb_a"], case_x, Status.IN_DELIVERY)
    case_x.refresh_from_db()
    assert case_x.status == Status.REFERRED


def test_triage_happens_through_its_own_step_with_a_rationale(personas, case_x):
    with pytest.raises(services.CaseError, match="own step"):
        services.change_status(personas["icb_a"], case_x, Status.TRIAGED)
    with pytest.raises(services.CaseError, match="rationale"):
        services.triage(personas["icb_a"], case_x, "high", "high", "  ")
    t = services.triage(personas["icb_a"], case_x, "high", "high", "Single-handed GP retiring")
    case_x.refresh_from_db()
    assert case_x.status == Status.TRIAGED and (case_x.triage_scope, case_x.triage_impact) == ("high", "high")
    assert t.by == personas["icb_a"] and case_x.first_contact_at is not None


def test_a_practice_reaches_diagnosis_only_by_agreeing_its_plan():
    plain = lifecycle.find(Status.TRIAGED, Status.DIAGNOSIS)
    via_plan = lifecycle.find(Status.TRIAGED, Status.DIAGNOSIS, via="agree_plan")
    assert plain is not None and plain.via == "" and "icb" in plain.roles
    assert via_plan is not None and via_plan.via == "agree_plan" and via_plan.roles == {"practice"}
    with pytest.raises(lifecycle.IllegalTransition, match="is for ICB"):
        lifecycle.check(Status.TRIAGED, Status.DIAGNOSIS, "practice")
    assert lifecycle.check(Status.TRIAGED, Status.DIAGNOSIS, "practice", via="agree_plan") == via_plan
    assert all(t.label != via_plan.label for t in lifecycle.moves_for(Status.TRIAGED, "practice"))


def test_only_the_case_icb_triages(personas, case_x):
    for who in ("icb_b", "practice_x", "provider"):
        with pytest.raises(services.CaseError):
            services.triage(personas[who], case_x, "high", "high", "x")


def test_declining_needs_a_reason_and_ends_the_case(personas, triaged_x):
    with pytest.raises(services.CaseError, match="needs a reason"):
        services.change_status(personas["icb_a"], triaged_x, Status.DECLINED, "")
    services.change_status(personas["icb_a"], triaged_x, Status.DECLINED, "Support arranged by the PCN")
    triaged_x.refresh_from_db()
    with pytest.raises(services.CaseError, match="cannot change any more"):
        services.change_status(personas["icb_a"], triaged_x, Status.DIAGNOSIS)
    event = CaseEvent.objects.filter(case=triaged_x, to_status=Status.DECLINED).get()
    assert event.by == personas["icb_a"] and event.reason == "Support arranged by the PCN"


def test_the_practice_can_withdraw_and_a_new_referral_then_opens_a_new_case(personas, case_x, referral):
    services.change_status(personas["practice_x"], case_x, Status.WITHDRAWN, "We recruited a GP")
    new, created = services.refer(personas["practice_x"], case_x.practice, "self", referral)
    assert created and new.pk != case_x.pk


def test_history_rows_cannot_be_changed_or_deleted(personas, triaged_x):
    event = CaseEvent.objects.filter(case=triaged_x).first()
    event.summary = "rewritten"
    with pytest.raises(ValueError, match="history"):
        event.save()
    with pytest.raises(ValueError, match="history"):
        Triage.objects.filter(case=triaged_x).first().delete()


def test_a_full_walk_from_referral_to_closure_is_attributed_at_every_step(personas, agreed_x):
    icb, provider = personas["icb_a"], personas["provider"]
    from .conftest import this_year

    starts, ends = this_year()
    pkg = services.build_package(icb, agreed_x, [services.LineInput("gprp-coaching", 4)], [], starts, ends)
    services.submit_package(icb, pkg)
    services.approve_package(icb, pkg, "Panel approved", budget_for(agreed_x))
    services.assign_provider(icb, agreed_x, provider)
    services.change_status(provider, agreed_x, Status.IN_DELIVERY)
    services.change_status(icb, agreed_x, Status.REVIEW)
    services.change_status(icb, agreed_x, Status.CLOSED, "Stable for three months")
    statuses = list(
        CaseEvent.objects.filter(case=agreed_x, kind=CaseEvent.Kind.STATUS).values_list("to_status", flat=True)
    )
    assert statuses == [
        Status.TRIAGED,
        Status.DIAGNOSIS,
        Status.PLAN_AGREED,
        Status.APPROVED,
        Status.IN_DELIVERY,
        Status.REVIEW,
        Status.CLOSED,
    ]
    assert not CaseEvent.objects.filter(case=agreed_x, by__isnull=True).exists()


def test_overdue_contact_and_review_stand_out_in_the_queue(client_for, personas, case_x):
    then = timezone.now() - timedelta(days=35)
    Case.objects.filter(pk=case_x.pk).update(opened_at=then, first_contact_at=None)
    page = client_for("icb_a").get(reverse("cases:queue") + "?overdue=1").content.decode()
    assert case_x.ref in page and "No contact within 4 weeks" in page


def test_the_case_page_shows_the_timeline_and_only_the_moves_this_user_may_make(client_for, personas, triaged_x):
    page = client_for("practice_x").get(reverse("cases:detail", args=[triaged_x.pk])).content.decode()
    assert "Triaged" in page and "Workforce gap the menu can address" in page
    assert "Withdraw" in page and "Start diagnosis" not in page
    page = client_for("icb_a").get(reverse("cases:detail", args=[triaged_x.pk])).content.decode()
    assert "Start diagnosis" in page


def test_the_matrix_puts_each_open_case_in_its_cell(client_for, triaged_x):
    page = client_for("icb_a").get(reverse("cases:matrix")).content.decode()
    cell = page.split("app-matrix-high-medium")[1].split("</td>")[0]
    assert triaged_x.practice.display_name in cell


def test_the_move_page_refuses_a_missing_reason_without_changing_the_case(client_for, triaged_x):
    url = reverse("cases:move", args=[triaged_x.pk, "declined"])
    response = client_for("icb_a").post(url, {"reason": ""})
    assert response.status_code == 400 and "needs a reason" in response.content.decode()
    triaged_x.refresh_from_db()
    assert triaged_x.status == Status.TRIAGED


def test_editing_an_agreed_plan_sends_it_back_for_agreement(personas, agreed_x):
    goals = plan_goals()
    goals[0] = services.GoalInput(goals[0].area, "Fill two GP vacancies", goals[0].actions)
    services.save_plan(personas["icb_a"], agreed_x, goals)
    agreed_x.refresh_from_db()
    assert agreed_x.status == Status.DIAGNOSIS
    assert not agreed_x.plan.is_agreed and agreed_x.plan.version == 2
