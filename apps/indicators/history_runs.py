"""Historical scoring runs: the walk-forward back-test stored per as-of date, and any run's scores as CSV rows.

A historical run is an ordinary :class:`ScoringRun` that is **never** made current: the watch lists keep reading the
current run. Walk-forward runs carry the year's table, the fitted model and every practice's model probability and
contributions in ``backtest``; the whole table (all years) is in ``backtest_text``.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from typing import Any

import numpy as np
import polars as pl
from django.db import transaction
from django.db.models import F

from analytics.disappearances import classify
from analytics.history import History, national_as_of
from analytics.scoring import score_as_of
from analytics.walkforward import AS_OF_DATES, WalkForward, YearResult, walk_forward
from apps.indicators import history_db
from apps.indicators.history_db import load_history
from apps.indicators.models import PracticeScore, ScoringRun
from apps.indicators.scoring_runs import _jsonable, store_run

WALK_FORWARD_BY = "backtest --walk-forward"
EXPORT_BY = "export_scores"


class RunNotFound(LookupError):
    """The run asked for does not exist (the message says what was asked)."""


def _year_json(y: YearResult) -> dict[str, Any]:
    model = dataclasses.asdict(y.model) if y.model is not None else None
    codes = y.scores.get_column("practice_code").to_list()
    probs = y.scores.get_column("probability").to_list()
    contrib_cols = [f"{f}__contrib" for f in (y.model.features if y.model else ())]
    contribs = [y.scores.get_column(c).to_list() for c in contrib_cols]
    by_code = {
        code: [None if p is None or np.isnan(p) else round(float(p), 6), *[round(float(c[i]), 4) for c in contribs]]
        for i, (code, p) in enumerate(zip(codes, probs, strict=True))
    }
    return {
        "walk_forward": _jsonable([dataclasses.asdict(r) for r in y.rows]),
        "as_of": y.as_of.isoformat(),
        "horizon_end": y.horizon_end.isoformat(),
        "cohort": y.cohort,
        "training_dates": [d.isoformat() for d in y.training_dates],
        "model": _jsonable(model),
        "model_scores": by_code,
    }


def run_walk_forward(
    dates: tuple[date, ...] = AS_OF_DATES, *, n_boot: int = 1000, store: bool = True, history: History | None = None
) -> tuple[WalkForward, list[ScoringRun]]:
    """Run the walk-forward back-test on the imported history; store one non-current run per as-of date."""
    history = history if history is not None else load_history()
    result = walk_forward(history, history_db.lineage(), history_db.closure_labels(), dates, n_boot=n_boot)
    runs: list[ScoringRun] = []
    if store:
        text = result.as_text()
        with transaction.atomic():
            for y in result.years:
                scored = score_as_of(national_as_of(history, y.as_of), y.as_of)
                runs.append(
                    store_run(
                        scored,
                        y.as_of,
                        created_by=WALK_FORWARD_BY,
                        backtest=_year_json(y),
                        backtest_text=text,
                        make_current=False,
                    )
                )
    return result, runs


def latest_walk_forward() -> list[ScoringRun]:
    """The runs of the most recent walk-forward back-test, oldest as-of first (empty when none was stored)."""
    last = ScoringRun.objects.filter(created_by=WALK_FORWARD_BY).order_by("-created_at").first()
    if last is None:
        return []
    # one command stores all its years in one transaction, a few seconds apart at most
    batch = ScoringRun.objects.filter(created_by=WALK_FORWARD_BY, backtest_text=last.backtest_text).order_by("as_of")
    seen: dict[date, ScoringRun] = {}
    for run in batch.order_by("as_of", "-created_at"):
        seen.setdefault(run.as_of, run)
    return list(seen.values())


_RUN_ID = re.compile(r"^[0-9]{1,12}$")


def find_run(ref: str) -> ScoringRun | None:
    """A stored run by id or by as-of date (the latest with that date); None when there is none. Never scores."""
    ref = ref.strip()
    if _RUN_ID.match(ref):
        return ScoringRun.objects.filter(pk=int(ref)).first()
    try:
        as_of = date.fromisoformat(ref)
    except ValueError:
        return None
    return ScoringRun.objects.filter(as_of=as_of).order_by("-created_at").first()


def resolve_run(ref: str, *, created_by: str = EXPORT_BY) -> ScoringRun:
    """A run by id (``42``) or by as-of date (``2023-04-01``: the latest run with that date, else a new historical
    run scored from what was published by then — stored, never made current)."""
    ref = ref.strip()
    if _RUN_ID.match(ref):
        run = ScoringRun.objects.filter(pk=int(ref)).first()
        if run is None:
            raise RunNotFound(f"no scoring run {ref}")
        return run
    try:
        as_of = date.fromisoformat(ref)
    except ValueError:
        raise RunNotFound(f"{ref!r} is neither a run id nor an as-of date (YYYY-MM-DD)") from None
    existing = ScoringRun.objects.filter(as_of=as_of).order_by("-created_at").first()
    if existing is not None:
        return existing
    history = load_history()
    return store_run(
        score_as_of(national_as_of(history, as_of), as_of), as_of, created_by=created_by, make_current=False
    )


def export_rows(run: ScoringRun, icb_id: int | None = None) -> tuple[list[str], list[list[Any]]]:
    """Header and rows: ODS code, score, rank, coverage, flags, each indicator's contribution; and, for a
    walk-forward run, the model's probability, rank and each input's contribution to the log-odds. ``icb_id``
    narrows the rows to one ICB's practices (ranks stay national)."""
    indicators = [d["id"] for d in run.definitions]
    model = (run.backtest or {}).get("model") or {}
    model_scores: dict[str, list[float | None]] = (run.backtest or {}).get("model_scores") or {}
    features = list(model.get("features") or [])
    header = ["ods_code", "score", "rank", "coverage", "flag_count", *[f"{i}_contribution" for i in indicators]]
    if model_scores:
        header += ["model_probability", "model_rank", *[f"model_{f}_contribution" for f in features]]
    probs = {code: v[0] for code, v in model_scores.items() if v and v[0] is not None}
    order = sorted(probs, key=lambda c: -(probs[c] or 0.0))
    model_rank = {code: i for i, code in enumerate(order, start=1)}
    rows: list[list[Any]] = []
    ranked = F("rank").asc(nulls_last=True)
    scores = PracticeScore.objects.filter(run=run).select_related("practice").order_by(ranked, "practice__code")
    if icb_id is not None:
        scores = scores.filter(icb_id=icb_id)
    for s in scores.iterator(chunk_size=2000):
        contrib = {e["id"]: e.get("contribution") for e in s.explanation}
        row: list[Any] = [s.practice.code, s.composite, s.rank, s.coverage, s.flag_count]
        row += [contrib.get(i) for i in indicators]
        if model_scores:
            m = model_scores.get(s.practice.code) or []
            row += [m[0] if m else None, model_rank.get(s.practice.code), *(m[1:] if m else [None] * len(features))]
        rows.append(row)
    return header, rows


