"""Targeting business rules: the register as a practice table, closure simulation, ripple scores, group package
suggestions and optimiser scenarios. The models are in the Django-free ``analytics.targeting``; this module only
reads the register and stores results. Callers check access first (apps.targeting.policy)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import polars as pl
from django.core.exceptions import ValidationError
from django.db import transaction

from analytics.menu.offers import load_menu
from analytics.targeting.dispersal import Dispersal, DispersalParams, Model, disperse
from analytics.targeting.inputs import candidates, fair_share_budgets
from analytics.targeting.optimise import optimise
from analytics.targeting.plan import Candidates, Plan, Settings
from analytics.targeting.ripple import ripple_scores
from analytics.targeting.suggest import GroupPackage, suggest_group
from analytics.targeting.table import PracticeTable
from apps.accounts.models import User
from apps.datasets.models import ImportLog
from apps.indicators.models import PracticeScore, ScoringRun
from apps.indicators.scoring_runs import current_run
from apps.practices.models import ICB, PaymentsYear, Practice, PracticeStatus, WorkforceYear
from apps.targeting.models import RippleScore, Scenario
from apps.targeting.policy import scenario_scope_for

VARIANT_STEP = 0.20  # the quick comparison: budget ±20%, capacity ±20%
MAX_BUDGET_POUNDS = 1_000_000_000
MAX_COACH_HOURS = 10_000_000

_tables: dict[tuple[int | None, int | None], PracticeTable] = {}
_models: dict[tuple[int | None, int | None, DispersalParams], Model] = {}


def _cache_key(run: ScoringRun | None) -> tuple[int | None, int | None]:
    last = ImportLog.objects.filter(status=ImportLog.Status.SUCCESS).order_by("-pk").values_list("pk", flat=True)
    return (run.pk if run else None, last.first())


def practice_table(run: ScoringRun | None = None) -> PracticeTable:
    """Every practice in the register: location, list, FTE of the latest workforce year ended by the run's as-of
    date, and the run's composite pressure score. Cached per (run, latest import)."""
    run = run if run is not None else current_run()
    key = _cache_key(run)
    if key in _tables:
        return _tables[key]
    as_of = run.as_of if run else date.today()
    years = sorted(set(WorkforceYear.objects.values_list("fy_end_year", flat=True)))
    usable = [y for y in years if date(y, 3, 31) <= as_of] or years[:1]
    workforce: dict[int, tuple[float | None, float | None]] = {}
    if usable:
        for w in WorkforceYear.objects.filter(fy_end_year=usable[-1]).only(
            "practice_id", "gp_fte", "locum_trainee_fte", "nurse_fte", "dpc_fte"
        ):
            workforce[w.practice_id] = (w.gp_fte, w.clinical_fte)
    pressure = dict(PracticeScore.objects.filter(run=run).values_list("practice_id", "composite")) if run else {}
    rows = list(Practice.objects.values_list("pk", "code", "name", "icb__code", "lat", "lon", "list_size", "status"))
    nan = float("nan")

    def num(v: float | None) -> float:
        return float(v) if v is not None else nan

    frame = pl.DataFrame(
        {
            "code": [r[1] for r in rows],
            "name": [r[2] for r in rows],
            "icb_code": [r[3] or "" for r in rows],
            "lat": [num(r[4]) for r in rows],
            "lon": [num(r[5]) for r in rows],
            "list_size": [num(r[6]) for r in rows],
            "gp_fte": [num(workforce.get(r[0], (None, None))[0]) for r in rows],
            "clinical_fte": [num(workforce.get(r[0], (None, None))[1]) for r in rows],
            "pressure": [num(pressure.get(r[0])) for r in rows],
            "is_open": [r[7] == PracticeStatus.ACTIVE for r in rows],
        },
        schema={
            "code": pl.Utf8,
            "name": pl.Utf8,
            "icb_code": pl.Utf8,
            "lat": pl.Float64,
            "lon": pl.Float64,
            "list_size": pl.Float64,
            "gp_fte": pl.Float64,
            "clinical_fte": pl.Float64,
            "pressure": pl.Float64,
            "is_open": pl.Boolean,
        },
    )
    table = PracticeTable.from_frame(frame)
    _tables.clear()
    _tables[key] = table
    return table


