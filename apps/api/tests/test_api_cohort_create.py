"""Creating a cohort through the API: the page's rules, answered as the API answers (issue 17 §3)."""

from __future__ import annotations

from typing import Any

import pytest

from apps.api.tests.test_api_access_walk import new_cohort_body
from apps.cohorts.models import Cohort

pytestmark = pytest.mark.django_db


def test_an_icb_team_creates_a_cohort_that_practices_can_then_join(api_call: Any, personas: dict[str, Any]) -> None:
    body = new_cohort_body(personas)
    made = api_call("icb_a", "POST", "/api/v1/cohorts", {**body, "quotas": {}, "eligible_icbs": []})
    assert made.status_code == 201, made.content
    shown = made.json()
    cohort = Cohort.objects.get(pk=shown["id"])
    assert (cohort.icb_id, cohort.places, cohort.cost_per_place_pence) == (personas["icb_a"].icb_id, 3, 120_000)
    assert (shown["run_by"], shown["status"], shown["filled"]) == (personas["icb_a"].icb.code, "open", 0)
    joined = api_call(
        "practice_x",
        "POST",
        f"/api/v1/cohorts/{cohort.pk}/interests",
        {"attendee_name": "A Manager", "attendee_role": "practice_manager"},
    )
    assert joined.status_code == 201, joined.content


def test_the_national_team_creates_a_national_cohort(api_call: Any, personas: dict[str, Any]) -> None:
    made = api_call("national", "POST", "/api/v1/cohorts", new_cohort_body(personas))
    assert made.status_code == 201, made.content
    assert Cohort.objects.get(pk=made.json()["id"]).icb_id is None
    assert made.json()["run_by"] == "national"


@pytest.mark.parametrize("persona", ["practice_x", "provider", "lmc"])
def test_only_icb_teams_and_the_national_team_create_cohorts(
    api_call: Any, personas: dict[str, Any], persona: str
) -> None:
    refused = api_call(persona, "POST", "/api/v1/cohorts", new_cohort_body(personas))
    assert refused.status_code == 403 and refused.json()["detail"]
    assert not Cohort.objects.exists()


def test_bad_values_are_named_by_field_and_a_refused_cohort_names_every_problem(
    api_call: Any, personas: dict[str, Any]
) -> None:
    body = new_cohort_body(personas)
    wrong_form = api_call("icb_a", "POST", "/api/v1/cohorts", {**body, "mode": "by pigeon", "title": ""})
    assert wrong_form.status_code == 422
    assert {e["loc"][-1] for e in wrong_form.json()["detail"]} == {"mode", "title"}
    no_places = api_call("icb_a", "POST", "/api/v1/cohorts", {**body, "places": 0})
    assert no_places.status_code == 422 and no_places.json()["detail"][0]["loc"][-1] == "places"
    backwards = {**body, "ends_on": body["closes_on"], "starts_on": body["ends_on"], "closes_on": "2020-01-01"}
    refused = api_call("icb_a", "POST", "/api/v1/cohorts", backwards)
    assert refused.status_code == 400, refused.content
    assert "end on or after the day it starts" in refused.json()["detail"]
    assert "closing date" in refused.json()["detail"].lower()
    assert not Cohort.objects.exists()
