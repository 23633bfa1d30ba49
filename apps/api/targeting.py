"""Optimiser scenarios: ask for one (answered 202 with its status address: the worker solves it in the background),
follow its state and read the stored result; list the saved ones. ICB teams run their own ICB's scenarios and see its
practices; the national team runs national ones and sees per-ICB totals only (``apps.targeting.policy``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status

from apps.api.common import (
    CSV_CONTENT,
    Error,
    Paged,
    PageQuery,
    ValidationErrors,
    csv_response,
    field_errors,
    paged,
    table_responses,
    wants_csv,
)
from apps.targeting import lines as scenario_lines
from apps.targeting import scenarios
from apps.targeting.models import Scenario
from apps.targeting.policy import (
    can_run_scenarios,
    can_see_scenario_practices,
    get_scenario_for,
    scenario_scope_for,
    scenarios_visible_to,
)
from apps.targeting.scenarios import MAX_BUDGET_POUNDS, MAX_CAP_POUNDS, MAX_COACH_HOURS

router = Router(tags=["spending scenarios"])
# The form's field names (which the scenario checks name) as this API's body calls them.
BODY_FIELD = {"budget": "budget_pounds", "practice_cap": "practice_cap_pounds", "floor": "floor_percent"}


class LineBudgetIn(Schema):
    line: str = Field(min_length=1, max_length=80, description='A funding line as PROGRAMME/LINE, e.g. "GPRP/CORE"')
    pounds: int = Field(ge=1, le=MAX_BUDGET_POUNDS, description="Its budget for the scenario (£)")


class ScenarioIn(Schema):
    """The limits are the scenario form's (``apps.targeting.scenarios``), stated here so the document says them."""

    name: str = Field(min_length=1, max_length=120, pattern=r"\S", description="What to call the scenario")
    budget_pounds: float = Field(
        ge=1,
        le=MAX_BUDGET_POUNDS,
        allow_inf_nan=False,
        strict=True,
        description="This year's money for support packages (£)",
    )
    coach_hours: float = Field(
        ge=0, le=MAX_COACH_HOURS, allow_inf_nan=False, strict=True, description="Coach and provider hours available"
    )
    practice_cap_pounds: float = Field(
        25_000,
        ge=100,
        le=MAX_CAP_POUNDS,
        allow_inf_nan=False,
        strict=True,
        description="The most one practice's packages may cost",
    )
    floor_percent: float | None = Field(
        None,
        ge=1,
        le=100,
        allow_inf_nan=False,
        strict=True,
        description="Fairness floor: each ICB spends this % of its budget",
    )
    line_budgets: list[LineBudgetIn] = Field(
        default_factory=list,
        max_length=50,
        description="Each funding line's budget; each line buys only the offers it funds (budget_pounds is then "
        "ignored). Empty: budget_pounds is one budget for every offer",
    )


class ScenarioQueuedOut(Schema):
    ref: str
    state: str = Field(description="queued, running, done or failed")
    status_url: str = Field(description="Where to follow it: GET until state is done or failed")


class ScenarioOut(Schema):
    ref: str
    name: str
    scope: str
    icb_code: str | None
    variant: str
    created_at: datetime
    state: str = Field(description="queued, running, done or failed")
    progress: str = Field(description="What the worker is doing now (while queued or running)")
    started_at: datetime | None
    finished_at: datetime | None
    budget_pence: int
    coach_hours: float
    practice_cap_pence: int
    floor_share: float | None
    # the result, filled in when done
    feasible: bool
    message: str = Field(description="Why there is no plan, or why it could not be worked out")
    objective: float = Field(
        description="Patients protected: registered patients × risk index × the offers' effects (an index for "
        "comparing plans)"
    )
    gap: float | None = Field(description="Optimality gap against the bound (0.001 = 0.1%)")
    spend_pence: int
    hours_used: float
    practices_funded: int
    greedy_objective: float | None
    binding: list[str]
    icb_results: list[dict[str, Any]] = Field(description="Per-ICB totals")
    line_budgets: list[dict[str, Any]] = Field(
        description="The funding lines the scenario was solved with: line, name, pence, universal, the offers it "
        "may fund"
    )
    line_results: list[dict[str, Any]] = Field(description="Each funding line's spend and patients protected")
    place_results: list[dict[str, Any]] = Field(description="Places bought on universal offers, per line and ICB")
    practices: list[dict[str, Any]] = Field(
        description="Funded practices with why (an ICB scenario, for that ICB's own team only; empty otherwise)"
    )


