"""The domino check: for true closures, where did the patients really go, and did the dispersal simulator say so?

For each financial year Y+1 (from the workforce history: list sizes are financial-year means), the **true
closures** (:func:`analytics.disappearances.classify`; mergers are left out: their list moves wholesale) with a close
date in that year, a list in year Y and a location are dispersed by the gravity model
(:class:`analytics.targeting.dispersal.Model`) onto the practices open in both years. Only **isolated** closures are
scored (no other closure within twice the model's reach in the same year), so every neighbour's gain has one cause.

* **observed**: each neighbour's list change Y -> Y+1 minus its background growth (its Y list times the national
  median growth of practices far from any closure that year), floored at 0; the dispersed patients are the sum of
  that excess over the neighbours;
* **share captured by the top 3**: the observed excess of the three neighbours the method ranks first, over the
  dispersed patients;
* **error**: the share of patients placed at the wrong practice: half the sum over neighbours of |predicted share -
  observed share| (shares of the closing list predicted, and of the observed excess; 0 = perfect, 1 = all wrong).
  Measured against the excess, not the list, because the excess over 25 neighbours is often larger than the closing
  list (background growth varies, new housing): "dispersed" in the report shows how much;
* methods: the simulator with its shipped parameters; the simulator **calibrated on earlier closures only** (the
  decay scale and exponent on a small stated grid, chosen by the mean error over every closure before the year
  reported); and the **naive baseline**: the five nearest practices, shares by list size.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from analytics.disappearances import CLOSURE
from analytics.metrics import FloatArray
from analytics.targeting.dispersal import DispersalParams, Model
from analytics.targeting.table import PracticeTable

NAIVE_NEIGHBOURS = 5
TOP = 3
GRID = tuple((scale, exponent) for scale in (0.5, 1.0, 2.0, 4.0) for exponent in (1.0, 2.0, 3.0))
SIMULATOR = "simulator (shipped parameters)"
CALIBRATED = "simulator (calibrated on earlier closures)"
NAIVE = "naive: 5 nearest, shares by list size"


@dataclass(frozen=True)
class Closure:
    """One isolated true closure: neighbours (table positions), their distances, lists and observed excess."""

    year: int  # fy_end_year of the year the practice closed in
    code: str
    closing_list: float
    neighbour: np.ndarray
    km: FloatArray
    lists: FloatArray
    excess: FloatArray


@dataclass(frozen=True)
class DominoRow:
    year: int
    method: str
    closures: int
    dispersed_share: float  # observed excess over the closing lists, all closures of the year
    top3_capture: float
    error: float
    params: str = ""


def _table(codes: list[str], lat: FloatArray, lon: FloatArray, lists: FloatArray, fte: FloatArray) -> PracticeTable:
    n = len(codes)
    return PracticeTable(
        code=tuple(codes),
        name=tuple(codes),
        icb_code=tuple("" for _ in codes),
        lat=lat,
        lon=lon,
        list_size=lists,
        gp_fte=fte,
        clinical_fte=fte,
        pressure=np.full(n, np.nan),
        is_open=np.ones(n, dtype=bool),
    )


def closures_by_year(
    workforce: pl.DataFrame, locations: pl.DataFrame, classified: pl.DataFrame, params: DispersalParams
) -> list[Closure]:
    """Every isolated true closure with its neighbours and their observed excess growth."""
    out: list[Closure] = []
    years = sorted(int(y) for y in workforce.get_column("fy_end_year").unique().to_list())
    close_fy = (pl.col("close_date").dt.year() + (pl.col("close_date").dt.month() >= 4).cast(pl.Int32)).alias("fy")
    closures = classified.filter(pl.col("outcome") == CLOSURE).with_columns(close_fy)
    loc = locations.select("practice_code", "lat", "lon")
    for y in years:
        if y + 1 not in years:
            continue
        before = workforce.filter(pl.col("fy_end_year") == y).select("practice_code", "patients", "gp_fte")
        after = workforce.filter(pl.col("fy_end_year") == y + 1).select("practice_code", pl.col("patients").alias("p1"))
        closing = (
            closures.filter(pl.col("fy") == y + 1)
            .join(before, on="practice_code")
            .join(loc, on="practice_code")
            .filter(pl.col("patients") > 0)
        )
        survivors = before.join(after, on="practice_code").join(loc, on="practice_code").filter(pl.col("patients") > 0)
        if closing.height == 0 or survivors.height == 0:
            continue
        table = _table(
            survivors.get_column("practice_code").to_list(),
            survivors.get_column("lat").to_numpy().astype(np.float64),
            survivors.get_column("lon").to_numpy().astype(np.float64),
            survivors.get_column("patients").to_numpy().astype(np.float64),
            survivors.get_column("gp_fte").fill_null(np.nan).to_numpy().astype(np.float64),
        )
        model = Model(table, params)
        # closing practices are not in the receivers' table: query by their own coordinates
        found = model.index.query(
            closing.get_column("lat").to_numpy().astype(np.float64),
            closing.get_column("lon").to_numpy().astype(np.float64),
            params.max_distance_km,
            params.max_neighbours,
        )
        growth = survivors.get_column("p1").to_numpy() / survivors.get_column("patients").to_numpy()
        exposed = np.zeros(len(table), dtype=bool)
        exposed[found.index[found.index >= 0]] = True
        background = float(np.median(growth[~exposed])) if (~exposed).any() else 1.0
        gain = survivors.get_column("p1").to_numpy() - background * survivors.get_column("patients").to_numpy()
        clat = closing.get_column("lat").to_numpy()
        clon = closing.get_column("lon").to_numpy()
        for r, row in enumerate(closing.iter_rows(named=True)):
            others = np.arange(closing.height) != r
            km_to_others = _km(clat[r], clon[r], clat[others], clon[others])
            if (km_to_others < 2 * params.max_distance_km).any():
                continue  # not isolated: a neighbour's gain could come from either closure
            valid = found.index[r] >= 0
            idx = found.index[r][valid]
            out.append(
                Closure(
                    year=y + 1,
                    code=str(row["practice_code"]),
                    closing_list=float(row["patients"]),
                    neighbour=idx,
                    km=found.km[r][valid],
                    lists=table.list_size[idx],
                    excess=np.maximum(gain[idx], 0.0),
                )
            )
    return out


def _km(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> FloatArray:
    p1, p2 = np.radians(lat), np.radians(lats)
    dphi, dl = p2 - p1, np.radians(lons - lon)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * 6371.0 * np.arcsin(np.sqrt(a)), dtype=np.float64)


def _simulated(c: Closure, params: DispersalParams) -> FloatArray:
    """What the gravity model gives each neighbour (same decay, headroom-free: the table has no FTE per slot)."""
    from analytics.targeting.dispersal import capped_proportional, decay

    w = decay(c.km[None, :], params) * np.ones((1, c.km.size))
    cap = params.cap_share * c.lists[None, :]
    valid = np.ones((1, c.km.size), dtype=bool)
    return np.asarray(capped_proportional(np.array([c.closing_list]), w, cap, valid)[0], dtype=np.float64)


def _naive(c: Closure) -> FloatArray:
    pred = np.zeros(c.km.size)
    near = np.argsort(c.km, kind="stable")[:NAIVE_NEIGHBOURS]
    if near.size and c.lists[near].sum() > 0:
        pred[near] = c.closing_list * c.lists[near] / c.lists[near].sum()
    return pred


def _score(c: Closure, predicted: FloatArray) -> tuple[float, float]:
    dispersed = float(c.excess.sum())
    top = np.argsort(-predicted, kind="stable")[:TOP]
    capture = float(c.excess[top].sum()) / dispersed if dispersed > 0 else float("nan")
    if dispersed <= 0 or predicted.sum() <= 0:
        return capture, float("nan")
    error = 0.5 * float(np.abs(predicted / predicted.sum() - c.excess / dispersed).sum())
    return capture, error


def _mean_error(closures: list[Closure], params: DispersalParams) -> float:
    errors = [_score(c, _simulated(c, params))[1] for c in closures]
    return float(np.nanmean(errors)) if errors else float("nan")


def calibrate(earlier: list[Closure], base: DispersalParams) -> DispersalParams:
    """The grid point with the lowest mean error on ``earlier`` closures (the shipped parameters when none)."""
    if not earlier:
        return base
    best = min(GRID, key=lambda g: _mean_error(earlier, replace(base, decay_scale_km=g[0], decay_exponent=g[1])))
    return replace(base, decay_scale_km=best[0], decay_exponent=best[1])


def domino_check(
    workforce: pl.DataFrame,
    locations: pl.DataFrame,
    classified: pl.DataFrame,
    report_from: int = 2020,
    params: DispersalParams | None = None,
) -> list[DominoRow]:
    """One row per reported year (``fy_end_year`` >= ``report_from``) and method."""
    base = params if params is not None else DispersalParams()
    closures = closures_by_year(workforce, locations, classified, base)
    rows: list[DominoRow] = []
    for year in sorted({c.year for c in closures if c.year >= report_from}):
        these = [c for c in closures if c.year == year]
        fitted = calibrate([c for c in closures if c.year < year], base)
        dispersed = sum(float(c.excess.sum()) for c in these) / sum(c.closing_list for c in these)
        for method, predict, label in (
            (
                SIMULATOR,
                lambda c: _simulated(c, base),
                f"scale {base.decay_scale_km:g} km, exponent {base.decay_exponent:g}",
            ),
            (
                CALIBRATED,
                lambda c, fitted=fitted: _simulated(c, fitted),
                f"scale {fitted.decay_scale_km:g} km, exponent {fitted.decay_exponent:g}",
            ),
            (NAIVE, _naive, ""),
        ):
            scores = [_score(c, predict(c)) for c in these]
            capture = float(np.nanmean([s[0] for s in scores])) if scores else float("nan")
            error = float(np.nanmean([s[1] for s in scores])) if scores else float("nan")
            rows.append(DominoRow(year, method, len(these), dispersed, capture, error, label))
    return rows


def as_text(rows: list[DominoRow]) -> str:
    out = [
        "Domino check: isolated true closures, neighbours' list change over the closing year vs the simulator",
        f"{'closed in FY':12s} {'method':44s} {'n':>4s} {'dispersed':>9s} {'top-3 capture':>13s} {'error':>6s}  params",
    ]
    for r in rows:
        fy = f"{r.year - 1}/{r.year % 100:02d}"
        out.append(
            f"{fy:12s} {r.method:44s} {r.closures:4d} {100 * r.dispersed_share:8.0f}% {100 * r.top3_capture:12.0f}% "
            f"{r.error:6.2f}  {r.params}"
        )
    return "\n".join(out)


__all__ = ["CALIBRATED", "NAIVE", "SIMULATOR", "DominoRow", "as_text", "calibrate", "domino_check"]
