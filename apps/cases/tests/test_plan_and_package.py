"""Health check, the practice-owned plan, and the package builder: pricing, group shares, eligibility, approval."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from apps.cases import services
from apps.cases.config import questionnaire
from apps.cases.models import HealthCheck, Package, PlanChange, Status, SupportOffer
from apps.practices.models import Practice, PracticeStatus

from .conftest import budget_for, plan_goals, this_year

pytestmark = pytest.mark.django_db


def test_health_check_scores_areas_with_reversed_questions():
    q = questionnaire()
    best = {qu.id: (1 if qu.reverse else 5) for qu in q.questions.values()}
    worst = {qu.id: (5 if qu.reverse else 1) for qu in q.questions.values()}
    assert services.score_answers(best)[1] == 100.0
    assert services.score_answers(worst)[1] == 0.0


def test_a_health_check_cannot_be_submitted_half_done_but_can_be_saved(personas, triaged_x):
    px = personas["practice_x"]
    first = next(iter(questionnaire().questions))
    with pytest.raises(services.CaseError, match="not answered"):
        services.save_health_check(px, triaged_x, {first: "4"}, submit=True)
    hc = services.save_health_check(px, triaged_x, {first: "4"}, submit=False)
    assert hc.submitted_at is None and hc.answers == {first: 4}
    with pytest.raises(services.CaseError, match="1–5 scale"):
        services.save_health_check(px, triaged_x, {first: "9"}, submit=False)


def test_a_submitted_health_check_is_benchmarked_against_others(personas, triaged_x):
    answers = {qid: "3" for qid in questionnaire().questions}
    hc = services.save_health_check(personas["practice_x"], triaged_x, answers, submit=True)
    bench = services.benchmark(hc)
    others = HealthCheck.objects.filter(submitted_at__isnull=False).exclude(pk=hc.pk).count()
    assert others > 0 and all(n == others for _, n in bench.values())
    assert all(0 <= pct <= 100 for pct, _ in bench.values())


def test_plan_changes_are_recorded_and_only_the_practice_agrees(personas, triaged_x):
    services.save_plan(personas["icb_a"], triaged_x, plan_goals())
    change = PlanChange.objects.get(plan__case=triaged_x)
    assert change.by == personas["icb_a"] and "+ Fill the GP vacancy" in change.summary
    with pytest.raises(services.CaseError, match="practice agrees"):
        services.agree_plan(personas["icb_a"], triaged_x)
    plan = services.agree_plan(personas["practice_x"], triaged_x)
    assert plan.is_agreed and plan.agreed_by == personas["practice_x"]
    triaged_x.refresh_from_db()
    assert triaged_x.status == Status.PLAN_AGREED


def test_the_plan_form_reports_a_bad_date_and_keeps_the_rows(client_for, triaged_x):
    url = reverse("cases:plan", args=[triaged_x.pk])
    data = {
        "rows": "8",
        "goal-0": "Stabilise",
        "area-0": "workforce",
        "action-0": "Hire",
        "owner-0": "PM",
        "due-0": "next week",
    }
    response = client_for("practice_x").post(url, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Row 1: the due date must be a date" in html and 'value="Stabilise"' in html


def test_a_package_is_priced_from_the_menu(personas, triaged_x):
    starts, ends = this_year()
    pkg = services.build_package(
        personas["icb_a"],
        triaged_x,
        [services.LineInput("gprp-coaching", 6), services.LineInput("gpdp-reception-training", 1)],
        [],
        starts,
        ends,
    )
    coaching = SupportOffer.objects.get(code="gprp-coaching")
    patients = triaged_x.practice.list_size
    assert pkg.total_pence == 6 * coaching.unit_cost_pence + patients * 18
    assert pkg.practices.get().share_pence == pkg.total_pence


def test_eligibility_rules_are_enforced(personas, triaged_x):
    starts, ends = this_year()
    icb = personas["icb_a"]
    with pytest.raises(services.CaseError, match="only for cases triaged with high impact"):
        services.build_package(icb, triaged_x, [services.LineInput("gprp-rapid-intervention", 2)], [], starts, ends)
    with pytest.raises(services.CaseError, match="between 1 and 12"):
        services.build_package(icb, triaged_x, [services.LineInput("gprp-coaching", 13)], [], starts, ends)
    with pytest.raises(services.CaseError, match="year-bound"):
        services.build_package(
            icb, triaged_x, [services.LineInput("gprp-coaching", 1)], [], date(2027, 1, 1), date(2027, 5, 1)
        )
    assert not Package.objects.filter(case=triaged_x).exists()


def _neighbours(case, n):
    return list(
        Practice.objects.filter(icb_id=case.icb_id, status=PracticeStatus.ACTIVE)
        .exclude(pk=case.practice_id)
        .order_by("code")[:n]
    )


def test_a_group_package_splits_the_cost_by_share_without_losing_a_penny(personas, triaged_x):
    starts, ends = this_year()
    a, b = _neighbours(triaged_x, 2)
    shares = [(triaged_x.practice.code, 3334), (a.code, 3333), (b.code, 3333)]
    pkg = services.build_package(
        personas["icb_a"], triaged_x, [services.LineInput("gprp-change-management", 7)], shares, starts, ends
    )
    parts = list(pkg.practices.values_list("share_pence", flat=True))
    assert sum(parts) == pkg.total_pence and len(parts) == 3


def test_a_single_practice_offer_cannot_be_shared_by_a_group(personas, triaged_x):
    starts, ends = this_year()
    (a,) = _neighbours(triaged_x, 1)
    with pytest.raises(services.CaseError, match="for one practice"):
        services.build_package(
            personas["icb_a"],
            triaged_x,
            [services.LineInput("gprp-coaching", 2)],
            [(triaged_x.practice.code, 5000), (a.code, 5000)],
            starts,
            ends,
        )


def test_a_group_package_cannot_reach_into_another_icb(personas, triaged_x):
    starts, ends = this_year()
    other = personas["practice_y"].practice
    with pytest.raises(services.CaseError, match="another ICB"):
        services.build_package(
            personas["icb_a"],
            triaged_x,
            [services.LineInput("gprp-hr-advice", 2)],
            [(triaged_x.practice.code, 5000), (other.code, 5000)],
            starts,
            ends,
        )


def test_approval_needs_an_agreed_plan(personas, triaged_x):
    starts, ends = this_year()
    pkg = services.build_package(
        personas["icb_a"], triaged_x, [services.LineInput("gprp-coaching", 2)], [], starts, ends
    )
    services.submit_package(personas["icb_a"], pkg)
    with pytest.raises(services.CaseError, match="not agreed"):
        services.approve_package(personas["icb_a"], pkg, "", budget_for(triaged_x))


def test_approval_moves_the_case_and_sets_the_six_monthly_review(personas, agreed_x):
    starts, ends = this_year()
    pkg = services.build_package(
        personas["practice_x"], agreed_x, [services.LineInput("gprp-coaching", 2)], [], starts, ends
    )
    services.submit_package(personas["practice_x"], pkg)
    with pytest.raises(services.CaseError, match="ICB team"):
        services.approve_package(personas["practice_x"], pkg, "", budget_for(agreed_x))
    services.approve_package(personas["icb_a"], pkg, "ok", budget_for(agreed_x))
    agreed_x.refresh_from_db()
    pkg.refresh_from_db()
    assert agreed_x.status == Status.APPROVED and agreed_x.review_due is not None
    assert pkg.state == Package.State.APPROVED and pkg.decided_by == personas["icb_a"]


def test_refusing_needs_a_note_for_the_practice(personas, agreed_x):
    starts, ends = this_year()
    pkg = services.build_package(
        personas["icb_a"], agreed_x, [services.LineInput("gprp-coaching", 2)], [], starts, ends
    )
    services.submit_package(personas["icb_a"], pkg)
    with pytest.raises(services.CaseError, match="Say why"):
        services.refuse_package(personas["icb_a"], pkg, "")
    services.refuse_package(personas["icb_a"], pkg, "Ask the PCN first")
    pkg.refresh_from_db()
    assert pkg.state == Package.State.REFUSED


def test_the_package_builder_page_prices_and_reports_bad_units(client_for, triaged_x):
    client = client_for("icb_a")
    url = reverse("cases:package", args=[triaged_x.pk])
    starts, ends = this_year()
    response = client.post(
        url, {"starts": starts.isoformat(), "ends": ends.isoformat(), "units-gprp-coaching": "two", "action": "price"}
    )
    assert response.status_code == 400 and "whole number" in response.content.decode()
    response = client.post(
        url, {"starts": starts.isoformat(), "ends": ends.isoformat(), "units-gprp-coaching": "2", "action": "price"}
    )
    assert response.status_code == 302
    assert "£500.00" in client.get(url).content.decode()


def test_the_package_builder_can_start_from_the_ripple_group_suggestion(client_for, triaged_x):
    from apps.targeting.services import suggest_group_package

    suggestion = suggest_group_package(triaged_x.practice.code)
    html = client_for("icb_a").get(reverse("cases:package", args=[triaged_x.pk]) + "?suggest=1").content.decode()
    for line in suggestion.lines:
        assert f'name="units-{line.offer_code}" inputmode="numeric" value="{line.units}"' in html
    for member in suggestion.members:
        if member.code != triaged_x.practice.code:
            assert member.code in html.split('id="group"')[1].split("</textarea>")[0]


def test_approval_commits_the_money_and_is_refused_when_the_budget_cannot_cover_it(personas, agreed_x):
    from apps.funding.models import Commitment

    starts, ends = this_year()
    pkg = services.build_package(
        personas["icb_a"], agreed_x, [services.LineInput("gprp-coaching", 2)], [], starts, ends
    )
    services.submit_package(personas["icb_a"], pkg)
    with pytest.raises(services.CaseError, match="Choose the budget"):
        services.approve_package(personas["icb_a"], pkg, "ok", None)
    budget = budget_for(agreed_x)
    budget.headroom_before = budget.headroom_pence
    services.approve_package(personas["icb_a"], pkg, "ok", budget)
    commitment = Commitment.objects.get(reference=pkg.ref)
    assert commitment.amount_pence == pkg.total_pence == 50000
    from apps.funding import services as funding

    after = next(b for b in funding.budgets_for(agreed_x.icb) if b.pk == budget.pk)
    assert after.headroom_pence == budget.headroom_before - 50000


def test_a_package_larger_than_the_headroom_is_refused_saying_how_much_is_missing(personas, agreed_x):
    from apps.funding import services as funding

    starts, ends = this_year()
    budget = budget_for(agreed_x)
    units = 100
    pkg = services.build_package(
        personas["icb_a"], agreed_x, [services.LineInput("gprp-workforce", units)], [], starts, ends
    )
    services.submit_package(personas["icb_a"], pkg)
    # use up the headroom first, leaving less than the package needs
    spare = budget.headroom_pence - pkg.total_pence + 100
    if spare > 0:
        funding.commit_funds(
            budget=budget,
            amount_pence=spare,
            reference="TEST-FILL",
            user=personas["icb_a"],
            recipients=[(agreed_x.practice.code, spare)],
            offers={"gprp-coaching": spare},
        )
    with pytest.raises(services.CaseError, match=r"£1\.00 short"):
        services.approve_package(personas["icb_a"], pkg, "ok", budget)
    agreed_x.refresh_from_db()
    assert agreed_x.status == Status.PLAN_AGREED


def test_withdrawing_an_approved_case_releases_the_unspent_money(personas, agreed_x):
    from apps.funding.models import Commitment

    starts, ends = this_year()
    pkg = services.build_package(
        personas["icb_a"], agreed_x, [services.LineInput("gprp-coaching", 2)], [], starts, ends
    )
    services.submit_package(personas["icb_a"], pkg)
    services.approve_package(personas["icb_a"], pkg, "ok", budget_for(agreed_x))
    with pytest.raises(services.CaseError, match="is for ICB"):
        services.change_status(personas["practice_x"], agreed_x, Status.WITHDRAWN, "We no longer need it")
    services.change_status(personas["icb_a"], agreed_x, Status.WITHDRAWN, "Practice merged with a neighbour")
    assert Commitment.objects.get(reference=pkg.ref).status == Commitment.Status.CANCELLED
