"""Back-test of the dispersal model: where did the patients of practices that actually closed go?

The national files give practice list sizes at three dates (each folder's PROVENANCE.md):

==========  ==========================================================
date        snapshot
==========  ==========================================================
2021-01-01  QOF 2020-21 raw prevalence, TOTAL list size
2023-01-01  QOF 2022-23 achievement, list size
2025-04-01  registered patients extract
==========  ==========================================================

For each window between consecutive snapshots (t0, t1]:

* **closures** — practices with an ODS close date in the window, a list at t0 and a location;
* **survivors** — practices open on t0 and still open at t1, with a list at both dates and a location: the only
  possible receivers in the model (practices that opened during the window are counted, not modelled);
* each closure is dispersed with the gravity model on the t0 lists (FTE from the earliest workforce year, FY 2022-23,
  for both windows: the files hold no earlier workforce year), and a survivor's **predicted inflow** is the sum of
  what it receives from every closure;
* a survivor's **observed excess growth** is its list change t0 → t1 minus the growth it would have had anyway:
  its t0 list times the median growth rate of survivors in its ICB that the model gives no inflow (national median
  when the ICB has fewer than :data:`MIN_BACKGROUND` such practices).

Reported over the exposed survivors (predicted inflow > 0): MAE, RMSE and Pearson correlation of predicted inflow vs
observed excess; total predicted vs observed excess; the share of the closing lists that shows up as excess growth
of the neighbours the model named; and for each closure whether the survivor with the largest observed excess was
the model's largest receiver. The same errors for two naive models run on the same closures — "nothing changes"
(predict 0) and "the nearest practice takes every patient" — say whether the gravity model adds anything.
Mergers (a closure whose list moves wholesale to the practice that took it over) and list cleaning are the main
sources of error; the figures are reported as they come out.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

from analytics.national import NationalData
from analytics.targeting.dispersal import DispersalParams, Model
from analytics.targeting.table import PracticeTable, national_table

FloatArray = npt.NDArray[np.float64]
MIN_BACKGROUND = 10


def list_snapshots(data: NationalData) -> dict[date, pl.DataFrame]:
    """List size snapshots by date: practice_code, list_size (positive sizes only)."""
    snaps: dict[date, pl.DataFrame] = {}
    if data.qof_list.height:
        snaps[date(int(data.qof_list_period[:4]) + 1, 1, 1)] = data.qof_list.select("practice_code", "list_size")
    if data.qof.height:
        snaps[date(int(data.qof_period[:4]) + 1, 1, 1)] = data.qof.select("practice_code", "list_size")
    for (when,), frame in data.registrations.group_by("extract_date"):
        if isinstance(when, date):
            snaps[when] = frame.select(pl.col("code").alias("practice_code"), pl.col("patients").alias("list_size"))
    return {
        d: f.filter(pl.col("list_size").is_not_null() & (pl.col("list_size") > 0))
        .with_columns(pl.col("list_size").cast(pl.Float64))
        .unique("practice_code", keep="first")
        for d, f in sorted(snaps.items())
    }


@dataclass(frozen=True)
class Errors:
    """Predicted inflow vs observed excess growth over the exposed survivors, for one model."""

    model: str
    mae: float
    rmse: float
    correlation: float


@dataclass(frozen=True)
class WindowResult:
    start: date
    end: date
    closures: int
    closures_without_location: int
    closing_patients: float
    survivors: int
    opened_in_window: int
    exposed: int
    predicted_total: float
    observed_excess_total: float
    share_explained: float
    top_receiver_hits: int
    top_receiver_closures: int
    errors: tuple[Errors, ...]

    def as_text(self) -> str:
        lines = [
            f"{self.start} to {self.end}: {self.closures} closures with a list and a location "
            f"({self.closures_without_location} without a location left out), {self.closing_patients:,.0f} patients; "
            f"{self.survivors:,} survivors, {self.opened_in_window} practices opened in the window (not modelled)",
            f"  exposed survivors (predicted inflow > 0): {self.exposed:,}; "
            f"predicted inflow {self.predicted_total:,.0f}, "
            f"observed excess growth {self.observed_excess_total:,.0f} "
            f"(share of closing lists explained {self.share_explained:.0%})",
            f"  largest observed receiver was the model's largest receiver for {self.top_receiver_hits} of "
            f"{self.top_receiver_closures} closures",
        ]
        for e in self.errors:
            lines.append(f"  {e.model:<28} MAE {e.mae:8,.0f}  RMSE {e.rmse:8,.0f}  correlation {e.correlation:5.2f}")
        return "\n".join(lines)


@dataclass(frozen=True)
class ValidationResult:
    params: DispersalParams
    windows: tuple[WindowResult, ...]

    def as_text(self) -> str:
        head = (
            f"Dispersal back-test (max {self.params.max_distance_km:g} km, {self.params.max_neighbours} neighbours, "
            f"decay scale {self.params.decay_scale_km:g} km, exponent {self.params.decay_exponent:g}, "
            f"cap {self.params.cap_share:.0%} of a neighbour's list)"
        )
        return "\n".join([head, *(w.as_text() for w in self.windows)])


def _errors(name: str, predicted: FloatArray, observed: FloatArray) -> Errors:
    diff = predicted - observed
    if predicted.size < 2 or np.std(predicted) == 0 or np.std(observed) == 0:
        corr = float("nan")
    else:
        corr = float(np.corrcoef(predicted, observed)[0, 1])
    return Errors(
        model=name,
        mae=float(np.mean(np.abs(diff))) if diff.size else float("nan"),
        rmse=float(math.sqrt(np.mean(diff**2))) if diff.size else float("nan"),
        correlation=corr,
    )


def validate_window(
    data: NationalData,
    locations: pl.DataFrame,
    start: date,
    end: date,
    before: pl.DataFrame,
    after: pl.DataFrame,
    params: DispersalParams | None = None,
) -> WindowResult:
    """The back-test over one window (see the module docstring)."""
    p = params if params is not None else DispersalParams()
    base = national_table(data, locations, start, list_sizes=before)
    pr = data.practices.select("practice_code", "open_date", "close_date")
    info = dict(
        zip(
            pr["practice_code"].to_list(),
            zip(pr["open_date"].to_list(), pr["close_date"].to_list(), strict=True),
            strict=True,
        )
    )
    after_list = dict(zip(after["practice_code"].to_list(), after["list_size"].to_list(), strict=True))
    n = len(base)
    closed_in = np.zeros(n, dtype=bool)
    survivor = np.zeros(n, dtype=bool)
    opened = 0
    for i, code in enumerate(base.code):
        opened_on, closed_on = info.get(code, (None, None))
        if opened_on is not None and start < opened_on <= end:
            opened += 1
        if not base.is_open[i]:
            continue
        if closed_on is not None and start < closed_on <= end:
            closed_in[i] = True
        elif code in after_list:
            survivor[i] = True
    has_list = np.nan_to_num(base.list_size) > 0
    closers = closed_in & has_list & base.has_location
    table = PracticeTable(
        **{
            **{
                c: getattr(base, c)
                for c in ("code", "name", "icb_code", "lat", "lon", "list_size", "gp_fte", "clinical_fte", "pressure")
            },
            "is_open": survivor,
        }
    )
    model = Model(table, p)
    idx = np.flatnonzero(closers).astype(np.int64)
    batch = model.run(idx)
    predicted = np.zeros(n)
    valid = batch.valid
    np.add.at(predicted, batch.neighbour[valid], batch.received[valid])
    # Nearest-takes-all baseline: the whole list to the nearest survivor (no cap).
    nearest = np.zeros(n)
    first = batch.neighbour[:, 0] if batch.neighbour.shape[1] else np.empty(0, dtype=np.int64)
    has_first = first >= 0
    np.add.at(nearest, first[has_first], batch.closing_list[has_first])

    recv = table.can_receive
    l0 = np.nan_to_num(table.list_size)
    l1 = np.array([after_list.get(c, np.nan) for c in table.code], dtype=np.float64)
    growth = l1 - l0
    ok = recv & np.isfinite(l1)
    unexposed = ok & (predicted == 0)
    rate = np.where(unexposed, growth / np.where(l0 > 0, l0, 1.0), np.nan)
    national_rate = float(np.nanmedian(rate[unexposed])) if unexposed.any() else 0.0
    icb_rate: dict[str, float] = {}
    for icb in set(table.icb_code):
        members = unexposed & (np.array(table.icb_code) == icb)
        icb_rate[icb] = float(np.nanmedian(rate[members])) if members.sum() >= MIN_BACKGROUND else national_rate
    expected = l0 * np.array([icb_rate.get(c, national_rate) for c in table.icb_code])
    excess = growth - expected
    exposed = ok & (predicted > 0)
    zero = np.zeros(int(exposed.sum()))
    errors = (
        _errors("gravity model", predicted[exposed], excess[exposed]),
        _errors("nothing changes (predict 0)", zero, excess[exposed]),
        _errors("nearest takes all", nearest[exposed], excess[exposed]),
    )
    hits = total = 0
    for r in range(batch.neighbour.shape[0]):
        slots = batch.valid[r] & ok[np.maximum(batch.neighbour[r], 0)]
        if not slots.any():
            continue
        js = batch.neighbour[r][slots]
        total += 1
        hits += int(js[np.argmax(excess[js])] == js[np.argmax(batch.received[r][slots])])
    closing_patients = float(batch.closing_list.sum())
    observed_total = float(excess[exposed].sum())
    return WindowResult(
        start=start,
        end=end,
        closures=int(closers.sum()),
        closures_without_location=int((closed_in & has_list & ~base.has_location).sum()),
        closing_patients=closing_patients,
        survivors=int(recv.sum()),
        opened_in_window=opened,
        exposed=int(exposed.sum()),
        predicted_total=float(predicted[exposed].sum()),
        observed_excess_total=observed_total,
        share_explained=observed_total / closing_patients if closing_patients else float("nan"),
        top_receiver_hits=hits,
        top_receiver_closures=total,
        errors=errors,
    )


def validate(data: NationalData, locations: pl.DataFrame, params: DispersalParams | None = None) -> ValidationResult:
    """The back-test over every pair of consecutive list-size snapshots."""
    p = params if params is not None else DispersalParams()
    snaps = list_snapshots(data)
    dates = sorted(snaps)
    windows = tuple(validate_window(data, locations, a, b, snaps[a], snaps[b], p) for a, b in itertools.pairwise(dates))
    return ValidationResult(params=p, windows=windows)
