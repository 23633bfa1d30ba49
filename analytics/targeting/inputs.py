"""Glue between the practice table, the ripple scores and the optimiser (used by the benches and the Django app)."""

from __future__ import annotations

import numpy as np
import polars as pl

from analytics.targeting.plan import Candidates, need_scores
from analytics.targeting.table import PracticeTable


def candidates(
    table: PracticeTable,
    ripple: pl.DataFrame,
    weighted_ratio: pl.DataFrame | None = None,
    icbs: set[str] | None = None,
) -> Candidates:
    """Open practices with patients (optionally only those of ``icbs``), with need from pressure and ripple.

    ``ripple``: practice_code, ripple_score, crossing_neighbours (from :func:`analytics.targeting.ripple.ripple_scores`
    or the stored scores). ``weighted_ratio``: practice_code, ratio — weighted list / registered list from NHS
    payments; the weighted list is list size × ratio (1 where unknown).
    """
    f = table.to_frame().filter(pl.col("is_open") & (pl.col("list_size").fill_null(0) > 0))
    if icbs is not None:
        f = f.filter(pl.col("icb_code").is_in(sorted(icbs)))
    r = ripple.select(
        pl.col("practice_code").alias("code"),
        pl.col("ripple_score").cast(pl.Float64),
        pl.col("crossing_neighbours").cast(pl.Int64),
    )
    f = f.join(r, on="code", how="left")
    if weighted_ratio is not None:
        f = f.join(weighted_ratio.select(pl.col("practice_code").alias("code"), "ratio"), on="code", how="left")
    else:
        f = f.with_columns(pl.lit(None, dtype=pl.Float64).alias("ratio"))
    pressure = f.get_column("pressure").cast(pl.Float64).fill_null(float("nan")).to_numpy()
    ripple_score = f.get_column("ripple_score").fill_null(0.0).to_numpy()
    lists = f.get_column("list_size").cast(pl.Float64).to_numpy()
    ratio = f.get_column("ratio").cast(pl.Float64).fill_null(1.0).to_numpy()
    return Candidates(
        code=tuple(f.get_column("code").to_list()),
        name=tuple(f.get_column("name").to_list()),
        icb_code=tuple(f.get_column("icb_code").to_list()),
        need=need_scores(pressure, ripple_score),
        list_size=lists.astype(np.float64),
        weighted_list=(lists * ratio).astype(np.float64),
        pressure=pressure.astype(np.float64),
        ripple_neighbours=f.get_column("crossing_neighbours").fill_null(0).to_numpy().astype(np.int64),
    )


def weighted_ratios(payments: pl.DataFrame) -> pl.DataFrame:
    """practice_code, ratio = weighted / registered patients (NHS payments), where both are known."""
    return (
        payments.filter(pl.col("registered_patients").fill_null(0) > 0)
        .select("practice_code", (pl.col("weighted_patients") / pl.col("registered_patients")).alias("ratio"))
        .drop_nulls()
        .unique("practice_code", keep="first")
    )


def fair_share_budgets(total_pence: int, cands: Candidates) -> dict[str, int]:
    """A national budget split between ICBs by registered patients (the per-patient allocation formula), in pence;
    rounding leftovers go to the largest ICBs so the parts add up to the total exactly."""
    lists: dict[str, float] = {}
    for icb, n in zip(cands.icb_code, cands.list_size.tolist(), strict=True):
        lists[icb] = lists.get(icb, 0.0) + float(n)
    total_list = sum(lists.values())
    if total_list <= 0:
        return dict.fromkeys(lists, 0)
    shares = {k: int(total_pence * v // total_list) for k, v in lists.items()}
    left = total_pence - sum(shares.values())
    for k in sorted(lists, key=lambda k: -lists[k])[:left]:
        shares[k] += 1
    return shares
