"""Walk every API operation, read from the OpenAPI document, as every persona (anonymous too).

A new operation without an entry in EXPECTED fails ``test_every_operation_has_an_expectation``. For each operation:
the personas in ``allowed`` get 2xx; every other signed-in persona gets ``denied`` (403, or 404 where the record must
not be revealed); anonymous callers get 401 JSON, never a redirect. Path parameters are chosen so that the allowed set
proves the scoping: ICB A's watch list and practice X's scores (practice X is in ICB A) — so ICB B, practice Y, the
provider, the LMC and the national team are all refused, and national users see aggregates only. Provider B, a
provider assigned to nothing, proves that a provider sees a case or a session through its assignment, not its role.

Another area adds its operations here: ``"create_self_referral": Op({}, {"practice_x"}, method-specific body...)``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from analytics.money import financial_year_of, fy_end
from apps.api.testing import (
    case_with_package,
    icb_a_budget,
    icb_a_commitment,
    icb_a_payee_commitment,
    icb_a_upload,
    operations,
    provider_session,
)
from apps.pages.testing import ICB_A, PERSONA_NAMES
from conftest import kept_for_the_module

pytestmark = pytest.mark.django_db

SIGNED_IN = frozenset(PERSONA_NAMES)
# Who has a list of cases, packages and sessions (possibly empty), and who sees the walk's case and its sessions.
CASE_LISTERS = frozenset({"icb_a", "icb_b", "practice_x", "practice_y", "provider", "provider_b"})
CASE_SEERS = frozenset({"icb_a", "practice_x", "provider"})
# Who is not on any ICB team (refused the import outright, 403; another ICB's team gets 404 for ICB A's upload).
NOT_ICB = frozenset({"national", "practice_x", "practice_y", "provider", "provider_b", "lmc"})
WALK_COLUMNS = {
    "reference": "Case reference", "practice": "Practice ODS code", "referred_on": "Referred on", "state": "State"
}  # fmt: skip
Param = str | Callable[[dict[str, Any]], str]
YEAR_END = fy_end(financial_year_of(timezone.localdate()))


def practice_x(personas: dict[str, Any]) -> str:
    return personas["practice_x"].practice.code


def current_run_id(personas: dict[str, Any]) -> str:
    from apps.indicators.scoring_runs import current_run

    run = current_run()
    assert run is not None, "the test session scores the practices once"
    return str(run.pk)


def icb_a_scenario(personas: dict[str, Any]) -> str:
    """A worked-out scenario of ICB A's, saved by its team (no solve: the walk is about who may open it)."""
    from apps.practices.models import ICB
    from apps.targeting.models import Scenario

    scenario, _ = Scenario.objects.get_or_create(
        ref="api-walk-icb-a",
        defaults={
            "name": "API walk",
            "scope": Scenario.Scope.ICB,
            "icb": ICB.objects.get(code=ICB_A),
            "budget_pence": 100_000_00,
            "coach_hours": 100,
            "practice_cap_pence": 20_000_00,
            "created_by": personas["icb_a"],
            "status": "optimal",
            "feasible": True,
        },
    )
    return scenario.ref


def walk_case(personas: dict[str, Any]) -> str:
    return str(case_with_package(personas).pk)


def planned_session(personas: dict[str, Any]) -> str:
    return str(provider_session(personas, "planned").pk)


def delivered_session(personas: dict[str, Any]) -> str:
    return str(provider_session(personas, "delivered").pk)


def signed_off_session(personas: dict[str, Any]) -> str:
    return str(provider_session(personas, "signed_off").pk)


def disputed_session(personas: dict[str, Any]) -> str:
    return str(provider_session(personas, "disputed").pk)


def walk_cohort(personas: dict[str, Any]) -> str:
    """ICB A's open cohort with practice X waiting (the provider persona's organisation delivers it)."""
    from apps.accounts.tests.world import icb_a_cohort

    return str(icb_a_cohort(personas, allocate=False)[0].pk)


def walk_empty_cohort(personas: dict[str, Any]) -> str:
    from apps.accounts.tests.world import icb_a_cohort

    return str(icb_a_cohort(personas, interest=False)[0].pk)


