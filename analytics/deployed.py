"""The deployed pressure index: the closure model, fitted on every year whose outcome is known, scoring today.

Chosen with the walk-forward numbers (``docs/walk-forward.md``): out of time, on true closures, the model (inputs
and weights from earlier years only) averaged AUC 0.789 over 2020-2023 against 0.780 for the old composite and 0.775
for list size alone, so the current run ranks practices by the model and explains each rank by the model's inputs.

* **training** — the as-of dates 1 April ``FIRST_TRAINING_YEAR`` ... whose 24-month outcome window had ended both by
  the scoring date and by the date the ODS practice file was published (closures after it are not known yet);
  outcomes from the closure-or-merger rule without the hand labels, as in the walk-forward;
* **inputs** — chosen on those years only (:func:`analytics.model.choose_inputs`);
* **score** — the predicted probability of a true closure within 24 months, as a percentage (0-100); the rank orders
  it. A practice outside the model's cohort (no workforce return in the latest published year) has no score and
  no rank, as a practice with too little data has none in the composite;
* **explanation** — each input's value and contribution to the log-odds; with the intercept they add up to the
  logit of the score.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date

import numpy as np
import polars as pl

from analytics.disappearances import classify
from analytics.history import History, as_published, status_published
from analytics.model import Model, choose_inputs
from analytics.scoring import Scored
from analytics.walkforward import _Features, training_set

INPUT_TITLES = {
    "log_list": "List size (log)",
    "list_change_1y": "List change over a year",
    "list_change_2y": "List change over two years",
    "log_gp_fte": "GP FTE (log)",
    "gp_fte_change": "GP FTE change over a year",
    "single_handed": "Single-handed (one GP)",
    "log_patients_per_gp": "Patients per GP FTE (log)",
    "locum_share": "Locum and trainee share of GP FTE",
    "admin_per_10k": "Admin FTE per 10,000 patients",
    "admin_change": "Admin FTE change over a year",
    "nurse_per_10k": "Nurse FTE per 10,000 patients",
    "pay_per_weighted": "£ per weighted patient (log)",
    "pay_change": "Change in £ per patient",
    "qof_percent": "QOF achievement (% of maximum)",
    "imd": "Deprivation (IMD 2019 score)",
    "small_and_shrinking": "Small list that shrank",
    "log_list_sq": "List size (log, squared)",
    "small_x_single": "Small list and single-handed",
    "gp_per_1k": "GP FTE per 1,000 patients",
    "gp_per_1k_change": "Change in GP FTE per 1,000 patients",
    "partner_loss": "Lost more than half a partner",
    "list_x_change": "List size x list change",
}


@dataclasses.dataclass(frozen=True)
class Deployed:
    model: Model
    training_dates: tuple[date, ...]
    scores: pl.DataFrame
    """practice_code, probability, and per input ``<input>`` (value) and ``<input>__contrib`` (log-odds)."""


def training_anchor(history: History, as_of: date) -> date:
    """The latest 1 April by which both the scoring date and the ODS file's publication had passed."""
    known = min(as_of, status_published(history) or as_of)
    return date(known.year if known >= date(known.year, 4, 1) else known.year - 1, 4, 1)


def fit_deployed(history: History, lineage: pl.DataFrame, as_of: date) -> Deployed | None:
    """Fit the model on every finished year and score the practices open on ``as_of``; None when no year has ended
    with a closure to learn from."""
    feats = _Features(history, lineage)
    rule = classify(history.practices, pl.DataFrame(schema={"practice_code": pl.Utf8, "label": pl.Utf8}), lineage)
    frames, ys, dates = training_set(history, lineage, rule, training_anchor(history, as_of), feats)
    if not frames or not any(y.any() for y in ys):
        return None
    model = choose_inputs(frames, ys)
    return Deployed(
        model, dates, model_scores(model, feats(as_of) if as_of in dates else _now(history, lineage, as_of))
    )


def _now(history: History, lineage: pl.DataFrame, as_of: date) -> pl.DataFrame:
    from analytics.features import features

    return features(as_published(history, as_of), lineage)


def model_scores(model: Model, frame: pl.DataFrame) -> pl.DataFrame:
    """practice_code, probability, and each input's value and contribution for every row of a feature frame."""
    contrib = model.contributions(frame)
    return pl.DataFrame(
        {
            "practice_code": frame.get_column("practice_code"),
            "probability": model.predict(frame),
            **{f: frame.get_column(f).cast(pl.Float64) for f in model.features},
            **{f"{f}__contrib": contrib[:, i] for i, f in enumerate(model.features)},
        }
    )


def with_model(scored: Scored, scores: pl.DataFrame) -> Scored:
    """The scored frame with ``composite`` = the model's probability of closure in % and ``rank`` ordering it (1 =
    most at risk); practices the model does not score keep no composite and no rank."""
    pct = scores.select("practice_code", (pl.col("probability") * 100).alias("_model"))
    frame = (
        scored.frame.drop("composite", "rank")
        .join(pct, on="practice_code", how="left")
        .with_columns(
            pl.col("_model").alias("composite"),
            pl.col("_model").rank(method="min", descending=True).cast(pl.Int64).alias("rank"),
        )
        .drop("_model")
    )
    return dataclasses.replace(scored, frame=frame)


def explanation(model: Model, row: dict[str, float | None]) -> list[dict[str, object]]:
    """One entry per input, largest contribution to the log-odds first: id, title, value, contribution."""
    items = [
        {
            "id": f,
            "title": INPUT_TITLES.get(f, f),
            "value": None if row.get(f) is None or np.isnan(row[f] or 0.0) else round(float(row[f] or 0.0), 4),
            "contribution": round(float(row.get(f"{f}__contrib") or 0.0), 4),
        }
        for f in model.features
    ]
    return sorted(items, key=lambda e: -abs(float(e["contribution"])))  # type: ignore[arg-type]


def trend(model: Model, history: History, lineage: pl.DataFrame, dates: Sequence[date]) -> dict[str, dict[str, float]]:
    """The deployed model's score (%) of every practice at each date, from what was published by then."""
    out: dict[str, dict[str, float]] = {}
    for d in dates:
        s = model_scores(model, _now(history, lineage, d))
        out[d.isoformat()] = dict(zip(s["practice_code"].to_list(), (100 * s["probability"]).to_list(), strict=True))
    return out
