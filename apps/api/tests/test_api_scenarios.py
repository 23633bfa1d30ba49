"""Spending scenarios through the API (issue 19 §5): asking for one answers 202 with its status address at once, the
worker solves it, and the status address then gives the stored result; bad input is refused field by field."""

from __future__ import annotations

from typing import Any

import pytest
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from apps.targeting import scenarios
from apps.targeting.models import Scenario

pytestmark = pytest.mark.django_db

BODY = {"name": "API plan", "budget_pounds": 300000, "coach_hours": 1500, "practice_cap_pounds": 25000}


def test_asking_for_a_scenario_answers_202_and_the_status_url_gives_the_result(api_call, database_tasks, monkeypatch):
    solves: list[int] = []
    real = scenarios.optimise

    def counting(*args: Any, **kwargs: Any) -> Any:
        solves.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(scenarios, "optimise", counting)
    response = api_call("icb_a", "POST", "/api/v1/scenarios", BODY)
    assert response.status_code == 202, response.content
    answer = response.json()
    assert answer["state"] == "queued" and answer["status_url"] == f"/api/v1/scenarios/{answer['ref']}"
    assert solves == []
    run = DBTaskResult.objects.get(task_path="apps.targeting.tasks.solve_scenario")
    assert run.status == TaskResultStatus.READY

    pending = api_call("icb_a", "GET", answer["status_url"]).json()
    assert pending["state"] == "queued" and pending["practices"] == [] and pending["progress"]

    scenarios.solve_queued(Scenario.objects.get(ref=answer["ref"]).pk)  # what the worker's task does
    done = api_call("icb_a", "GET", answer["status_url"]).json()
    assert done["state"] == "done" and done["feasible"] and done["spend_pence"] <= 300_000_00
    assert done["practices"] and all(p["offers"] for p in done["practices"])
    listed = api_call("icb_a", "GET", "/api/v1/scenarios").json()
    assert listed["count"] == 1 and listed["results"][0]["ref"] == answer["ref"]
    assert listed["results"][0]["practices"] == []  # the list leaves practice rows out


def test_a_national_scenario_shows_icb_totals_and_no_practices(api_call):
    # A national budget small enough to solve in seconds: the same 42 ICBs and 6,000-odd practices (the £8.5m
    # programme is bench/optimise.py's to measure, ~20 s; in a test it only adds time)
    body = {**BODY, "budget_pounds": 400000, "coach_hours": 2000, "practice_cap_pounds": 30000}
    answer = api_call("national", "POST", "/api/v1/scenarios", body).json()
    done = api_call("national", "GET", answer["status_url"]).json()
    assert done["state"] == "done" and done["scope"] == "national" and len(done["icb_results"]) == 42
    assert done["practices"] == []
    assert api_call("icb_a", "GET", answer["status_url"]).status_code == 404


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"budget_pounds": -5}, "budget_pounds", "Input should be greater than or equal to 1"),
        ({"name": "  "}, "name", "String should match pattern"),
        ({"practice_cap_pounds": 10}, "practice_cap_pounds", "Input should be greater than or equal to 100"),
        ({"floor_percent": 250}, "floor_percent", "Input should be less than or equal to 100"),
    ],
)
def test_bad_input_is_refused_by_field_and_nothing_is_queued(api_call, overrides, field, message):
    response = api_call("icb_a", "POST", "/api/v1/scenarios", {**BODY, **overrides})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"][-1] == field and error["msg"].startswith(message)
    assert not Scenario.objects.exists()


def test_a_funding_line_that_does_not_exist_is_not_found_and_nothing_is_queued(api_call):
    body = {**BODY, "line_budgets": [{"line": "NOPE/CORE", "pounds": 1000}]}
    response = api_call("icb_a", "POST", "/api/v1/scenarios", body)
    assert response.status_code == 404
    assert response.json()["detail"].startswith("There is no funding line NOPE/CORE")
    assert not Scenario.objects.exists()


def _line_reads(api_call: Any, body: dict[str, Any]) -> tuple[int, int]:
    """(status, how many queries read the funding lines) of asking for ``body``."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = api_call("icb_a", "POST", "/api/v1/scenarios", body)
    reads = [q["sql"] for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    return response.status_code, sum('FROM "funding_fundingline"' in sql for sql in reads)


def test_asking_for_a_scenario_reads_the_funding_lines_once(api_call):
    from apps.funding.models import FundingLine
    from apps.targeting.lines import line_key

    line = FundingLine.objects.select_related("programme").order_by("pk").first()
    assert line is not None
    named = {**BODY, "line_budgets": [{"line": line_key(line).lower(), "pounds": 1000}]}
    assert _line_reads(api_call, named) == (202, 1)  # the unknown-line check and the parse share one read
    stored = Scenario.objects.get().line_budgets
    assert [x["line"] for x in stored] == [line_key(line)] and stored[0]["pence"] == 1000_00
    assert _line_reads(api_call, BODY) == (202, 0)  # no line named, none read
    bad = {**BODY, "line_budgets": [{"line": "NOPE/CORE", "pounds": 1000}]}
    assert _line_reads(api_call, bad) == (404, 1)
