"""Programme outcomes arithmetic, Django-free: expected closures from the pressure index, changes between snapshots.

**Closures avoided** is estimated, not observed: the pressure index's back-test gives the closure rate within its
horizon (24 months) for practices in the top 5% of the composite, the next 5% and the rest. A supported practice's
expected chance of closing is the rate of its band at the time support started; the programme's expected closures is
the sum over supported practices, and "avoided" is expected minus observed. With a few dozen practices the figure is
noisy and says nothing causal on its own (supported practices also differ from unsupported ones): it is shown with
those counts beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

CQC_ORDER = ("Inadequate", "Requires improvement", "Good", "Outstanding")


@dataclass(frozen=True)
class ClosureBands:
    """Closure rates by national pressure band: ``bands`` is (upper percentile fraction, rate), top band first."""

    bands: tuple[tuple[float, float], ...]
    horizon_months: int

    def rate_for(self, percentile: float | None) -> float:
        """The closure rate for a practice at ``percentile`` (0 = most pressure, 1 = least); unknown → the last band."""
        if percentile is None:
            return self.bands[-1][1]
        for upper, rate in self.bands:
            if percentile <= upper:
                return rate
        return self.bands[-1][1]


def closure_bands(backtest: Mapping[str, Any], method: str = "composite incl. CQC (as deployed)") -> ClosureBands:
    """Read the top-5% / next-5% / rest closure rates from a stored back-test result (its headline cohort).

    ``p5`` and ``p10`` are precision (closure rate) in the top 5% and 10%; ``r10`` the share of closures there.
    """
    cohort = backtest["cohorts"][0]
    n, closures = int(cohort["n"]), int(cohort["closures"])
    m = next(x for x in cohort["methods"] if x["method"] == method)
    p5, p10, r10 = float(m["p5"]), float(m["p10"]), float(m["r10"])
    next5 = max(0.0, (p10 * 0.10 - p5 * 0.05) / 0.05)
    rest = closures * (1 - r10) / (n * 0.90) if n else 0.0
    return ClosureBands(bands=((0.05, p5), (0.10, next5), (1.0, rest)), horizon_months=int(backtest["horizon_months"]))


def expected_closures(percentiles: Sequence[float | None], bands: ClosureBands) -> float:
    return sum(bands.rate_for(p) for p in percentiles)


def cqc_change(before: str | None, after: str | None) -> int | None:
    """+1 improved, -1 worsened, 0 same, None when either rating is missing or not on the scale."""
    if before not in CQC_ORDER or after not in CQC_ORDER:
        return None
    a, b = CQC_ORDER.index(before), CQC_ORDER.index(after)
    return (b > a) - (b < a)


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None