def walk_place(personas: dict[str, Any]) -> str:
    """Practice X's place offered in an allocated ICB A cohort."""
    from apps.accounts.tests.world import icb_a_cohort

    return str(icb_a_cohort(personas)[1].pk)


COHORT_SEERS = frozenset({"national", "icb_a", "practice_x", "provider", "lmc"})


def new_cohort_body(personas: dict[str, Any]) -> dict[str, Any]:
    """A valid cohort for whoever may create one: the universal line that funds practice-manager development (its
    budgets released to every ICB) and the walk's provider."""
    from apps.cohorts import demo

    today = timezone.localdate()
    starts = today + timedelta(days=28)
    line = demo.universal_line(personas["national"], financial_year_of(starts))
    return {
        "offer": demo.PM_OFFER,
        "line": line.pk,
        "title": "Walk cohort",
        "starts_on": starts.isoformat(),
        "ends_on": (starts + timedelta(days=30)).isoformat(),
        "closes_on": (today + timedelta(days=7)).isoformat(),
        "places": 3,
        "mode": "online",
        "provider": demo.provider().pk,
        "cost_per_place_pence": 120_000,
        "rule": "first_come",
    }


@dataclass(frozen=True)
class Op:
    """What one operation should answer. ``path`` values may be callables of the personas (for practice X's code)."""

    path: dict[str, Param]
    allowed: frozenset[str]
    denied: int = 403
    # Personas who see the record but may not take this step: 403 where everyone else gets ``denied`` (404).
    forbidden: frozenset[str] = frozenset()
    query: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]] | None = None  # a callable: of the personas
    # Queue the background work the call starts rather than do it in the test (a national scenario's solve took
    # 14 s, and who may start it is the same either way)
    queued: bool = False


