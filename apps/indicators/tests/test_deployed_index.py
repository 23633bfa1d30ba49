"""The current run is ranked by the deployed closure model (the walk-forward's better method on true closures) and
each practice's page explains exactly that model's score."""

from __future__ import annotations

import io
import math
from datetime import date

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.indicators.models import PracticeScore, ScoringRun

pytestmark = pytest.mark.django_db


def test_the_current_run_is_ranked_by_the_model_fitted_on_finished_years_only():
    run = ScoringRun.objects.get(is_current=True)
    assert run.model is not None and run.model["inputs"]
    # the ODS file is of May 2025: the last training window (from 1 April 2023) ended by then
    assert run.model["training_dates"][0] == "2017-04-01" and run.model["training_dates"][-1] == "2023-04-01"
    scores = list(PracticeScore.objects.filter(run=run, rank__isnull=False).order_by("rank")[:200])
    assert [s.composite for s in scores] == sorted((s.composite for s in scores), reverse=True)
    assert all(0 <= (s.composite or 0) <= 100 for s in scores)


def test_each_explanation_adds_up_to_the_score():
    run = ScoringRun.objects.get(is_current=True)
    for s in PracticeScore.objects.filter(run=run, rank__isnull=False).order_by("rank")[:50]:
        logit = run.model["intercept"] + sum(e["contribution"] for e in s.model_explanation)
        assert 100 / (1 + math.exp(-logit)) == pytest.approx(s.composite, rel=1e-3)
        assert {e["id"] for e in s.model_explanation} == set(run.model["features"])


def test_the_practice_page_shows_the_models_explanation(client_for):  # type: ignore[no-untyped-def]
    from apps.pages.testing import ICB_A

    run = ScoringRun.objects.get(is_current=True)
    top = PracticeScore.objects.filter(run=run, icb__code=ICB_A, icb_rank=1).select_related("practice").first()
    assert top is not None
    html = client_for("icb_a").get(reverse("practices:detail", args=[top.practice.code])).content.decode()
    assert "What drives the score: the chance of closing" in html and "The indicators, for context" in html
    assert f"{top.composite:.1f}%" in html
    first = top.model_explanation[0]
    assert first["title"] in html and f"{first['contribution']:+.2f}" in html


def test_the_old_composite_can_still_rank_a_run_when_asked():
    call_command("score_practices", as_of=date(2024, 4, 1), composite=True, stdout=io.StringIO())
    run = ScoringRun.objects.get(is_current=True)
    assert run.model is None
    assert not PracticeScore.objects.filter(run=run).exclude(model_explanation=[]).exists()
