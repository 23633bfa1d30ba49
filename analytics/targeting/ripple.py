"""Ripple score: what each practice's closure would do to its neighbours, for every practice at once.

For every open practice with a location and patients, :func:`ripple_scores` runs the gravity model of
:mod:`analytics.targeting.dispersal` as if that practice alone closed (every other practice as it is today). All
practices are simulated together on fixed-width KD-tree neighbour lists (one (n, k) array per quantity), so the whole
country takes well under a second.

Per closing practice:

* ``crossing_neighbours`` — neighbours pushed over a pressure threshold (at or under before, over after);
* ``patients_at_risk`` — the patients of those neighbours (their new lists);
* ``unabsorbed`` — patients no neighbour within reach could take under the caps;
* ``ripple_score`` = ``patients_at_risk + unabsorbed``: patients who would end up at a practice over the threshold
  or with no practice to go to. 0 means the neighbours absorb the list comfortably.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from analytics.targeting.dispersal import Batch, DispersalParams, Model
from analytics.targeting.table import PracticeTable

RIPPLE_COLUMNS = (
    "practice_code",
    "icb_code",
    "list_size",
    "neighbours",
    "absorbed",
    "unabsorbed",
    "crossing_neighbours",
    "patients_at_risk",
    "ripple_score",
    "ripple_rank",
)


def closers(table: PracticeTable) -> np.ndarray:
    """Table positions of the practices whose closure is simulated: open, located, with patients."""
    return np.flatnonzero(table.can_receive).astype(np.int64)


def summarise(table: PracticeTable, batch: Batch) -> pl.DataFrame:
    valid = batch.valid
    crosses = batch.crosses
    at_risk = np.where(crosses, batch.new_list, 0.0).sum(axis=1)
    unabsorbed = np.maximum(batch.unabsorbed, 0.0)
    df = pl.DataFrame(
        {
            "practice_code": [table.code[i] for i in batch.closing],
            "icb_code": [table.icb_code[i] for i in batch.closing],
            "list_size": batch.closing_list,
            "neighbours": valid.sum(axis=1).astype(np.int64),
            "absorbed": batch.received.sum(axis=1),
            "unabsorbed": unabsorbed,
            "crossing_neighbours": crosses.sum(axis=1).astype(np.int64),
            "patients_at_risk": at_risk,
            "ripple_score": at_risk + unabsorbed,
        }
    )
    return df.with_columns(pl.col("ripple_score").rank("min", descending=True).cast(pl.Int64).alias("ripple_rank"))


def ripple_scores(
    table: PracticeTable, params: DispersalParams | None = None, model: Model | None = None
) -> pl.DataFrame:
    """One row per simulated practice with the columns :data:`RIPPLE_COLUMNS` (rank 1 = biggest ripple)."""
    m = model if model is not None else Model(table, params)
    return summarise(table, m.run(closers(table)))
