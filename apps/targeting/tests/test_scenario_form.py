"""The scenario page reads its input through ScenarioForm (the check the API runs too): a refused scenario comes
back with every box as typed and the tick kept."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from apps.targeting.forms import ScenarioForm
from apps.targeting.models import Scenario

pytestmark = pytest.mark.django_db


def _value(html: str, name: str) -> str:
    found = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html)
    assert found, f"no box named {name}"
    return found.group(1)


def test_a_refused_scenario_keeps_every_box_as_typed(client_for):
    data = {"name": "Spring plan", "scope": "icb", "budget": "lots", "coach_hours": "1500", "practice_cap": "25000"}
    response = client_for("icb_a").post(reverse("targeting:scenarios"), {**data, "floor_on": "1", "floor": "40"})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'href="#budget"' in html
    for name in ("name", "budget", "coach_hours", "practice_cap", "floor"):
        assert _value(html, name) == {**data, "floor": "40"}[name]
    assert re.search(r'<input[^>]*name="floor_on"[^>]*checked', html)
    assert not Scenario.objects.exists()


def test_the_floor_is_only_read_when_it_is_ticked(personas):
    data = {"name": "Spring plan", "scope": "icb", "budget": "300000", "coach_hours": "10", "practice_cap": "25000"}
    form = ScenarioForm({**data, "floor": "250"}, user=personas["icb_a"])
    assert form.is_valid(), form.errors
    assert form.cleaned_data["scenario"]["floor_share"] is None
    ticked = ScenarioForm({**data, "floor": "250", "floor_on": "1"}, user=personas["icb_a"])
    assert not ticked.is_valid()
    assert "Enter the floor as a percentage between" in ticked.errors["floor"][0]