def dispersal_model(params: DispersalParams, run: ScoringRun | None = None) -> Model:
    """The gravity model over the register (its KD-tree built once per table and parameter set)."""
    run = run if run is not None else current_run()
    key = (*_cache_key(run), params)
    if key not in _models:
        if len(_models) > 20:
            _models.clear()
        _models[key] = Model(practice_table(run), params)
    return _models[key]


def simulate_closure(practice: Practice, params: DispersalParams | None = None) -> Dispersal:
    """Where the practice's patients would go if it closed. Raises ValidationError when it cannot be simulated."""
    p = params if params is not None else DispersalParams()
    problems = p.problems()
    if problems:
        raise ValidationError(problems)
    if practice.lat is None or practice.lon is None:
        raise ValidationError("This practice has no location in the register, so its closure cannot be simulated.")
    if not practice.list_size:
        raise ValidationError("This practice has no registered list size, so there are no patients to disperse.")
    model = dispersal_model(p)
    return disperse(model.table, practice.code, model=model)


@transaction.atomic
def compute_ripple(run: ScoringRun, params: DispersalParams | None = None) -> int:
    """Store every open practice's ripple score for ``run`` (replacing any stored for it). Returns the row count."""
    frame = ripple_scores(practice_table(run), params)
    frame = frame.with_columns(
        pl.col("ripple_score").rank("min", descending=True).over("icb_code").cast(pl.Int64).alias("icb_rank")
    )
    ids = dict(Practice.objects.values_list("code", "id"))
    icbs = dict(ICB.objects.values_list("code", "id"))
    RippleScore.objects.filter(run=run).delete()
    rows = [
        RippleScore(
            run=run,
            practice_id=ids[r["practice_code"]],
            icb_id=icbs.get(r["icb_code"]),
            list_size=r["list_size"],
            neighbours=r["neighbours"],
            absorbed=r["absorbed"],
            unabsorbed=r["unabsorbed"],
            crossing_neighbours=r["crossing_neighbours"],
            patients_at_risk=r["patients_at_risk"],
            ripple_score=r["ripple_score"],
            ripple_rank=r["ripple_rank"],
            icb_rank=r["icb_rank"],
        )
        for r in frame.iter_rows(named=True)
        if r["practice_code"] in ids
    ]
    RippleScore.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def ripple_rows(icb: ICB, run: ScoringRun | None) -> list[RippleScore]:
    """The ICB's practices by ripple score, biggest first."""
    if run is None:
        return []
    return list(
        RippleScore.objects.filter(run=run, icb=icb).select_related("practice").order_by("icb_rank", "practice__code")
    )


def suggest_group_package(practice_code: str, params: DispersalParams | None = None) -> GroupPackage:
    """A priced group package for a struggling practice and the neighbours most exposed to its closure.

    The hand-over point for the case workflow: it names the practices (``members``) and the priced menu lines
    (``lines``, integer pence). Raises ``Practice.DoesNotExist`` for an unknown code and ValidationError when the
    practice cannot be simulated. Callers check access (``can_simulate_closure``) first.
    """
    practice = Practice.objects.get(code=practice_code.upper())
    dispersal = simulate_closure(practice, params)
    run = current_run()
    score = PracticeScore.objects.filter(run=run, practice=practice).first() if run else None
    return suggest_group(dispersal, load_menu(), pressure=score.composite if score else None)


# ---------------------------------------------------------------------------------------------------------------------
# Optimiser scenarios
# ---------------------------------------------------------------------------------------------------------------------


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
    user: User, *, name: str, scope: str, budget_pounds: str, coach_hours: str, cap_pounds: str, floor_percent: str
) -> tuple[dict[str, str], dict[str, Any]]:
    """Check the form's text inputs; return (errors by field, cleaned values)."""
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

    budget = number("budget", budget_pounds, "the budget in pounds", 1, MAX_BUDGET_POUNDS)
    hours = number("coach_hours", coach_hours, "coach hours", 0, MAX_COACH_HOURS)
    cap = number("practice_cap", cap_pounds, "the per-practice cap in pounds", 100, 10_000_000)
    clean["budget_pence"] = round(budget * 100) if budget is not None else None
    clean["coach_hours"] = hours
    clean["practice_cap_pence"] = round(cap * 100) if cap is not None else None
    clean["floor_share"] = None
    if floor_percent.strip():
        floor = number("floor", floor_percent, "the floor as a percentage", 1, 100)
        clean["floor_share"] = floor / 100 if floor is not None else None
    return errors, clean


