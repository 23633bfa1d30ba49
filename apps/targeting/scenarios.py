"""Optimiser scenarios: check the inputs (the budget, or each funding line's budget: ``apps.targeting.lines``), queue
the solve for the background worker, work it out there (or at once, from the command line), create the ±20%
variants and compare scenarios side by side, line by line. The optimiser itself is the
Django-free ``analytics.targeting.optimise``; the register it reads is ``apps.targeting.services.practice_table``.
Callers check access first (``apps.targeting.policy``)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from analytics.menu.offers import load_menu
from analytics.targeting.inputs import candidates, fair_share_budgets
from analytics.targeting.optimise import optimise
from analytics.targeting.plan import Candidates, Plan, Settings, line_settings
from analytics.targeting.ripple import ripple_scores
from apps.accounts.models import User
from apps.core.errors import DomainError
from apps.funding.models import FundingLine
from apps.indicators.models import ScoringRun
from apps.indicators.scoring_runs import current_run
from apps.practices.models import ICB, PaymentsYear
from apps.targeting import lines as scenario_lines
from apps.targeting.models import RippleScore, Scenario
from apps.targeting.policy import scenario_scope_for
from apps.targeting.services import practice_table

VARIANT_STEP = 0.20  # the quick comparison: budget ±20%, capacity ±20%
MAX_BUDGET_POUNDS = 1_000_000_000
MAX_COACH_HOURS = 10_000_000
MIN_CAP_POUNDS, MAX_CAP_POUNDS = 100, 10_000_000


def scenario_candidates(scope: str, icb: ICB | None, run: ScoringRun | None = None) -> Candidates:
    run = run if run is not None else current_run()
    table = practice_table(run)
    stored = RippleScore.objects.filter(run=run) if run else RippleScore.objects.none()
    values = list(stored.values_list("practice__code", "ripple_score", "crossing_neighbours"))
    if values:
        ripple = pl.DataFrame(
            {
                "practice_code": [v[0] for v in values],
                "ripple_score": [float(v[1]) for v in values],
                "crossing_neighbours": [int(v[2]) for v in values],
            }
        )
    else:
        ripple = ripple_scores(table)
    pay = list(
        PaymentsYear.objects.filter(registered_patients__gt=0, weighted_patients__isnull=False)
        .order_by("practice_id", "-financial_year")
        .values_list("practice__code", "registered_patients", "weighted_patients")
    )
    seen: dict[str, float] = {}
    for code, reg, weighted in pay:
        seen.setdefault(code, float(weighted) / float(reg))
    ratios = pl.DataFrame(
        {"practice_code": list(seen), "ratio": list(seen.values())},
        schema={"practice_code": pl.Utf8, "ratio": pl.Float64},
    )
    only = {icb.code} if scope == Scenario.Scope.ICB and icb is not None else None
    return candidates(table, ripple, ratios, icbs=only)


def scenario_problems(
    user: User,
    *,
    name: str,
    scope: str,
    budget_pounds: str,
    coach_hours: str,
    cap_pounds: str,
    floor_percent: str,
    line_budgets: str = "",
    lines: Mapping[str, FundingLine] | None = None,
) -> tuple[dict[str, str], dict[str, Any]]:
    """Check the form's text inputs; return (errors by field, cleaned values). With funding lines ("PROGRAMME/LINE
    pounds" lines) the budget is their sum and each line funds only its offers; without, the budget is one line that
    funds every offer. ``lines``: every funding line by key, when the caller has read them already."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {"name": name.strip()[:120]}
    if not clean["name"]:
        errors["name"] = "Give the scenario a name"
    allowed = scenario_scope_for(user)
    if scope != allowed:
        errors["scope"] = (
            "ICB teams run scenarios for their own ICB"
            if allowed == Scenario.Scope.ICB
            else "Choose England (42 ICB budgets)"
        )
    clean["scope"] = allowed

    def number(field: str, text: str, label: str, low: float, high: float) -> float | None:
        t = text.replace(",", "").replace("£", "").strip()
        try:
            v = float(t)
        except ValueError:
            errors[field] = f"Enter {label} as a number"
            return None
        if not math.isfinite(v) or v < low or v > high:
            errors[field] = f"Enter {label} between {low:,.0f} and {high:,.0f}"
            return None
        return v

    clean["line_budgets"] = []
    budget: float | None = None
    if line_budgets.strip():
        try:
            parsed = scenario_lines.parse_line_budgets(line_budgets, lines)
        except DomainError as exc:
            errors["line_budgets"] = exc.message
        else:
            clean["line_budgets"] = [x.stored() for x in parsed]
            budget = sum(x.pence for x in parsed) / 100
            if budget > MAX_BUDGET_POUNDS:
                errors["line_budgets"] = f"The lines' budgets add up to more than £{MAX_BUDGET_POUNDS:,}"
    else:
        budget = number("budget", budget_pounds, "the budget in pounds", 1, MAX_BUDGET_POUNDS)
    hours = number("coach_hours", coach_hours, "coach hours", 0, MAX_COACH_HOURS)
    cap = number("practice_cap", cap_pounds, "the per-practice cap in pounds", MIN_CAP_POUNDS, MAX_CAP_POUNDS)
    clean["budget_pence"] = round(budget * 100) if budget is not None else None
    clean["coach_hours"] = hours
    clean["practice_cap_pence"] = round(cap * 100) if cap is not None else None
    clean["floor_share"] = None
    if floor_percent.strip():
        floor = number("floor", floor_percent, "the floor as a percentage", 1, 100)
        clean["floor_share"] = floor / 100 if floor is not None else None
    return errors, clean


