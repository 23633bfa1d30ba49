"""The register's practice page shows a practice's pressure score only to those who may see it.

The page is the register's, below the indicators: it asks ``apps.indicators.scoring_runs.pressure_shown_to`` through
the template function of that name, never a score of its own (docs/architecture.md, "Layers")."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from apps.indicators.scoring_runs import current_run, pressure_shown_to

pytestmark = pytest.mark.django_db


def _page(client_for: Any, persona: str, code: str) -> str:
    response = client_for(persona).get(reverse("practices:detail", args=[code]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_icb_team_and_the_practice_itself_see_its_score(client_for: Any, personas: dict[str, Any]) -> None:
    practice = personas["practice_x"].practice
    score = current_run().scores.get(practice=practice)  # type: ignore[union-attr]
    assert pressure_shown_to(personas["icb_a"], practice) == score
    assert pressure_shown_to(personas["practice_x"], practice) == score
    for persona in ("icb_a", "practice_x"):
        assert "<h2>Pressure index</h2>" in _page(client_for, persona, practice.code)


@pytest.mark.parametrize("persona", ["icb_b", "practice_y", "national", "provider", "lmc"])
def test_nobody_else_sees_it(client_for: Any, personas: dict[str, Any], persona: str) -> None:
    practice = personas["practice_x"].practice
    assert pressure_shown_to(personas[persona], practice) is None
    assert "Pressure index" not in _page(client_for, persona, practice.code)