def _settings_for(
    scope: str, icb: ICB | None, cands: Candidates, budget_pence: int, hours: float, cap: int, floor: float | None
) -> Settings:
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
) -> Scenario:
    """Run the optimiser and save the scenario with its result, explanations and the greedy comparison."""
    if scope == Scenario.Scope.ICB and icb is None:
        raise ValidationError("An ICB scenario needs an ICB")
    run = current_run()
    cands = scenario_candidates(scope, icb, run)
    settings = _settings_for(scope, icb, cands, budget_pence, coach_hours, practice_cap_pence, floor_share)
    problems = settings.problems()
    if problems:
        raise ValidationError(problems)
    plan: Plan = optimise(cands, load_menu(), settings)
    g = plan.greedy
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
        run=run,
        created_by=user,
        status=plan.status,
        feasible=plan.feasible,
        message=plan.message,
        source=plan.source,
        objective=plan.objective,
        bound=plan.bound if math.isfinite(plan.bound) else None,
        gap=plan.gap if math.isfinite(plan.gap) else None,
        solve_seconds=plan.solve_seconds,
        spend_pence=plan.spend_pence,
        hours_used=plan.hours,
        practices_funded=plan.practices_funded,
        packages=plan.items,
        greedy_objective=g.objective if g else None,
        greedy_spend_pence=g.spend_pence if g else None,
        greedy_hours=g.hours if g else None,
        greedy_practices=g.practices_funded if g else None,
        binding=list(plan.binding),
        icb_results=_jsonable(list(plan.icbs)),
        practice_results=_jsonable(list(plan.practices)),
    )


def create_variants(user: User, scenario: Scenario) -> list[Scenario]:
    """The quick comparison: the same scenario with the budget and the coach hours each 20% lower and higher."""
    out = []
    for label, budget_factor, hours_factor in (
        ("budget −20%", 1 - VARIANT_STEP, 1.0),
        ("budget +20%", 1 + VARIANT_STEP, 1.0),
        ("coach hours −20%", 1.0, 1 - VARIANT_STEP),
        ("coach hours +20%", 1.0, 1 + VARIANT_STEP),
    ):
        out.append(
            run_scenario(
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
            )
        )
    return out


def compare_rows(scenarios: Sequence[Scenario]) -> list[tuple[str, list[str]]]:
    """Side-by-side rows: label, then one formatted value per scenario."""
    from apps.core.formatting import number, pounds

    def pct(v: float | None) -> str:
        return "–" if v is None else f"{v:+.1%}"

    return [
        ("Budget", [pounds(s.budget_pence) for s in scenarios]),
        ("Coach hours available", [number(s.coach_hours) for s in scenarios]),
        ("Per-practice cap", [pounds(s.practice_cap_pence) for s in scenarios]),
        (
            "Fairness floor",
            ["–" if s.floor_share is None else f"{s.floor_share:.0%} of each budget" for s in scenarios],
        ),
        ("Result", ["feasible" if s.feasible else "no feasible plan" for s in scenarios]),
        ("Expected benefit (need-weighted)", [number(s.objective, 2) for s in scenarios]),
        ("Optimality gap", ["–" if s.gap is None else f"{s.gap:.3%}" for s in scenarios]),
        ("Spend", [pounds(s.spend_pence) for s in scenarios]),
        ("Coach hours used", [number(s.hours_used) for s in scenarios]),
        ("Practices funded", [number(s.practices_funded) for s in scenarios]),
        ("Greedy baseline benefit", [number(s.greedy_objective, 2) for s in scenarios]),
        ("Gain over greedy", [pct(s.gain_over_greedy) for s in scenarios]),
        ("Binding constraints", [str(len(s.binding)) for s in scenarios]),
    ]
