"""The outsider matrix for the API: every operation of the OpenAPI document, with each outsider's token, asked for ICB
A's objects (see ``apps.accounts.tests.world``). Each answer is a refusal (401/403/404), or a body (JSON, and CSV for
every operation that documents one) that contains none of ICB A's case references, nor the codes and names of the
practices those cases are about. A step on ICB A's object (log, sign off, confirm) must be refused outright. An
operation missing from ``PATH`` fails the test."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from apps.accounts.tests.world import OUTSIDERS, World, make_world, response_text
from apps.api.services import create_api_token
from apps.api.testing import openapi_document, operations
from apps.api.tests.test_api_access_walk import EXPECTED as WALK

pytestmark = pytest.mark.django_db

# operation id -> its path parameters, as placeholders for ICB A's objects (see make_world)
PATH: dict[str, dict[str, str]] = {
    "list_practices": {},
    "get_practice": {"code": "{practice}"},
    "list_icbs": {},
    "list_indicators": {},
    "get_practice_scores": {"code": "{practice}"},
    "get_icb_run_scores": {"code": "{icb}", "run": "{run}"},
    "get_watch_list": {"code": "{icb}"},
    "get_watch_summary": {},
    "list_cases": {},
    "get_case_summary": {},
    "get_case": {"case_id": "{case}"},
    "create_self_referral": {},
    "list_packages": {},
    "get_package": {"case_id": "{case}", "number": "{package}"},
    "list_sessions": {},
    "get_session": {"session_id": "{session}"},
    "log_session": {"session_id": "{session}"},
    "sign_off_session": {"session_id": "{session}"},
    "confirm_session": {"session_id": "{session}"},
    "amend_session": {"session_id": "{session}"},
    "dispute_session": {"session_id": "{session}"},
    "resolve_dispute": {"session_id": "{session}"},
    "get_session_history": {"session_id": "{session}"},
    "rate_package": {"case_id": "{case}", "number": "{package}"},
    "get_package_shares": {"case_id": "{case}", "number": "{package}"},
    "decide_package_share": {"case_id": "{case}", "number": "{package}"},
    "decide_icb_package_share": {"case_id": "{case}", "number": "{package}"},
    "vary_package": {"case_id": "{case}", "number": "{package}"},
    "list_budgets": {},
    "list_ledger": {},
    "create_payment": {"commitment_id": "{commitment}"},
    "list_payee_commitments": {},
    "get_payee_totals": {},
    "get_payee_commitment": {"reference": "{payee}"},
    "create_payee_commitment": {"budget_id": "{budget}"},
    "vary_payee_commitment": {"reference": "{payee}"},
    "cancel_payee_commitment": {"reference": "{payee}"},
    "create_caseload_upload": {},
    "get_caseload_upload": {"upload_id": "{upload}"},
    "set_caseload_columns": {"upload_id": "{upload}"},
    "commit_caseload_upload": {"upload_id": "{upload}"},
    "create_scenario": {},
    "list_scenarios": {},
    "get_scenario": {"ref": "{scenario}"},
    "list_cohorts": {},
    "get_cohort": {"cohort_id": "{cohort}"},
    "create_cohort": {},
    "create_cohort_interest": {"cohort_id": "{cohort}"},
    "allocate_cohort": {"cohort_id": "{cohort}"},
    "act_on_cohort_place": {"place_id": "{place}"},
}
# Open national data: may name any practice; a case reference is still a leak.
REGISTER = {"list_practices", "get_practice", "list_icbs", "list_indicators"}
REFUSED = {401, 403, 404}


def test_every_operation_is_in_the_matrix():
    assert {op_id for op_id, _, _ in operations()} == set(PATH), "add the operation to PATH with ICB A's object"


def _offers_csv() -> set[str]:
    doc = openapi_document()
    return {
        op["operationId"]
        for methods in doc["paths"].values()
        for op in methods.values()
        if "text/csv" in op.get("responses", {}).get("200", {}).get("content", {})
    }


@pytest.fixture
def world(db: Any) -> World:
    return make_world()


def test_no_operation_shows_icb_a_cases_to_an_outsider(world, database_tasks):
    """(Background work an outsider may start, such as its own scenario, is queued, not done here: what the answer
    shows is the same, and a national scenario's solve cost 14 s.)"""
    tokens = {p: create_api_token(world.users[p], "matrix")[1] for p in OUTSIDERS}
    csv_ops = _offers_csv()
    client = Client()
    problems: list[str] = []
    for op_id, method, path in operations():
        for name, placeholder in PATH[op_id].items():
            path = path.replace("{" + name + "}", world.ids[placeholder])
        walk = WALK[op_id]
        for persona in OUTSIDERS:
            headers = {"Authorization": f"Bearer {tokens[persona]}"}
            formats = [{}, {"format": "csv"}] if op_id in csv_ops else [{}]
            for extra in formats:
                query = {**walk.query, **extra}
                if method == "GET":
                    response = client.get(path, query, headers=headers)
                else:
                    body = json.dumps((walk.body(world.users) if callable(walk.body) else walk.body) or {})
                    response = client.generic(method, path, data=body, content_type="application/json", headers=headers)
                what = f"{method} {op_id} {extra or ''} as {persona}"
                if response.status_code in REFUSED:
                    continue
                if method != "GET" and PATH[op_id]:
                    problems.append(f"{what}: {response.status_code}, a step on ICB A's record not refused")
                    continue
                leaks = world.leaks(response_text(response), register=op_id in REGISTER, persona=persona)
                if leaks:
                    problems.append(f"{what}: {response.status_code} shows {leaks}")
    assert not problems, "ICB A's cases shown to outsiders through the API:\n" + "\n".join(problems)
