"""Scoring runs in the database, the one Django home of scoring (the maths is :mod:`analytics.scoring`): store a run
and make it current, read the current run or one asked for, and a practice's score as a user may see it. The watch
list (``services``) and the pages read runs from here."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import polars as pl
from django.db import transaction

from analytics.deployed import INPUT_TITLES, Deployed, with_model
from analytics.deployed import explanation as deployed_explanation
from analytics.history import History, national_as_of
from analytics.indicators.definition import IndicatorDefinition
from analytics.scoring import Explanation, Scored, explain_all, score_as_of
from apps.accounts.models import User
from apps.core import audit
from apps.core.formdata import posted_id
from apps.indicators.models import PracticeScore, ScoringRun
from apps.indicators.policy import can_see_practice_pressure
from apps.practices.models import Practice


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def _explanation_json(items: Sequence[Explanation], datasets: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "id": e.indicator_id,
            "title": e.title,
            "group": e.group,
            "value": e.value,
            "value_text": e.value_text,
            "national_pct": e.national_percentile,
            "icb_pct": e.icb_percentile,
            "contribution": e.contribution,
            "weight": e.weight,
            "period": e.period,
            "source": datasets.get(e.indicator_id, ""),
            "flagged": e.flagged,
            "sentence": e.sentence,
            "missing": e.missing,
        }
        for e in items
    ]


@transaction.atomic
def store_run(
    scored: Scored,
    as_of: date,
    *,
    created_by: str = "",
    backtest: Any = None,
    backtest_text: str = "",
    make_current: bool = True,
    trend: Mapping[str, Mapping[str, float | None]] | None = None,
    deployed: Deployed | None = None,
) -> ScoringRun:
    """Save every practice's score and explanation as a new run; optionally make it the current one. With
    ``deployed`` the model ranks the run (:func:`analytics.deployed.with_model`) and each practice keeps the model's
    explanation beside the indicators'."""
    if deployed is not None:
        scored = with_model(scored, deployed.scores)
    definitions = definitions_as_loaded(scored.definitions)
    frame = scored.frame
    periods: dict[str, str] = {}
    for d in scored.definitions:
        col = f"{d.id}__period"
        if col in frame.columns:
            common = Counter(p for p in frame.get_column(col).to_list() if p)
            periods[d.id] = common.most_common(1)[0][0] if common else ""
    run = ScoringRun.objects.create(
        as_of=as_of,
        created_by=created_by,
        definitions=definitions,
        definitions_sha256=definitions_sha256(scored.definitions),
        data_periods=periods,
        practice_count=frame.height,
        backtest=_jsonable(backtest) if backtest is not None else None,
        backtest_text=backtest_text,
        model=_model_json(deployed),
    )
    model_rows: dict[str, dict[str, Any]] = {}
    if deployed is not None:
        model_rows = {r["practice_code"]: r for r in deployed.scores.iter_rows(named=True)}
    ids = dict(Practice.objects.values_list("code", "id"))
    icbs = dict(Practice.objects.values_list("code", "icb_id"))
    ranked = frame.with_columns(
        icb_rank=pl.col("composite").rank(method="min", descending=True).over("icb_code").cast(pl.Int64)
    )
    explanations = explain_all(scored)
    datasets = {d.id: d.dataset for d in scored.definitions}
    rows = []
    for r in ranked.select(
        "practice_code", "composite", "rank", "icb_rank", "coverage", "flags", "flag_count"
    ).iter_rows(named=True):
        pid = ids.get(r["practice_code"])
        if pid is None:
            continue
        rows.append(
            PracticeScore(
                run=run,
                practice_id=pid,
                icb_id=icbs.get(r["practice_code"]),
                composite=r["composite"],
                rank=r["rank"],
                icb_rank=r["icb_rank"] if r["composite"] is not None else None,
                coverage=r["coverage"] or 0.0,
                flag_count=r["flag_count"] or 0,
                flags=list(r["flags"] or []),
                explanation=_explanation_json(explanations[r["practice_code"]], datasets),
                trend={d: by_code.get(r["practice_code"]) for d, by_code in (trend or {}).items()},
                model_explanation=(
                    deployed_explanation(deployed.model, model_rows[r["practice_code"]])
                    if deployed is not None and r["practice_code"] in model_rows
                    else []
                ),
            )
        )
    PracticeScore.objects.bulk_create(rows, batch_size=1000)
    if make_current:
        make_run_current(run)
    return run


def _model_json(deployed: Deployed | None) -> dict[str, Any] | None:
    if deployed is None:
        return None
    return {
        **_jsonable(dataclasses.asdict(deployed.model)),
        "training_dates": [d.isoformat() for d in deployed.training_dates],
        "titles": {f: INPUT_TITLES.get(f, f) for f in deployed.model.features},
    }


def trend_scores(
    history: History, dates: Sequence[date], definitions: Sequence[IndicatorDefinition]
) -> dict[str, dict[str, float | None]]:
    """Composite score of every practice at each date, each from what was published by that date: how pressure
    moved across the years with data."""
    out: dict[str, dict[str, float | None]] = {}
    for d in dates:
        frame = score_as_of(national_as_of(history, d), d, definitions).frame
        out[d.isoformat()] = dict(zip(frame["practice_code"].to_list(), frame["composite"].to_list(), strict=True))
    return out


def make_run_current(run: ScoringRun) -> None:
    with transaction.atomic():
        replaced = list(ScoringRun.objects.filter(is_current=True).exclude(pk=run.pk))
        ScoringRun.objects.filter(pk__in=[r.pk for r in replaced]).update(is_current=False)
        audit.record_bulk(ScoringRun, replaced, "update", "no longer the current scoring run")
        ScoringRun.objects.filter(pk=run.pk).update(is_current=True)
        audit.record_bulk(ScoringRun, [run], "update", "made the current scoring run")
    run.is_current = True


def definitions_as_loaded(definitions: Sequence[IndicatorDefinition]) -> list[dict[str, Any]]:
    return [_jsonable(d) for d in definitions]


def definitions_sha256(definitions: Sequence[IndicatorDefinition]) -> str:
    """A fingerprint of the definitions, so a run says exactly which version of the index made it."""
    blob = json.dumps(definitions_as_loaded(definitions), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()


# --- Reading runs: the current one, one asked for, a practice's score as a user may see it ------------------------


def current_run() -> ScoringRun | None:
    return ScoringRun.objects.filter(is_current=True).first()


def pressure_shown_to(user: User, practice: Practice) -> PracticeScore | None:
    """The practice's score in the current run if the user may see it (``can_see_practice_pressure``), else None.

    The register's practice page shows it through the template function of this name (``gpsupport/jinja2.py``):
    the register sits below the indicators and its views import nothing from them."""
    if not can_see_practice_pressure(user, practice):
        return None
    run = current_run()
    return run.scores.filter(practice=practice).first() if run else None


def run_for(run_id: str | None) -> ScoringRun | None:
    """The run asked for by id (an older run stays readable), else the current one."""
    pk = posted_id(run_id)
    if pk is not None:
        return ScoringRun.objects.filter(pk=pk).first() or current_run()
    return current_run()