def _out(s: Scenario, user: Any, *, practices: bool = True) -> dict[str, Any]:
    """The scenario as the API shows it; the list leaves the practice rows out (open one scenario for them)."""
    return {
        "ref": s.ref,
        "name": s.name,
        "scope": s.scope,
        "icb_code": s.icb.code if s.icb else None,
        "variant": s.variant,
        "created_at": s.created_at,
        "state": s.state,
        "progress": s.progress,
        "started_at": s.started_at,
        "finished_at": s.finished_at,
        "budget_pence": s.budget_pence,
        "coach_hours": s.coach_hours,
        "practice_cap_pence": s.practice_cap_pence,
        "floor_share": s.floor_share,
        "feasible": s.feasible,
        "message": s.message,
        "objective": s.objective,
        "gap": s.gap,
        "spend_pence": s.spend_pence,
        "hours_used": s.hours_used,
        "practices_funded": s.practices_funded,
        "greedy_objective": s.greedy_objective,
        "binding": list(s.binding),
        "icb_results": list(s.icb_results),
        "line_budgets": list(s.line_budgets),
        "line_results": list(s.line_results),
        "place_results": list(s.place_results),
        "practices": s.funded_results if practices and can_see_scenario_practices(user, s) else [],
    }


@router.post(
    "/scenarios",
    response={202: ScenarioQueuedOut, 400: Error, 401: Error, 403: Error, 404: Error, 422: ValidationErrors},
    summary="Ask for a spending scenario (solved in the background)",
)
def create_scenario(request: HttpRequest, body: ScenarioIn) -> Any:
    """Saves the inputs and queues the optimiser; answers 202 at once with the address to follow. An ICB team's
    scenario is for its own ICB, the national team's for England (the budget split between the 42 ICBs)."""
    user = request.auth
    if not can_run_scenarios(user):
        raise PermissionDenied("Only ICB teams and the national programme team run spending scenarios.")
    scope = scenario_scope_for(user)
    lines = scenario_lines.funding_lines() if body.line_budgets else {}  # read once, for both checks below
    missing = scenario_lines.unknown_lines([x.line for x in body.line_budgets], lines)
    if missing:  # the body names a record that does not exist: not found, as for any other reference
        return Status(404, {"detail": f"There is no funding line {missing[0][:40]} (write PROGRAMME/LINE)."})
    errors, clean = scenarios.scenario_problems(
        user,
        name=body.name,
        scope=scope,
        budget_pounds=str(body.budget_pounds),
        coach_hours=str(body.coach_hours),
        cap_pounds=str(body.practice_cap_pounds),
        floor_percent="" if body.floor_percent is None else str(body.floor_percent),
        line_budgets="\n".join(f"{''.join(x.line.split())} {x.pounds}" for x in body.line_budgets),
        lines=lines,
    )
    if errors:
        return Status(422, field_errors("body", {BODY_FIELD.get(f, f): msg for f, msg in errors.items()}))
    try:
        scenario = scenarios.queue_checked(user, clean)
    except ValidationError as exc:
        return Status(422, field_errors("body", {"budget_pounds": exc.messages[0]}))
    from apps.api.main import NAMESPACE  # main imports this module while it builds the API

    url = reverse(f"{NAMESPACE}:get_scenario", kwargs={"ref": scenario.ref})
    return Status(202, {"ref": scenario.ref, "state": scenario.state, "status_url": url})


@router.get(
    "/scenarios/{ref}",
    response={200: ScenarioOut, 401: Error, 403: Error, 404: Error},
    url_name="get_scenario",
    summary="A spending scenario: its state, then its result",
)
def get_scenario(request: HttpRequest, ref: str) -> Any:
    """Poll this until ``state`` is done (the result is filled in) or failed (``message`` says why)."""
    return _out(get_scenario_for(request.auth, ref), request.auth)


@router.get(
    "/scenarios",
    response=table_responses(Paged[ScenarioOut]),
    openapi_extra=CSV_CONTENT,
    summary="Saved spending scenarios",
)
def list_scenarios(request: HttpRequest, query: Query[PageQuery]) -> Any:
    """The scenarios you may open, newest first: an ICB team's own ICB's, or the national ones (without their
    practice rows: open one scenario for those)."""
    user = request.auth
    if not can_run_scenarios(user):
        raise PermissionDenied("Only ICB teams and the national programme team run spending scenarios.")
    rows = scenarios_visible_to(user).select_related("icb").defer("practice_results").order_by("-created_at", "-id")
    if wants_csv(request, query.format):
        return csv_response((_out(s, user, practices=False) for s in rows.iterator()), ScenarioOut, "scenarios")
    return paged(rows, query.page, query.page_size, lambda s: _out(s, user, practices=False))
