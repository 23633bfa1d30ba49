"""Indicator definitions (any signed-in user) and a practice's pressure score (``can_see_practice_pressure``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema

from analytics.indicators.definition import load_definitions
from apps.accounts.access import is_signed_in
from apps.api.common import CSV_CONTENT, FormatQuery, csv_response, table_responses, wants_csv
from apps.core.exports import table_download
from apps.indicators.models import PracticeScore
from apps.indicators.policy import can_see_practice_pressure
from apps.indicators.scoring_runs import current_run
from apps.practices.policy import get_practice_for

router = Router(tags=["indicators"])


class IndicatorOut(Schema):
    id: str
    title: str
    measures: str
    numerator: str
    denominator: str
    unit: str
    direction: str = Field(description="high_is_worse or low_is_worse")
    group: str = Field(description="demand, capacity or internal")
    dataset: str
    period: str
    weight: float = Field(description="Weight in the composite; 0 = shown and flagged, not scored")
    flag: str | None = Field(description="The national criterion this indicator can flag, in words")
    source_columns: list[str]
    rationale: str


class ExplanationOut(Schema):
    indicator_id: str
    title: str
    group: str
    value: float | None
    value_text: str
    national_percentile: float | None = Field(description="0–100 among practices in England, oriented to pressure")
    icb_percentile: float | None
    contribution: float | None = Field(description="Points this indicator adds to the composite")
    weight: float
    period: str | None
    source: str = Field(description="The dataset the value was read from")
    flagged: bool = Field(description="Meets the indicator's national criterion")
    missing: bool
    sentence: str


def _explanation(e: dict[str, Any]) -> dict[str, Any]:
    """A stored explanation entry (``scoring_runs._explanation_json``) under the API's field names."""
    return {
        "indicator_id": e["id"],
        "title": e["title"],
        "group": e["group"],
        "value": e.get("value"),
        "value_text": e.get("value_text", ""),
        "national_percentile": e.get("national_pct"),
        "icb_percentile": e.get("icb_pct"),
        "contribution": e.get("contribution"),
        "weight": e["weight"],
        "period": e.get("period"),
        "source": e.get("source", ""),
        "flagged": bool(e.get("flagged")),
        "missing": bool(e.get("missing")),
        "sentence": e.get("sentence", ""),
    }


class TrendPoint(Schema):
    as_of: date
    composite: float | None


class ScoreOut(Schema):
    practice_code: str
    run_id: int
    as_of: date
    composite: float | None = Field(description="0–100, higher means more pressure")
    rank: int | None = Field(description="1 = most pressure nationally")
    icb_rank: int | None
    coverage: float = Field(description="Share of indicator weight with data")
    flag_count: int
    flags: list[str]
    indicators: list[ExplanationOut]
    trend: list[TrendPoint]


@router.get(
    "/indicators",
    response=table_responses(list[IndicatorOut]),
    openapi_extra=CSV_CONTENT,
    summary="Indicator definitions",
)
def list_indicators(request: HttpRequest, query: Query[FormatQuery]) -> Any:
    """The pressure-index indicators as declared in their reviewed definition files."""
    if not is_signed_in(request.auth):
        raise PermissionDenied
    rows = [
        {
            "id": d.id,
            "title": d.title,
            "measures": d.measures,
            "numerator": d.numerator,
            "denominator": d.denominator,
            "unit": d.unit,
            "direction": d.direction,
            "group": d.group,
            "dataset": d.dataset,
            "period": d.period,
            "weight": d.weight,
            "flag": d.flag.label if d.flag else None,
            "source_columns": list(d.source_columns),
            "rationale": d.rationale.strip(),
        }
        for d in load_definitions()
    ]
    if wants_csv(request, query.format):
        return csv_response(rows, IndicatorOut, "indicators")
    return rows


@router.get(
    "/practices/{code}/scores",
    response=table_responses(ScoreOut),
    openapi_extra=CSV_CONTENT,
    summary="A practice's pressure score and its explanation",
)
def get_practice_scores(request: HttpRequest, code: str, query: Query[FormatQuery]) -> Any:
    """The practice's score in the current scoring run, with one explanation per indicator.

    Only the practice's own ICB team and the practice itself may see it (the national team sees aggregates only).
    CSV gives the indicator rows.
    """
    practice = get_practice_for(request.auth, code)
    if not can_see_practice_pressure(request.auth, practice):
        raise PermissionDenied("Only the practice's own ICB team and the practice itself may see its pressure score.")
    run = current_run()
    score = PracticeScore.objects.filter(run=run, practice=practice).first() if run else None
    if run is None or score is None:
        raise Http404
    indicators = [_explanation(e) for e in score.explanation]
    if wants_csv(request, query.format):
        return csv_response(indicators, ExplanationOut, f"scores-{practice.code}")
    return {
        "practice_code": practice.code,
        "run_id": run.pk,
        "as_of": run.as_of,
        "composite": score.composite,
        "rank": score.rank,
        "icb_rank": score.icb_rank,
        "coverage": score.coverage,
        "flag_count": score.flag_count,
        "flags": list(score.flags),
        "indicators": indicators,
        "trend": [{"as_of": d, "composite": v} for d, v in sorted(score.trend.items())],
    }


class RunScoresOut(Schema):
    run_id: int
    as_of: date
    is_current: bool = Field(description="False for historical runs (walk-forward, exports as of a past date)")
    columns: list[str]
    scores: list[dict[str, Any]] = Field(description="One object per practice, keyed by the columns")


@router.get(
    "/icbs/{code}/scoring-runs/{run}/scores",
    response=table_responses(RunScoresOut),
    openapi_extra=CSV_CONTENT,
    summary="One ICB's scores in any scoring run (current or historical), with every component",
)
def get_icb_run_scores(request: HttpRequest, code: str, run: str, query: Query[FormatQuery]) -> Any:
    """Every practice of the ICB in the run named by id or as-of date (``2023-04-01``: the latest run with that
    date): ODS code, score, national rank, coverage, flags, each indicator's contribution and, for walk-forward runs,
    the model's probability, rank and contributions. The ICB's own team only (as its watch list)."""
    from apps.indicators.history_runs import export_rows, find_run
    from apps.indicators.policy import can_see_watch_list
    from apps.practices.policy import get_icb_for

    icb = get_icb_for(request.auth, code)
    if not can_see_watch_list(request.auth, icb):
        raise PermissionDenied("Only the ICB's own team may see its practices' scores.")
    found = find_run(run)
    if found is None:
        raise Http404
    header, rows = export_rows(found, icb_id=icb.pk)
    records = [dict(zip(header, r, strict=True)) for r in rows]
    if wants_csv(request, query.format):
        return table_download(rows, header, f"scores-{icb.code}-run-{found.pk}", "csv")
    return {
        "run_id": found.pk,
        "as_of": found.as_of,
        "is_current": found.is_current,
        "columns": header,
        "scores": records,
    }
