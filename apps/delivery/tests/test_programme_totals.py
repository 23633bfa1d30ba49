"""The programme outcomes' totals are counted and summed in the database (issue 19): no supported case is read into
Python for them, and they are what adding up every case's own row gives, for the ICB page and the national one."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.db.models.signals import post_init
from django.urls import reverse
from django.utils import timezone

from analytics.outcomes import closure_bands, cqc_change, expected_closures, mean
from apps.accounts.models import Role, User
from apps.cases.models import Case
from apps.delivery import outcomes
from apps.delivery.models import OutcomeSnapshot, Rag, Session, SnapshotKind
from apps.delivery.tests.test_outcomes_queries import approve
from apps.indicators.models import ScoringRun
from apps.practices.models import Practice, PracticeStatus

pytestmark = pytest.mark.django_db


def added_up(cases: list[Case]) -> dict[str, Any]:
    """The totals as the page used to make them: every supported case's own row (``case_outcomes``), added up."""
    rows = outcomes.case_outcomes(cases)
    practices = {c.practice_id: c.practice for c in cases}
    run = ScoringRun.objects.filter(is_current=True).first()
    expected = None
    if run is not None and run.backtest:
        percentiles = []
        for c in cases:
            base = next((s for s in c.outcome_snapshots.all() if s.kind == SnapshotKind.BASELINE), None)
            percentiles.append(base.indicators.get("pressure_percentile") if base else None)
        expected = round(expected_closures(percentiles, closure_bands(run.backtest)), 2)
    changes = [r.ppgf_change for r in rows if r.ppgf_change is not None]
    cqc = Counter(cqc_change(r.cqc_before, r.cqc_after) for r in rows)
    rag = Counter(r.rag.rag for r in rows if r.rag)
    change = mean(changes)
    return {
        "practices_supported": len(practices),
        "sessions_planned": sum(r.sessions_planned for r in rows),
        "sessions_delivered": sum(r.sessions_delivered for r in rows),
        "hours_delivered": round(sum(r.hours_delivered for r in rows), 1),
        "clinical_released": round(sum(r.clinical_released for r in rows), 1),
        "admin_released": round(sum(r.admin_released for r in rows), 1),
        "closures_observed": sum(1 for p in practices.values() if p.status != PracticeStatus.ACTIVE),
        "closures_expected": expected,
        "mean_ppgf_change": round(change, 1) if change is not None else None,
        "ppgf_cases": len(changes),
        "cqc": (cqc.get(1, 0), cqc.get(-1, 0), cqc.get(0, 0)),
        "rag": {k: rag.get(k, 0) for k in Rag.values},
    }


def totals(result: outcomes.ProgrammeOutcomes) -> dict[str, Any]:
    out = {k: getattr(result, k) for k in added_up([]) if k != "cqc"}
    return {**out, "cqc": (result.cqc_improved, result.cqc_worsened, result.cqc_same)}


def follow_up(case: Case, kind: str, ppgf: float, cqc: str) -> None:
    base = case.outcome_snapshots.get(kind=SnapshotKind.BASELINE)
    OutcomeSnapshot.objects.create(
        case=case,
        kind=kind,
        taken_by=base.taken_by,
        indicators={**base.indicators, "patients_per_gp_fte": ppgf, "cqc_rating": cqc},
        periods=base.periods,
    )


def sessions(case: Case, user: User, member: Any, *states_hours: tuple[str, float | None]) -> None:
    for i, (state, hours) in enumerate(states_hours):
        Session.objects.create(practice=case.practice, case=case, member=member, title=f"Coaching {i}", planned_hours=2,
                               starts_at=timezone.now() - timedelta(days=10 - i), created_by=user, state=state,
                               delivered_hours=hours)  # fmt: skip