def walk_forward_table() -> dict[str, Any] | None:
    """What the back-test page shows of the latest walk-forward: every row, the runs, and the text report."""
    runs = latest_walk_forward()
    if not runs:
        return None
    rows = [r for run in runs for r in (run.backtest or {}).get("walk_forward", [])]
    models = [
        {
            "as_of": run.as_of,
            "run_id": run.pk,
            "training_dates": (run.backtest or {}).get("training_dates", []),
            "features": ((run.backtest or {}).get("model") or {}).get("features", []),
            "coef": ((run.backtest or {}).get("model") or {}).get("coef", []),
            "inputs": ((run.backtest or {}).get("model") or {}).get("inputs", ""),
        }
        for run in runs
    ]
    return {"rows": rows, "models": models, "text": runs[0].backtest_text, "created_at": runs[-1].created_at}


def run_domino_check(history: History | None = None) -> str:
    """The domino check on the imported history and locations (printed, not stored: it names no practice)."""
    from analytics.targeting.domino import as_text, domino_check

    history = history if history is not None else load_history()
    return as_text(domino_check(history.workforce, history_db.locations(), classified_disappearances(history)))


def classified_disappearances(history: History | None = None) -> pl.DataFrame:
    """Every disappeared practice code classified closure or merger, from the labels and lineage **as imported**:
    what the back-test and the domino check read."""
    history = history if history is not None else load_history()
    return classify(history.practices, history_db.closure_labels(), history_db.lineage())
