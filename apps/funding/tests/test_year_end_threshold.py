"""The year-end "at risk" flag (issue 16 §6): a budget is at risk only when its forecast spend misses the money
released by more than its programme's threshold; the national team sets the threshold (audited); the demo money
shows a mix, not every budget at risk."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics import money
from apps.core.models import AuditRecord
from apps.funding import reports
from apps.funding.models import Budget, Programme

POUND = 100


def year_end(spent: int, expected: int, uncommitted: int = 0, after: int = 0) -> money.YearEnd:
    return money.YearEnd(spent, expected, 0, after, uncommitted)


def test_a_forecast_within_the_threshold_is_not_at_risk_and_beyond_it_is():
    released = money.Balance(allocated=200_000 * POUND, released=100_000 * POUND)
    assert not reports.at_risk(released, year_end(10_000 * POUND, 86_000 * POUND), 500)  # 4% under
    assert reports.at_risk(released, year_end(10_000 * POUND, 84_000 * POUND), 500)  # 6% under
    assert not reports.at_risk(released, year_end(10_000 * POUND, 95_000 * POUND), 500)  # exactly 5% over
    assert reports.at_risk(released, year_end(10_000 * POUND, 95_001 * POUND), 500)  # just over 5% over
    assert reports.at_risk(released, year_end(10_000 * POUND, 84_000 * POUND), 0)  # a 0% threshold flags any gap
    assert not reports.at_risk(released, year_end(10_000 * POUND, 84_000 * POUND), 2_000)


def test_a_budget_with_nothing_released_is_at_risk_only_if_spending_is_forecast():
    nothing = money.Balance(allocated=50_000 * POUND)
    assert not reports.at_risk(nothing, year_end(0, 0), 500)
    assert reports.at_risk(nothing, year_end(0, 1), 500)


@pytest.mark.django_db
def test_the_demo_year_end_shows_a_mix_of_budgets_at_risk_and_on_track():
    fy = money.financial_year_of(timezone.localdate())
    rows = reports.budget_rows(Budget.objects.filter(fy=fy).select_related("line__programme", "icb"))
    flagged = sum(r.flagged for r in rows)
    assert len(rows) >= 42
    assert 0.1 * len(rows) < flagged < 0.6 * len(rows), f"{flagged} of {len(rows)} budgets at risk"


@pytest.mark.django_db
def test_the_national_team_sets_a_programme_threshold_and_it_is_audited(client_for, personas):
    programme = Programme.objects.get(code="GPRP")
    url = reverse("funding:programme_threshold", args=[programme.code])
    client = client_for("national")
    assert client.get(url).status_code == 200
    response = client.post(url, {"percent": "12.5"})
    assert response.status_code == 302
    programme.refresh_from_db()
    assert programme.at_risk_threshold_bp == 1250
    record = AuditRecord.objects.filter(model="funding.Programme", object_pk=str(programme.pk), action="update").last()
    assert record is not None and "at_risk_threshold_bp" in record.changes
    assert record.actor == personas["national"].username


@pytest.mark.django_db
def test_a_bad_threshold_is_refused_with_its_error_and_changes_nothing(client_for):
    programme = Programme.objects.get(code="GPRP")
    url = reverse("funding:programme_threshold", args=[programme.code])
    for bad in ("", "abc", "-1", "75", "1e3", "2.555"):
        response = client_for("national").post(url, {"percent": bad})
        assert response.status_code == 400, bad
        assert 'href="#percent"' in response.content.decode()
    programme.refresh_from_db()
    assert programme.at_risk_threshold_bp == 500


@pytest.mark.django_db
def test_only_the_national_team_sets_the_threshold(client_for):
    url = reverse("funding:programme_threshold", args=["GPRP"])
    for name in ("icb_a", "practice_x", "provider", "lmc"):
        assert client_for(name).post(url, {"percent": "1"}).status_code == 403
    assert Programme.objects.get(code="GPRP").at_risk_threshold_bp == 500


@pytest.mark.django_db
def test_raising_the_threshold_clears_the_flag_on_the_icb_budget_page(client_for):
    from apps.pages.testing import ICB_A

    fy = money.financial_year_of(timezone.localdate())
    budget = Budget.objects.select_related("line__programme").get(icb__code=ICB_A, fy=fy, line__code="core",
                                                                    line__programme__code=f"GPR-{fy}")  # fmt: skip
    row = reports.budget_rows([budget], date.today())[0]
    assert row.flagged  # the demo ICB commits little of its money
    Programme.objects.filter(pk=budget.line.programme_id).update(at_risk_threshold_bp=5_000)
    budget = Budget.objects.select_related("line__programme").get(pk=budget.pk)
    gap_share = abs(reports.budget_rows([budget])[0].forecast_gap) / budget.balance().released
    assert reports.budget_rows([budget])[0].flagged == (gap_share > 0.5)
    html = client_for("icb_a").get(reverse("funding:icb_budget", args=[ICB_A])).content.decode()
    assert "At risk" in html or "Within 50.0%" in html