def _settings_for(
    scope: str,
    icb: ICB | None,
    cands: Candidates,
    budget_pence: int,
    hours: float,
    cap: int,
    floor: float | None,
    line_budgets: Sequence[dict[str, Any]] = (),
) -> Settings:
    if line_budgets:
        lines = scenario_lines.optimiser_lines(line_budgets, icb if scope == Scenario.Scope.ICB else None, cands)
        return line_settings(lines, hours, cap, floor)
    if scope == Scenario.Scope.ICB:
        assert icb is not None
        budgets = {icb.code: budget_pence}
    else:
        budgets = fair_share_budgets(budget_pence, cands)
    return Settings(budgets_pence=budgets, coach_hours=hours, practice_cap_pence=cap, floor_share=floor)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _solve(
    scope: str,
    icb: ICB | None,
    budget_pence: int,
    coach_hours: float,
    practice_cap_pence: int,
    floor_share: float | None,
    progress: Callable[[str], None] = lambda _: None,
    line_budgets: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """Run the optimiser; return the scenario's result fields (the scoring run used, the plan and the greedy one).
    Raises ValidationError when the settings cannot be solved at all."""
    if scope == Scenario.Scope.ICB and icb is None:
        raise ValidationError("An ICB scenario needs an ICB")
    progress("Reading the register, pressure scores and ripple scores")
    run = current_run()
    cands = scenario_candidates(scope, icb, run)
    settings = _settings_for(
        scope, icb, cands, budget_pence, coach_hours, practice_cap_pence, floor_share, line_budgets
    )
    problems = settings.problems()
    if problems:
        raise ValidationError(problems)
    progress(f"Choosing packages for {len(cands):,} practices (HiGHS)")
    plan: Plan = optimise(cands, load_menu(), settings)
    g = plan.greedy
    return {
        "run": run,
        "status": plan.status,
        "feasible": plan.feasible,
        "message": plan.message,
        "source": plan.source,
        "objective": plan.objective,
        "bound": plan.bound if math.isfinite(plan.bound) else None,
        "gap": plan.gap if math.isfinite(plan.gap) else None,
        "solve_seconds": plan.solve_seconds,
        "spend_pence": plan.spend_pence,
        "hours_used": plan.hours,
        "practices_funded": plan.practices_funded,
        "packages": plan.items,
        "greedy_objective": g.objective if g else None,
        "greedy_spend_pence": g.spend_pence if g else None,
        "greedy_hours": g.hours if g else None,
        "greedy_practices": g.practices_funded if g else None,
        "binding": list(plan.binding),
        "icb_results": _jsonable(list(plan.icbs)),
        "practice_results": _jsonable(list(plan.practices)),
        "line_results": _jsonable(list(plan.lines)),
        "place_results": _jsonable(list(plan.places)),
    }


@transaction.atomic
def run_scenario(
    user: User,
    *,
    name: str,
    scope: str,
    icb: ICB | None,
    budget_pence: int,
    coach_hours: float,
    practice_cap_pence: int,
    floor_share: float | None = None,
    parent: Scenario | None = None,
    variant: str = "",
    line_budgets: Sequence[dict[str, Any]] = (),
) -> Scenario:
    """Run the optimiser now and save the scenario with its result (the command line's way; pages queue instead)."""
    result = _solve(scope, icb, budget_pence, coach_hours, practice_cap_pence, floor_share, line_budgets=line_budgets)
    return Scenario.objects.create(
        name=name,
        scope=scope,
        icb=icb if scope == Scenario.Scope.ICB else None,
        budget_pence=budget_pence,
        coach_hours=coach_hours,
        practice_cap_pence=practice_cap_pence,
        floor_share=floor_share,
        parent=parent,
        variant=variant,
        created_by=user,
        line_budgets=list(line_budgets),
        state=Scenario.State.DONE,
        finished_at=timezone.now(),
        **result,
    )


def queue_scenario(
    user: User,
    *,
    name: str,
    scope: str,
    icb: ICB | None,
    budget_pence: int,
    coach_hours: float,
    practice_cap_pence: int,
    floor_share: float | None = None,
    parent: Scenario | None = None,
    variant: str = "",
    line_budgets: Sequence[dict[str, Any]] = (),
) -> Scenario:
    """Save the scenario's inputs and queue its solve for the background worker; returns at once (no solving).
    The queue row is written in the caller's transaction, so a rolled-back request queues nothing."""
    from apps.targeting.tasks import solve_scenario  # the task module imports this one

    if scope == Scenario.Scope.ICB and icb is None:
        raise ValidationError("An ICB scenario needs an ICB")
    scenario = Scenario.objects.create(
        name=name,
        scope=scope,
        icb=icb if scope == Scenario.Scope.ICB else None,
        budget_pence=budget_pence,
        coach_hours=coach_hours,
        practice_cap_pence=practice_cap_pence,
        floor_share=floor_share,
        parent=parent,
        variant=variant,
        created_by=user,
        line_budgets=list(line_budgets),
        state=Scenario.State.QUEUED,
        progress=Scenario.State.QUEUED.label,
    )
    solve_scenario.enqueue(scenario.pk)
    return scenario


def queue_checked(user: User, clean: dict[str, Any]) -> Scenario:
    """Queue the scenario whose inputs :func:`scenario_problems` found no fault in (``clean``): how the page and the
    API both ask for one. An ICB scenario is for the user's own ICB."""
    return queue_scenario(
        user,
        name=clean["name"],
        scope=clean["scope"],
        icb=user.icb if clean["scope"] == Scenario.Scope.ICB else None,
        budget_pence=clean["budget_pence"],
        coach_hours=clean["coach_hours"],
        practice_cap_pence=clean["practice_cap_pence"],
        floor_share=clean["floor_share"],
        line_budgets=clean.get("line_budgets", []),
    )


def solve_queued(scenario_id: int) -> str:
    """Work out a queued scenario and store its result (the background task's body). Idempotent: a scenario already
    done or failed is left as it is, so a retried or recovered run does no harm. Returns its final state."""
    scenario = Scenario.objects.filter(pk=scenario_id).first()
    if scenario is None or not scenario.pending:
        return scenario.state if scenario else "missing"
    rows = Scenario.objects.filter(pk=scenario_id)

    def progress(text: str) -> None:
        # each step is its own committed write, so the polling page sees it while the solve goes on
        rows.update(progress=text[:120])

    rows.update(state=Scenario.State.RUNNING, started_at=timezone.now())
    try:
        result = _solve(
            scenario.scope,
            scenario.icb,
            scenario.budget_pence,
            scenario.coach_hours,
            scenario.practice_cap_pence,
            scenario.floor_share,
            progress,
            scenario.line_budgets,
        )
    except ValidationError as exc:
        rows.update(
            state=Scenario.State.FAILED, progress="", message="; ".join(exc.messages), finished_at=timezone.now()
        )
        return Scenario.State.FAILED
    except Exception:
        # recorded on the page; the task run itself fails with the traceback for the national task-runs page
        rows.update(
            state=Scenario.State.FAILED,
            progress="",
            message="The optimiser stopped with an error. Run the scenario again; if it fails again, tell the "
            "national team (the task-runs page has the details).",
            finished_at=timezone.now(),
        )
        raise
    rows.update(state=Scenario.State.DONE, progress="", finished_at=timezone.now(), **result)
    return Scenario.State.DONE


VARIANTS = (
    ("budget −20%", 1 - VARIANT_STEP, 1.0),
    ("budget +20%", 1 + VARIANT_STEP, 1.0),
    ("coach hours −20%", 1.0, 1 - VARIANT_STEP),
    ("coach hours +20%", 1.0, 1 + VARIANT_STEP),
)


@transaction.atomic
def create_variants(user: User, scenario: Scenario) -> list[Scenario]:
    """The quick comparison: the same scenario with the budget and the coach hours each 20% lower and higher,
    each queued for the background worker (with funding lines, each line's budget moves by the same share)."""
    return [
        queue_scenario(
            user,
            name=f"{scenario.name} ({label})",
            scope=scenario.scope,
            icb=scenario.icb,
            budget_pence=round(scenario.budget_pence * budget_factor),
            coach_hours=scenario.coach_hours * hours_factor,
            practice_cap_pence=scenario.practice_cap_pence,
            floor_share=scenario.floor_share,
            parent=scenario,
            variant=label,
            line_budgets=[{**x, "pence": round(x["pence"] * budget_factor)} for x in scenario.line_budgets],
        )
        for label, budget_factor, hours_factor in VARIANTS
    ]


def compare_rows(scenarios: Sequence[Scenario]) -> list[tuple[str, list[str]]]:
    """Side-by-side rows: label, then one formatted value per scenario. A scenario still being worked out (or that
    failed) shows its state where its results would be."""
    from apps.core.formatting import number, pounds

    def pct(v: float | None) -> str:
        return "–" if v is None else f"{v:+.1%}"

    def result(fmt: Callable[[Scenario], str]) -> list[str]:
        return [fmt(s) if s.state == Scenario.State.DONE else s.get_state_display() for s in scenarios]

    return [
        ("Budget", [pounds(s.budget_pence) for s in scenarios]),
        ("Coach hours available", [number(s.coach_hours) for s in scenarios]),
        ("Per-practice cap", [pounds(s.practice_cap_pence) for s in scenarios]),
        (
            "Fairness floor",
            ["–" if s.floor_share is None else f"{s.floor_share:.0%} of each budget" for s in scenarios],
        ),
        ("Result", result(lambda s: "feasible" if s.feasible else "no feasible plan")),
        ("Patients protected", result(lambda s: number(s.objective, 1))),
        ("Optimality gap", result(lambda s: "–" if s.gap is None else f"{s.gap:.3%}")),
        ("Spend", result(lambda s: pounds(s.spend_pence))),
        ("Coach hours used", result(lambda s: number(s.hours_used))),
        ("Practices funded", result(lambda s: number(s.practices_funded))),
        ("Greedy baseline: patients protected", result(lambda s: number(s.greedy_objective, 1))),
        ("Gain over greedy", result(lambda s: pct(s.gain_over_greedy))),
        ("Binding constraints", result(lambda s: str(len(s.binding)))),
        *_line_rows(scenarios, result),
    ]


def _line_rows(
    scenarios: Sequence[Scenario], result: Callable[[Callable[[Scenario], str]], list[str]]
) -> list[tuple[str, list[str]]]:
    """Each funding line any of the scenarios has: its spend of its budget and the patients it protects ("–" where
    a scenario has no such line)."""
    from apps.core.formatting import number, pounds

    names: dict[str, str] = {}
    for s in scenarios:
        for r in s.line_results:
            names.setdefault(r["code"], r["name"])

    def line_of(s: Scenario, code: str) -> dict[str, Any] | None:
        return next((r for r in s.line_results if r["code"] == code), None)

    def spend(code: str) -> Callable[[Scenario], str]:
        def fmt(s: Scenario) -> str:
            r = line_of(s, code)
            return "–" if r is None else f"{pounds(r['spend_pence'])} of {pounds(r['budget_pence'])}"

        return fmt

    def protected(code: str) -> Callable[[Scenario], str]:
        def fmt(s: Scenario) -> str:
            r = line_of(s, code)
            return "–" if r is None else number(r["patients_protected"], 1)

        return fmt

    rows: list[tuple[str, list[str]]] = []
    for code, name in names.items():
        rows.append((f"{name}: spend", result(spend(code))))
        rows.append((f"{name}: patients protected", result(protected(code))))
    return rows


def places_by_offer(scenario: Scenario) -> list[dict[str, Any]]:
    """The places a scenario's universal lines buy, summed over ICBs per line and offer (England's plan has one row
    per ICB; what a reader compares is the offer's total)."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for r in scenario.place_results:
        row = out.setdefault(
            (r["line"], r["offer_code"]),
            {**r, "places": 0, "spend_pence": 0, "patients_protected": 0.0, "of_practices": 0},
        )
        row["places"] += r["places"]
        row["spend_pence"] += r["spend_pence"]
        row["patients_protected"] += r["patients_protected"]
        row["of_practices"] += r["of_practices"]
    return sorted(out.values(), key=lambda r: (r["line"], -r["patients_protected"]))
