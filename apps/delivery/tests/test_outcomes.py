"""Outcomes: baseline at approval, follow-ups when due, survey, hours released, RAG, and the programme page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.outcomes import ClosureBands, closure_bands, cqc_change, expected_closures
from apps.cases.models import PlanAction
from apps.delivery import outcomes
from apps.delivery.models import HoursReleased, OutcomeSnapshot, PackageRating, PracticeSurvey, SnapshotKind
from apps.delivery.services import DeliveryError

pytestmark = pytest.mark.django_db


def test_approving_a_package_takes_the_baseline_from_the_national_data_and_the_health_check(approved_x):
    base = approved_x.outcome_snapshots.get(kind=SnapshotKind.BASELINE)
    assert base.taken_by.username == "t-icb_a"
    assert "list_size" in base.indicators and "pressure_rank" in base.indicators
    assert base.periods["pressure_rank"].startswith("scoring run as of")


def test_a_follow_up_is_refused_until_it_is_due_then_taken_once(personas, approved_x):
    with pytest.raises(DeliveryError, match="not due until"):
        outcomes.take_snapshot(personas["icb_a"], approved_x, SnapshotKind.MONTH_6)
    OutcomeSnapshot.objects.filter(case=approved_x).update(taken_at=timezone.now() - timedelta(days=190))
    snap = outcomes.take_snapshot(personas["icb_a"], approved_x, SnapshotKind.MONTH_6)
    assert snap.indicators.keys() == approved_x.outcome_snapshots.get(kind="baseline").indicators.keys()
    with pytest.raises(DeliveryError, match="already been taken"):
        outcomes.take_snapshot(personas["icb_a"], approved_x, SnapshotKind.MONTH_6)
    with pytest.raises(DeliveryError, match="ICB team or its provider"):
        outcomes.take_snapshot(personas["practice_x"], approved_x, SnapshotKind.MONTH_12)


def test_the_survey_needs_every_answer_on_the_scale(personas, approved_x):
    px = personas["practice_x"]
    with pytest.raises(DeliveryError, match="1–5 scale"):
        outcomes.record_survey(px, approved_x, "baseline", {"workload": "3", "morale": "9"})
    assert not PracticeSurvey.objects.filter(case=approved_x).exists()
    s = outcomes.record_survey(
        px, approved_x, "baseline", {"workload": "2", "morale": "3", "access": "4", "sustainable": "3"}
    )
    assert s.mean == 3.0
    with pytest.raises(DeliveryError, match="practice answers"):
        outcomes.record_survey(personas["icb_a"], approved_x, "month_6", {})


@pytest.mark.parametrize(
    ("clinical", "admin", "start", "end", "method", "message"),
    [
        (0, 0, -30, -1, "Audit of appointments", "at least one above 0"),
        (-1, 5, -30, -1, "Audit of appointments", "between 0 and 10,000"),
        (5, 5, -1, -30, "Audit of appointments", "end after it starts"),
        (5, 5, -30, 5, "Audit of appointments", "not in advance"),
        (5, 5, -30, -1, "", "how the hours were measured"),
    ],
)
def test_bad_hours_released_are_refused_and_nothing_is_saved(
    personas, approved_x, clinical, admin, start, end, method, message
):
    action = PlanAction.objects.get(goal__plan__case=approved_x)
    today = timezone.localdate()
    with pytest.raises(DeliveryError, match=message):
        outcomes.record_hours_released(
            personas["icb_a"],
            approved_x,
            action,
            clinical,
            admin,
            today + timedelta(days=start),
            today + timedelta(days=end),
            method,
        )
    assert not HoursReleased.objects.filter(case=approved_x).exists()


def test_a_rag_rating_needs_a_reason_and_the_newest_is_current(personas, approved_x):
    pkg = approved_x.packages.get()
    with pytest.raises(DeliveryError, match="reason"):
        outcomes.rate_package(personas["icb_a"], pkg, "amber", "meh")
    outcomes.rate_package(personas["icb_a"], pkg, "amber", "Vacancy still open after two months.")
    outcomes.rate_package(personas["icb_a"], pkg, "green", "Salaried GP started; rota stable.")
    assert PackageRating.objects.filter(package=pkg).first().rag == "green"
    (row,) = outcomes.case_outcomes([approved_x])
    assert row.rag.rag == "green"


def test_programme_outcomes_add_up_hours_released_and_expected_closures(personas, approved_x):
    action = PlanAction.objects.get(goal__plan__case=approved_x)
    today = timezone.localdate()
    outcomes.record_hours_released(
        personas["practice_x"], approved_x, action, 10, 4, today - timedelta(days=30), today, "Before/after audit"
    )
    from apps.cases.models import Case

    result = outcomes.programme_outcomes(Case.objects.filter(pk=approved_x.pk))
    assert (result.practices_supported, result.clinical_released, result.admin_released) == (1, 10, 4)
    assert result.closures_observed == 0 and result.closures_expected is not None and result.closures_expected > 0


def test_the_national_outcomes_page_names_no_practice_and_the_icb_page_does(client_for, approved_x):
    name = approved_x.practice.display_name
    national = client_for("national").get("/delivery/outcomes/").content.decode()
    assert "aggregate only" in national and name not in national and approved_x.ref not in national
    assert name in client_for("icb_a").get("/delivery/outcomes/").content.decode()
    assert name not in client_for("icb_b").get("/delivery/outcomes/").content.decode()


def test_closure_bands_read_from_a_back_test_and_expected_closures_sum_the_band_rates():
    bt = {
        "horizon_months": 24,
        "cohorts": [
            {
                "n": 1000,
                "closures": 20,
                "methods": [{"method": "composite incl. CQC (as deployed)", "p5": 0.1, "p10": 0.07, "r10": 0.5}],
            }
        ],
    }
    bands = closure_bands(bt)
    assert bands.bands[0] == (0.05, 0.1)
    assert bands.bands[1][1] == pytest.approx(0.04)
    assert bands.bands[2][1] == pytest.approx(10 / 900)
    assert expected_closures([0.01, 0.07, 0.5, None], bands) == pytest.approx(0.1 + 0.04 + 2 * 10 / 900)
    assert ClosureBands(((1.0, 0.2),), 24).rate_for(None) == 0.2


def test_cqc_change_is_direction_aware_and_missing_is_unknown():
    assert cqc_change("Requires improvement", "Good") == 1
    assert cqc_change("Good", "Inadequate") == -1
    assert cqc_change("Good", "Good") == 0
    assert cqc_change(None, "Good") is None and cqc_change("Good", "Unrated") is None


def test_case_outcomes_page_shows_the_baseline_and_takes_a_survey(client_for, approved_x):
    url = f"/delivery/cases/{approved_x.pk}/outcomes/"
    assert "Baseline at approval" in client_for("icb_a").get(url).content.decode()
    response = client_for("practice_x").post(url, {"action": "survey", "kind": "baseline", "workload": "3"})
    assert response.status_code == 400 and "1–5 scale" in response.content.decode()
    assert client_for("practice_y").get(url).status_code == 404


def test_the_baseline_is_an_explicit_step_of_the_approval_not_a_hidden_signal():
    """A reader of ``approve_package`` finds the baseline in ``apps.cases.on_approval.STEPS``; no ``post_save`` receiver
    on ``Package`` does work behind the approval's back (the audit trail's receivers are the only ones)."""
    from django.db.models.signals import post_save
    from django.utils.module_loading import import_string

    from apps.cases import on_approval
    from apps.cases.models import Package

    assert import_string(on_approval.STEPS[0]) is outcomes.take_baseline_on_approval
    receivers = [r for r in post_save._live_receivers(Package)[0] if getattr(r, "__module__", "") != "apps.core.audit"]
    assert not receivers, receivers