EXPECTED: dict[str, Op] = {
    # The register is national open data: every signed-in user reads it.
    "list_practices": Op({}, SIGNED_IN, query={"icb": ICB_A}),
    "get_practice": Op({"code": "A81001"}, SIGNED_IN),
    "list_icbs": Op({}, SIGNED_IN),
    "list_indicators": Op({}, SIGNED_IN),
    # Pressure scores: the practice's own ICB team and the practice itself.
    "get_practice_scores": Op({"code": practice_x}, frozenset({"icb_a", "practice_x"})),
    # Any scoring run's scores (here the current run, by its id): the ICB's own team, as its watch list.
    "get_icb_run_scores": Op({"code": ICB_A, "run": current_run_id}, frozenset({"icb_a"})),
    # Watch lists: the ICB's own team only; the national team gets counts.
    "get_watch_list": Op({"code": ICB_A}, frozenset({"icb_a"})),
    "get_watch_summary": Op({}, frozenset({"national"})),
    # Cases: the ICB team, the practice and the assigned provider see a case; anyone else gets 404 for it. The case
    # here is practice X's (ICB A), with the provider persona assigned.
    "list_cases": Op({}, CASE_LISTERS),
    "get_case_summary": Op({}, frozenset({"national"})),
    "get_case": Op({"case_id": walk_case}, frozenset({"icb_a", "practice_x", "provider"}), denied=404),
    "create_self_referral": Op(
        {}, frozenset({"practice_x", "practice_y"}), body={"concerns": "Two partners are leaving in March."}
    ),
    # Packages go with their cases: listed for everyone with a case list (provider B's is empty); one package is seen
    # by whoever sees its case.
    "list_packages": Op({}, CASE_LISTERS),
    "get_package": Op({"case_id": walk_case, "number": "1"}, CASE_SEERS, denied=404),
    # Sessions: the ICB team, the practice receiving and the provider delivering see one; the provider logs and signs
    # it off, the practice confirms it. Those who see it but may not take the step get 403, everyone else 404.
    "list_sessions": Op({}, CASE_LISTERS),
    "get_session": Op({"session_id": planned_session}, CASE_SEERS, denied=404),
    "log_session": Op(
        {"session_id": planned_session},
        frozenset({"provider"}),
        denied=404,
        forbidden=frozenset({"icb_a", "practice_x"}),
        body={"outcome": "delivered", "hours": 1, "attendees": {"practice_manager": 2}, "notes": "Rota review done."},
    ),
    "sign_off_session": Op(
        {"session_id": delivered_session},
        frozenset({"provider"}),
        denied=404,
        forbidden=frozenset({"icb_a", "practice_x"}),
    ),
    "confirm_session": Op(
        {"session_id": signed_off_session},
        frozenset({"practice_x"}),
        denied=404,
        forbidden=frozenset({"icb_a", "provider"}),
    ),
    # Corrections: the provider delivering it and the ICB team amend a signed-off log; the practice disputes it; the
    # ICB team resolves the dispute. The others who see the session get 403, everyone else 404. Its history is seen by
    # whoever sees the session.
    "amend_session": Op(
        {"session_id": signed_off_session},
        frozenset({"provider", "icb_a"}),
        denied=404,
        forbidden=frozenset({"practice_x"}),
        body={
            "outcome": "delivered",
            "hours": 1.5,
            "attendees": {"practice_manager": 2},
            "notes": "Rota review done.",
            "reason": "The session ran half an hour over.",
        },
    ),
    "dispute_session": Op(
        {"session_id": signed_off_session},
        frozenset({"practice_x"}),
        denied=404,
        forbidden=frozenset({"icb_a", "provider"}),
        body={"reason": "Nobody from the practice attended."},
    ),
    "resolve_dispute": Op(
        {"session_id": disputed_session},
        frozenset({"icb_a"}),
        denied=404,
        forbidden=frozenset({"practice_x", "provider"}),
        body={"outcome": "upheld", "note": "The signed register shows two attendees."},
    ),
    "get_session_history": Op({"session_id": disputed_session}, CASE_SEERS, denied=404),
    # The RAG rating is the ICB team's: the practice and the provider see the case but may not rate (403). The walk
    # case's package is submitted, not approved, so even ICB A gets 404 here (rating it works: test_rag_is_the_icbs).
    "rate_package": Op(
        {"case_id": walk_case, "number": "1"},
        frozenset(),
        denied=404,
        forbidden=frozenset({"practice_x", "provider"}),
        body={"rag": "green", "reason": "All sessions delivered on time."},
    ),
    # Group shares: the lead ICB follows every share of its case's package; a covered practice or an ICB across the
    # border sees its own (the walk's package covers practice X alone, so nobody else sees it and nobody may take a
    # share step on it: the lead ICB, which sees it, is refused with 403). The steps: test_group_shares_api.py.
    "get_package_shares": Op({"case_id": walk_case, "number": "1"}, frozenset({"icb_a"}), denied=404),
    "decide_package_share": Op(
        {"case_id": walk_case, "number": "1"},
        frozenset(),
        denied=404,
        forbidden=frozenset({"icb_a"}),
        body={"decision": "accept", "reason": ""},
    ),
    "decide_icb_package_share": Op(
        {"case_id": walk_case, "number": "1"},
        frozenset(),
        denied=404,
        forbidden=frozenset({"icb_a"}),
        body={"decision": "refuse", "note": "Our panel has not agreed this share."},
    ),
    # Varying a package: the case's ICB team only (the practice and the provider see the case: 403). The walk case's
    # package is submitted, not approved, so even ICB A gets 404 (varying works: test_api_vary_package).
    "vary_package": Op(
        {"case_id": walk_case, "number": "1"},
        frozenset(),
        denied=404,
        forbidden=frozenset({"practice_x", "provider"}),
        body={"lines": [{"offer_code": "gprp-coaching", "units": 1}], "reason": "Walk: one session is enough"},
    ),
    # Money: the national team and ICB A's own team see ICB A's budgets and ledger; ICB B asking for ICB A's is
    # refused; practices, providers and the LMC see no money at all.
    "list_budgets": Op({}, frozenset({"national", "icb_a"}), query={"icb": ICB_A}),
    "list_ledger": Op({}, frozenset({"national", "icb_a"}), query={"icb": ICB_A}),
    # Recording a payment: ICB A's own team only (a colleague approves it); to anyone else the commitment is unknown.
    "create_payment": Op(
        {"commitment_id": icb_a_commitment},
        frozenset({"icb_a"}),
        denied=404,
        body={"kind": "invoice", "amount_pence": 100, "payee": "Walk Co", "invoice_number": "WALK-1"},
    ),
    # Commitments outside cases: an ICB team lists its own; ICB A's team reads and makes ICB A's (to anyone else
    # ICB A's budget and commitment are unknown); totals by kind of payee for the national team and ICB A's team.
    "list_payee_commitments": Op({}, frozenset({"icb_a", "icb_b"})),  # each ICB team its own
    "get_payee_totals": Op({}, frozenset({"national", "icb_a"}), query={"icb": ICB_A}),
    "get_payee_commitment": Op({"reference": icb_a_payee_commitment}, frozenset({"icb_a"}), denied=404),
    "create_payee_commitment": Op(
        {"budget_id": icb_a_budget},
        frozenset({"icb_a"}),
        denied=404,
        body={
            "kind": "lmc_team",
            "name": "Walkshire LMC",
            "purpose": "Walk: support to practices",
            "amount_pence": 100,
            "tranches": [{"due": YEAR_END.isoformat(), "amount_pence": 100}],
        },
    ),
    # Varying and cancelling it: ICB A's own team only; to anyone else the commitment is unknown (404).
    "vary_payee_commitment": Op(
        {"reference": icb_a_payee_commitment},
        frozenset({"icb_a"}),
        denied=404,
        body={
            "amount_pence": 1200,
            "tranches": [
                {"due": (YEAR_END - timedelta(days=1)).isoformat(), "amount_pence": 500},
                {"due": YEAR_END.isoformat(), "amount_pence": 700},
            ],
            "reason": "Walk: a third session agreed",
        },
    ),
    "cancel_payee_commitment": Op(
        {"reference": icb_a_payee_commitment},
        frozenset({"icb_a"}),
        denied=404,
        body={"reason": "Walk: the LMC team was stood down"},
    ),
    # Day-one import: ICB teams upload into their own ICB; ICB A's upload is not found by anyone else.
    "create_caseload_upload": Op(
        {},
        frozenset({"icb_a", "icb_b"}),
        body={"filename": "walk.csv", "content_base64": base64.b64encode(b"Case ID,ODS code\nW-1,A99901\n").decode()},
    ),
    "get_caseload_upload": Op({"upload_id": icb_a_upload}, frozenset({"icb_a"}), denied=404, forbidden=NOT_ICB),
    "set_caseload_columns": Op(
        {"upload_id": icb_a_upload},
        frozenset({"icb_a"}),
        denied=404,
        forbidden=NOT_ICB,
        body={"mapping": WALK_COLUMNS},
    ),
    "commit_caseload_upload": Op({"upload_id": icb_a_upload}, frozenset({"icb_a"}), denied=404, forbidden=NOT_ICB),
    # Spending scenarios: ICB teams run their own ICB's, the national team national ones (per-ICB totals only);
    # ICB A's scenario is unknown (404) to the other scenario runners; those who run none are refused (403).
    "create_scenario": Op(
        {},
        frozenset({"national", "icb_a", "icb_b"}),
        body={"name": "Walk plan", "budget_pounds": 100000, "coach_hours": 500},
        queued=True,
    ),
    "list_scenarios": Op({}, frozenset({"national", "icb_a", "icb_b"})),
    "get_scenario": Op(
        {"ref": icb_a_scenario},
        frozenset({"icb_a"}),
        denied=404,
        forbidden=frozenset({"practice_x", "practice_y", "provider", "provider_b", "lmc"}),
    ),
    # Cohorts: every signed-in user lists those open to them; ICB A's cohort is seen by its team, its LMC, the
    # national team (counts), practice X (eligible) and the provider delivering it; nobody else finds it. Practice X
    # (or ICB A's team for it) expresses interest; ICB A's team allocates; practice X accepts its offered place.
    "list_cohorts": Op({}, SIGNED_IN),
    "get_cohort": Op({"cohort_id": walk_cohort}, COHORT_SEERS, denied=404),
    # ICB teams create cohorts on their own budgets, the national team national cohorts; nobody else.
    "create_cohort": Op({}, frozenset({"national", "icb_a", "icb_b"}), body=new_cohort_body),
    "create_cohort_interest": Op(
        {"cohort_id": walk_empty_cohort},
        frozenset({"icb_a", "practice_x"}),
        denied=404,
        forbidden=COHORT_SEERS - {"icb_a", "practice_x"},
        body={"practice": "A81001", "attendee_name": "Walk Manager", "attendee_role": "practice_manager"},
    ),
    "allocate_cohort": Op(
        {"cohort_id": walk_cohort}, frozenset({"icb_a"}), denied=404, forbidden=COHORT_SEERS - {"icb_a"}
    ),
    "act_on_cohort_place": Op(
        {"place_id": walk_place},
        frozenset({"practice_x"}),
        denied=404,
        forbidden=frozenset({"icb_a", "provider"}),
        body={"action": "accept"},
    ),
}