@pytest.fixture
def supported(personas, approved_x, coach) -> list[Case]:
    """Four supported cases in two ICBs: sessions in several states, hours released, ratings, follow-ups that change
    the CQC rating both ways, a case with its baseline only, and a practice that has since closed."""
    more = []
    for n, icb in enumerate(["icb_a", "icb_a", "icb_b"]):
        practice = (
            Practice.objects.filter(icb=personas[icb].icb, status=PracticeStatus.ACTIVE)
            .exclude(support_cases__isnull=False)
            .exclude(users__isnull=False)
            .order_by("code")[n]
        )
        puser = User.objects.create_user(username=f"t-totals-{n}", role=Role.PRACTICE, practice=practice)
        more.append(approve(personas[icb], puser))
    x, a1, a2, b1 = approved_x, *more
    S = Session.State
    sessions(
        x, personas["provider"], coach, (S.DELIVERED, 2.0), (S.DELIVERED, 1.5), (S.CANCELLED, None), (S.PLANNED, None)
    )
    sessions(a1, personas["provider"], coach, (S.DELIVERED, 0.25), (S.DELIVERED, None))
    sessions(b1, personas["provider"], coach, (S.DELIVERED, 3.0), (S.CANCELLED, None))
    follow_up(x, SnapshotKind.MONTH_6, 1500.0, "Good")
    follow_up(a1, SnapshotKind.MONTH_6, 1900.0, "Inadequate")
    follow_up(a1, SnapshotKind.MONTH_12, 1750.5, "Outstanding")  # the 12-month one is the latest
    follow_up(b1, SnapshotKind.MONTH_6, 2100.0, "Requires improvement")
    Practice.objects.filter(pk=b1.practice_id).update(status=PracticeStatus.CLOSED)
    return [x, a1, a2, b1]


def test_the_totals_are_every_supported_cases_row_added_up(personas, supported):
    ours = Case.objects.filter(pk__in=[c.pk for c in supported])  # the test database holds the demo's cases too
    for scope in (Case.objects.all(), Case.objects.filter(icb=personas["icb_a"].icb), ours):
        cases = list(outcomes.supported_cases(scope).select_related("practice").prefetch_related("outcome_snapshots"))
        assert totals(outcomes.programme_outcomes(scope)) == added_up(cases)
    everything = totals(outcomes.programme_outcomes(ours))
    assert everything["practices_supported"] == 4 and everything["closures_observed"] == 1
    assert (everything["sessions_planned"], everything["sessions_delivered"], everything["hours_delivered"]) == (
        6, 5, 6.8)  # fmt: skip
    assert everything["cqc"][0] >= 1 and everything["ppgf_cases"] >= 3


def test_the_totals_read_no_case_into_python(personas, supported):
    made = []

    def count(sender, instance, **kwargs):
        made.append(sender)

    post_init.connect(count, sender=Case)
    try:
        result = outcomes.programme_outcomes(Case.objects.filter(pk__in=[c.pk for c in supported]))
    finally:
        post_init.disconnect(count, sender=Case)
    assert result.practices_supported == 4
    assert made == []


def test_the_national_page_adds_up_per_icb_and_the_icb_page_lists_its_cases(client_for, personas, supported):
    a, b = personas["icb_a"].icb.name, personas["icb_b"].icb.name
    by_icb = outcomes.outcomes_by_icb(Case.objects.filter(pk__in=[c.pk for c in supported]))
    # ICB A: practice X and two more, X delivered 3.5 hours in 2 sessions and a1 0.25 in 2, each approve() released
    # 3 + 2 hours (X none); ICB B: one practice, one session of 3 hours, 5 hours released
    assert by_icb == sorted([(a, 3, 4, 3.8, 10.0), (b, 1, 1, 3.0, 5.0)])
    national = client_for("national").get(reverse("delivery:outcomes")).content.decode()
    for name, n, s, h, r in outcomes.outcomes_by_icb(Case.objects.all()):
        assert re.search(rf"<td>{re.escape(name)}</td><td[^>]*>{n}</td><td[^>]*>{s}</td><td[^>]*>{h}</td>", national)
    mine = [c for c in supported if c.icb_id == personas["icb_a"].icb_id]
    page = outcomes.supported_page(Case.objects.filter(icb=personas["icb_a"].icb), None)
    newest_first = sorted(mine, key=lambda c: (c.opened_at, c.pk), reverse=True)
    listed = [r.case.pk for r in page]
    assert [pk for pk in listed if pk in {c.pk for c in mine}] == [c.pk for c in newest_first]
    assert len(listed) == outcomes.supported_cases(Case.objects.filter(icb=personas["icb_a"].icb)).count()
    x_row = next(r for r in page if r.case.pk == supported[0].pk)
    assert (x_row.sessions_planned, x_row.sessions_delivered, x_row.hours_delivered) == (3, 2, 3.5)
    html = client_for("icb_a").get(reverse("delivery:outcomes")).content.decode()
    assert [html.index(c.ref) for c in newest_first] == sorted(html.index(c.ref) for c in newest_first)
