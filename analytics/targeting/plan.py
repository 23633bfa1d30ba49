"""The optimiser's inputs and results: candidate practices and their need, the settings (budgets, coach hours,
cap, floors), the packages that could be bought (``build_items``), and a plan with its solution, per-ICB and
per-practice results. What a choice of packages is worth and spends (``practice_benefit``, ``spend_by_icb``) is
measured here, for the solver (:mod:`analytics.targeting.optimise`) and the explanation
(:mod:`analytics.targeting.explain`) alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from analytics.menu.offers import Offer

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

HIGH_IMPACT_SHARE = 0.10
MONEY_SCALE = 100_000.0  # pence per £1,000
RIPPLE_WEIGHT = 0.5


def need_scores(composite: FloatArray, ripple_score: FloatArray, ripple_weight: float = RIPPLE_WEIGHT) -> FloatArray:
    """need = composite/100 × (1 + ripple_weight × ripple percentile).

    The ripple percentile is the rank of the practice's ripple score among practices with a ripple above 0 (0..1;
    0 for no ripple). A practice without a pressure score has need 0: the programme cannot rank it.
    """
    c = np.nan_to_num(np.asarray(composite, dtype=np.float64), nan=0.0) / 100.0
    r = np.nan_to_num(np.asarray(ripple_score, dtype=np.float64), nan=0.0)
    pct = np.zeros_like(r)
    pos = r > 0
    if pos.any():
        order = np.argsort(np.argsort(r[pos], kind="stable"), kind="stable")
        pct[pos] = (order + 1) / pos.sum()
    return np.asarray(np.clip(c, 0.0, 1.0) * (1.0 + ripple_weight * pct), dtype=np.float64)


@dataclass(frozen=True)
class Candidates:
    """The practices the money may go to."""

    code: tuple[str, ...]
    name: tuple[str, ...]
    icb_code: tuple[str, ...]
    need: FloatArray
    list_size: FloatArray
    weighted_list: FloatArray
    pressure: FloatArray
    ripple_neighbours: IntArray

    def __len__(self) -> int:
        return len(self.code)


@dataclass(frozen=True)
class Settings:
    """One optimiser run's inputs. Money in pence."""

    budgets_pence: Mapping[str, int]
    coach_hours: float
    practice_cap_pence: int
    floor_share: float | None = None
    mip_rel_gap: float = 0.001
    time_limit_s: float = 120.0

    def problems(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if not self.budgets_pence or any(b < 0 for b in self.budgets_pence.values()):
            out["budget"] = "Enter a budget of £0 or more"
        if not math.isfinite(self.coach_hours) or self.coach_hours < 0:
            out["coach_hours"] = "Enter coach hours of 0 or more"
        if self.practice_cap_pence <= 0:
            out["practice_cap"] = "Enter a per-practice cap above £0"
        if self.floor_share is not None and not 0 < self.floor_share <= 1:
            out["floor_share"] = "Enter a floor between 1% and 100% of each ICB's budget"
        return out


@dataclass(frozen=True)
class Items:
    """Every (practice, offer) standard package that may be bought."""

    practice: IntArray
    offer: IntArray
    cost: IntArray
    hours: FloatArray
    effect: FloatArray


def build_items(cands: Candidates, offers: Sequence[Offer], settings: Settings) -> Items:
    """Eligible packages, priced. Practices outside the budgets' ICBs, with no list, or packages above the
    per-practice cap on their own are left out."""
    n = len(cands)
    in_scope = np.array([c in settings.budgets_pence for c in cands.icb_code], dtype=bool)
    need = cands.need
    scoped_need = need[in_scope & (need > 0)]
    cutoff = float(np.quantile(scoped_need, 1.0 - HIGH_IMPACT_SHARE)) if scoped_need.size else math.inf
    high = need >= cutoff
    ps, os_, cs, hs, ss = [], [], [], [], []
    listed = np.nan_to_num(cands.list_size) > 0
    for k, o in enumerate(offers):
        if o.unit_basis == "patients":
            cost = np.round(np.nan_to_num(cands.list_size)).astype(np.int64) * o.unit_cost_pence * o.standard_units
        elif o.unit_basis == "weighted_patients":
            cost = np.round(np.nan_to_num(cands.weighted_list)).astype(np.int64) * o.unit_cost_pence * o.standard_units
        else:
            cost = np.full(n, o.unit_cost_pence * o.standard_units, dtype=np.int64)
        ok = in_scope & listed & (need > 0) & (cost > 0) & (cost <= settings.practice_cap_pence)
        if "high" in o.requires_impact and not ({"low", "medium"} & set(o.requires_impact)):
            ok &= high
        idx = np.flatnonzero(ok)
        ps.append(idx)
        os_.append(np.full(idx.size, k, dtype=np.int64))
        cs.append(cost[idx])
        hs.append(np.full(idx.size, o.coach_hours_per_unit * o.standard_units))
        ss.append(np.full(idx.size, o.effect))
    return Items(
        practice=np.concatenate(ps).astype(np.int64),
        offer=np.concatenate(os_).astype(np.int64),
        cost=np.concatenate(cs).astype(np.int64),
        hours=np.concatenate(hs).astype(np.float64),
        effect=np.concatenate(ss).astype(np.float64),
    )


@dataclass(frozen=True)
class PracticeResult:
    code: str
    name: str
    icb_code: str
    need: float
    pressure: float | None
    ripple_neighbours: int
    offers: tuple[str, ...]
    cost_pence: int
    hours: float
    risk_reduction: float
    benefit: float
    reason: str


@dataclass(frozen=True)
class IcbResult:
    icb_code: str
    budget_pence: int
    spend_pence: int
    floor_pence: int | None
    hours: float
    practices: int
    funded: int
    benefit: float
    budget_binding: bool
    floor_binding: bool
    greedy_spend_pence: int
    greedy_benefit: float


@dataclass(frozen=True)
class Solution:
    """One plan: chosen items (positions in :class:`Items`) and its totals."""

    chosen: npt.NDArray[np.bool_]
    objective: float
    spend_pence: int
    hours: float
    practices_funded: int
    meets_floors: bool


@dataclass(frozen=True)
class Plan:
    status: str
    feasible: bool
    message: str
    objective: float
    bound: float
    gap: float
    solve_seconds: float
    greedy_seconds: float
    spend_pence: int
    hours: float
    practices_funded: int
    source: str
    greedy: Solution | None
    binding: tuple[str, ...]
    practices: tuple[PracticeResult, ...]
    icbs: tuple[IcbResult, ...]
    items: int
    offers: tuple[tuple[str, str], ...] = field(default=())

    @property
    def gain_over_greedy(self) -> float:
        if self.greedy is None or self.greedy.objective <= 0:
            return float("nan")
        return self.objective / self.greedy.objective - 1.0


def practice_benefit(cands: Candidates, items: Items, chosen: npt.NDArray[np.bool_]) -> tuple[FloatArray, FloatArray]:
    """(combined risk reduction 1 − Π(1 − e), benefit need × Σ e) per practice."""
    log_keep = np.zeros(len(cands))
    np.add.at(log_keep, items.practice[chosen], np.log1p(-items.effect[chosen]))
    total = np.zeros(len(cands))
    np.add.at(total, items.practice[chosen], items.effect[chosen])
    return 1.0 - np.exp(log_keep), cands.need * total


def spend_by_icb(cands: Candidates, items: Items, chosen: npt.NDArray[np.bool_]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p, c in zip(items.practice[chosen].tolist(), items.cost[chosen].tolist(), strict=True):
        out[cands.icb_code[p]] = out.get(cands.icb_code[p], 0) + int(c)
    return out