def _url(path: str, op: Op, personas: dict[str, Any], made: dict[Any, str] | None = None) -> str:
    """The operation's path with its objects filled in (``made``: objects already made, by the function that makes
    each)."""
    for name, value in op.path.items():
        if callable(value):
            value = made[value] if made is not None and value in made else value(personas)
        path = path.replace("{" + name + "}", value)
    return path


World = tuple[dict[str, Any], dict[str, str], dict[Any, str]]


@pytest.fixture(scope="module")
def walk_world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """The personas, their tokens and every object an operation's path names, made once for the module: each test
    only calls one operation, and whatever it changes is rolled back with it. (Made per test, they were 60 ms of
    every test's 80.)"""
    from apps.api.testing import tokens_for
    from apps.pages.testing import make_personas

    with kept_for_the_module(django_db_blocker):
        personas = make_personas()
        tokens = tokens_for(personas)
        made: dict[Any, str] = {}
        for op in EXPECTED.values():
            for value in op.path.values():
                if callable(value) and value not in made:
                    made[value] = value(personas)
        yield personas, tokens, made


@pytest.fixture
def personas(walk_world: World) -> dict[str, Any]:
    return walk_world[0]


@pytest.fixture
def api_tokens(walk_world: World) -> dict[str, str]:
    return walk_world[1]


