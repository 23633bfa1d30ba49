"""Targeting business rules: the register as a practice table, closure simulation, ripple scores and group package
suggestions (optimiser scenarios are ``apps.targeting.scenarios``). The models are in the Django-free
``analytics.targeting``; this module only reads the register and stores results. Callers check access first
(apps.targeting.policy)."""

from __future__ import annotations

from datetime import date

import polars as pl
from django.core.exceptions import ValidationError
from django.db import transaction

from analytics.menu.offers import load_menu
from analytics.targeting.dispersal import Dispersal, DispersalParams, Model, disperse
from analytics.targeting.ripple import ripple_scores
from analytics.targeting.suggest import GroupPackage, suggest_group
from analytics.targeting.table import PracticeTable
from apps.datasets.models import ImportLog
from apps.indicators.models import PracticeScore, ScoringRun
from apps.indicators.scoring_runs import current_run
from apps.practices.models import ICB, Practice, PracticeStatus, WorkforceYear
from apps.targeting.models import RippleScore

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