def test_every_operation_has_an_expectation():
    ids = [op_id for op_id, _, _ in operations()]
    assert len(ids) == len(set(ids)), "operation ids must be unique across areas"
    assert set(ids) == set(EXPECTED), "add the new API operation to EXPECTED with who may call it"


@pytest.mark.parametrize("op_id,method,path", operations(), ids=[o[0] for o in operations()])
@pytest.mark.parametrize("persona", ["anonymous", *PERSONA_NAMES])
def test_operation_as_persona(request, api_call, walk_world, op_id, method, path, persona):
    personas, _, made = walk_world
    op = EXPECTED[op_id]
    if op.queued:
        request.getfixturevalue("database_tasks")
    body = op.body(personas) if callable(op.body) else op.body
    response = api_call(persona, method, _url(path, op, personas, made), body, **op.query)
    assert response["Content-Type"].startswith("application/json"), (op_id, persona, response["Content-Type"])
    if persona == "anonymous":
        assert response.status_code == 401, (op_id, response.status_code)
        assert "Authorization: Bearer" in response.json()["detail"]
    elif persona in op.allowed:
        assert 200 <= response.status_code < 300, (op_id, persona, response.status_code, response.content[:300])
    else:
        expected = 403 if persona in op.forbidden else op.denied
        assert response.status_code == expected, (op_id, persona, response.status_code)
        assert response.json()["detail"], "errors say what went wrong"


def test_operations_answer_the_same_through_the_browser_session(client_for, personas):
    """Session calls go through the same chokepoints as token calls."""
    url = f"/api/v1/icbs/{ICB_A}/watch-list"
    assert client_for("icb_a").get(url).status_code == 200
    assert client_for("icb_b").get(url).status_code == 403
    assert client_for("anonymous").get(url).status_code == 401
