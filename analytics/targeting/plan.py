"""The optimiser's inputs and results: candidate practices and their need, the settings (funding lines with their
budgets per ICB and the offers each may fund, coach hours, cap, floors), what could be bought (``build_items``:
standard packages for single practices from targeted lines, places on universal offers), and a plan with its
solution, per-line, per-ICB and per-practice results. What a choice is worth and spends (``practice_benefit``,
``spend_by_icb``, ``spend_by_line``) is measured here, for the solver (:mod:`analytics.targeting.optimise`) and the
explanation (:mod:`analytics.targeting.explain`) alike.

Benefit is counted in **patients protected**: registered patients × the practice's risk index × the offer's effect
(the assumed relative reduction of that risk). The risk index is the optimiser's ``need`` (pressure composite / 100,
raised by up to half by the ripple percentile): an index of pressure-driven closure risk, not a calibrated
probability, so patients protected compares plans; it is not a count of people who would otherwise lose their
practice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from analytics.menu.offers import Offer

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

HIGH_IMPACT_SHARE = 0.10
MONEY_SCALE = 100_000.0  # pence per £1,000
RIPPLE_WEIGHT = 0.5
ALL_OFFERS: Final = "all"  # the code of the one line a scenario without funding lines has
# What the menu says of every effect (offers.toml: "ASSUMED ... Documented, not fitted"), shown where an offer names
# no source of its own.
ASSUMED_EFFECT = "assumed (menu of support: documented, not fitted)"


def effect_source(offer: Offer) -> str:
    """The source label of an offer's effect as the menu gives it; the menu's own assumption label if it names none."""
    named = getattr(offer, "effect_source", "")
    return str(named) if named else ASSUMED_EFFECT


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
class Line:
    """One funding line's money in a plan: its budget per ICB (pence), the menu offers it may fund (worked out by the
    caller with the programme's one rule, ``apps.funding.lines.funds_offer``; ``None`` = every offer) and whether it
    is universal (open to any practice: its offers are planned as places, not packages for chosen practices)."""

    code: str
    name: str
    budgets_pence: Mapping[str, int]
    offer_codes: frozenset[str] | None = None
    universal: bool = False

    def funds(self, offer_code: str) -> bool:
        return self.offer_codes is None or offer_code in self.offer_codes


@dataclass(frozen=True)
class Settings:
    """One optimiser run's inputs. Money in pence. ``budgets_pence`` is each ICB's total; ``lines`` splits it into
    funding lines (see :func:`line_settings`); without lines the whole budget is one line funding every offer."""

    budgets_pence: Mapping[str, int]
    coach_hours: float
    practice_cap_pence: int
    floor_share: float | None = None
    mip_rel_gap: float = 0.001
    time_limit_s: float = 120.0
    lines: tuple[Line, ...] = ()

    def funding_lines(self) -> tuple[Line, ...]:
        return self.lines or (Line(ALL_OFFERS, "Whole budget", self.budgets_pence),)

    def problems(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if not self.budgets_pence or any(b < 0 for b in self.budgets_pence.values()):
            out["budget"] = "Enter a budget of £0 or more"
        totals: dict[str, int] = {}
        for line in self.lines:
            for icb, b in line.budgets_pence.items():
                totals[icb] = totals.get(icb, 0) + b
            if any(b < 0 for b in line.budgets_pence.values()):
                out["line_budgets"] = f"Enter a budget of £0 or more for {line.name}"
        if self.lines and totals != dict(self.budgets_pence):
            out.setdefault("line_budgets", "The funding lines' budgets do not add up to each ICB's budget")
        if not math.isfinite(self.coach_hours) or self.coach_hours < 0:
            out["coach_hours"] = "Enter coach hours of 0 or more"
        if self.practice_cap_pence <= 0:
            out["practice_cap"] = "Enter a per-practice cap above £0"
        if self.floor_share is not None and not 0 < self.floor_share <= 1:
            out["floor_share"] = "Enter a floor between 1% and 100% of each ICB's budget"
        return out


def line_settings(
    lines: Sequence[Line],
    coach_hours: float,
    practice_cap_pence: int,
    floor_share: float | None = None,
) -> Settings:
    """Settings whose ICB budgets are the sums of the lines' budgets."""
    totals: dict[str, int] = {}
    for line in lines:
        for icb, b in line.budgets_pence.items():
            totals[icb] = totals.get(icb, 0) + b
    return Settings(totals, coach_hours, practice_cap_pence, floor_share, lines=tuple(lines))


PACKAGE, PLACE, SHARED, TRANSFER = 0, 1, 2, 3


@dataclass(frozen=True)
class Items:
    """Everything that may be bought, one decision variable each (``kind``):

    * ``PACKAGE``: a standard package of an offer for one practice, paid by the one targeted line that funds the
      offer (0 or 1);
    * ``SHARED``: the same, for an offer two or more targeted lines fund (0 or 1); its cost is met from a pool those
      lines pay into, so a practice gets the offer once whichever line pays;
    * ``TRANSFER``: what one of those lines pays into an offer's pool in one ICB (pence, continuous; ``cost`` 1,
      ``practice`` -1, no benefit of its own): the pool's packages cost exactly what its lines pay in;
    * ``PLACE``: places on an offer from a universal line in one ICB (``practice`` -1, up to ``upper`` places: one per
      practice of the ICB).

    ``cost`` is per package, place or penny; ``value`` the patients protected by one (for places, the ICB's average
    practice: who takes a place is the practices' choice, not the plan's). ``line`` is the paying line (for SHARED,
    the first line that funds the offer)."""

    practice: IntArray
    offer: IntArray
    line: IntArray
    icb: IntArray
    cost: IntArray
    hours: FloatArray
    effect: FloatArray
    value: FloatArray
    upper: IntArray
    kind: IntArray
    icbs: tuple[str, ...] = ()

    @property
    def place(self) -> npt.NDArray[np.bool_]:
        return np.asarray(self.kind == PLACE)

    @property
    def transfer(self) -> npt.NDArray[np.bool_]:
        return np.asarray(self.kind == TRANSFER)

    @property
    def shared(self) -> npt.NDArray[np.bool_]:
        return np.asarray(self.kind == SHARED)

    @property
    def package(self) -> npt.NDArray[np.bool_]:
        """A package for one practice, whoever pays."""
        return np.asarray((self.kind == PACKAGE) | (self.kind == SHARED))

    @property
    def spends(self) -> npt.NDArray[np.bool_]:
        """What counts as spending an ICB's money (not the transfers that pay for shared packages)."""
        return np.asarray(self.kind != TRANSFER)

    @property
    def draws_on_line(self) -> npt.NDArray[np.bool_]:
        """What counts against its line's budget: its own packages and places, and its transfers."""
        return np.asarray(self.kind != SHARED)


def practice_costs(cands: Candidates, o: Offer) -> IntArray:
    """The price of offer ``o``'s standard package for each practice (per-patient offers by its list)."""
    if o.unit_basis == "patients":
        base = np.round(np.nan_to_num(cands.list_size)).astype(np.int64)
    elif o.unit_basis == "weighted_patients":
        base = np.round(np.nan_to_num(cands.weighted_list)).astype(np.int64)
    else:
        return np.full(len(cands), o.unit_cost_pence * o.standard_units, dtype=np.int64)
    return np.asarray(base * o.unit_cost_pence * o.standard_units, dtype=np.int64)


def protected_weight(cands: Candidates) -> FloatArray:
    """Registered patients × risk index: what an effect of 1 would protect at each practice."""
    return np.asarray(np.nan_to_num(cands.list_size) * cands.need, dtype=np.float64)


def build_items(cands: Candidates, offers: Sequence[Offer], settings: Settings) -> Items:
    """What may be bought, priced. A line offers only what it funds. Targeted lines: packages for practices in
    the scope with a list and a pressure score, not above the per-practice cap on their own, high-impact offers only
    for the neediest tenth (an offer several targeted lines fund is one shared package per practice, paid through
    transfers from those lines). Universal lines: places on each offer in each ICB where the line has money."""
    lines = settings.funding_lines()
    icbs = tuple(sorted(settings.budgets_pence))
    icb_index = {k: i for i, k in enumerate(icbs)}
    cand_icb = np.array([icb_index.get(c, -1) for c in cands.icb_code], dtype=np.int64)
    in_scope = cand_icb >= 0
    need = cands.need
    scoped_need = need[in_scope & (need > 0)]
    cutoff = float(np.quantile(scoped_need, 1.0 - HIGH_IMPACT_SHARE)) if scoped_need.size else math.inf
    high = need >= cutoff
    listed = np.nan_to_num(cands.list_size) > 0
    weight = protected_weight(cands)
    names = ("practice", "offer", "line", "icb", "cost", "hours", "effect", "value", "upper", "kind")
    cols: dict[str, list[npt.NDArray[np.generic]]] = {k: [] for k in names}

    def add(idx: IntArray, k: int, li: int, icb: IntArray, cost: IntArray, value: FloatArray, upper: IntArray,
            kind: int) -> None:  # fmt: skip
        o = offers[k]
        cols["practice"].append(idx)
        cols["offer"].append(np.full(cost.size, k, dtype=np.int64))
        cols["line"].append(np.full(cost.size, li, dtype=np.int64))
        cols["icb"].append(icb)
        cols["cost"].append(cost)
        cols["hours"].append(np.full(cost.size, 0.0 if kind == TRANSFER else o.coach_hours_per_unit * o.standard_units))
        cols["effect"].append(np.full(cost.size, 0.0 if kind == TRANSFER else o.effect))
        cols["value"].append(value)
        cols["upper"].append(upper)
        cols["kind"].append(np.full(cost.size, kind, dtype=np.int64))

    def money_in(line: Line) -> npt.NDArray[np.bool_]:
        # one more False at the end: cand_icb is -1 for practices outside the scope
        return np.array([line.budgets_pence.get(k, 0) > 0 for k in icbs] + [False], dtype=bool)

    for k, o in enumerate(offers):
        cost = practice_costs(cands, o)
        targeted = [li for li, line in enumerate(lines) if not line.universal and line.funds(o.code)]
        if targeted:
            has_money = np.logical_or.reduce([money_in(lines[li]) for li in targeted])
            ok = in_scope & has_money[cand_icb] & listed & (need > 0) & (cost > 0)
            ok &= cost <= settings.practice_cap_pence
            if "high" in o.requires_impact and not ({"low", "medium"} & set(o.requires_impact)):
                ok &= high
            idx = np.flatnonzero(ok).astype(np.int64)
            kind = SHARED if len(targeted) > 1 else PACKAGE
            ones = np.ones(idx.size, dtype=np.int64)
            add(idx, k, targeted[0], cand_icb[idx], cost[idx], o.effect * weight[idx], ones, kind)
            if kind == SHARED:
                for li in targeted:
                    for j in np.flatnonzero(money_in(lines[li])[:-1]).tolist():
                        cap = int(lines[li].budgets_pence[icbs[j]])
                        one = np.array([1], dtype=np.int64)
                        add(np.array([-1]), k, li, np.array([j]), one, np.zeros(1), np.array([cap]), TRANSFER)
        for li, line in enumerate(lines):
            if not (line.universal and line.funds(o.code)):
                continue
            has_money = money_in(line)
            for j in range(len(icbs)):
                members = (cand_icb == j) & listed & (cost > 0)
                if not has_money[j] or not members.any():
                    continue
                place_cost = np.array([round(float(cost[members].mean()))], dtype=np.int64)
                value = np.array([o.effect * float(weight[members].mean())])
                add(np.array([-1]), k, li, np.array([j]), place_cost, value, np.array([int(members.sum())]), PLACE)

    def ints(name: str) -> IntArray:
        return np.concatenate(cols[name]).astype(np.int64) if cols[name] else np.zeros(0, dtype=np.int64)

    def floats(name: str) -> FloatArray:
        return np.concatenate(cols[name]).astype(np.float64) if cols[name] else np.zeros(0, dtype=np.float64)

    return Items(
        practice=ints("practice"),
        offer=ints("offer"),
        line=ints("line"),
        icb=ints("icb"),
        cost=ints("cost"),
        hours=floats("hours"),
        effect=floats("effect"),
        value=floats("value"),
        upper=ints("upper"),
        kind=ints("kind"),
        icbs=icbs,
    )


@dataclass(frozen=True)
class PracticeResult:
    """One candidate practice: what the plan buys it and why. ``benefit`` is patients protected; ``why`` names each
    package bought: offer, effect, the effect's source, the line that pays and the patients it protects."""

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
    patients: int = 0
    why: tuple[str, ...] = ()


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
    places: int = 0


@dataclass(frozen=True)
class LineResult:
    """One funding line's part of the plan (and of the greedy one)."""

    code: str
    name: str
    universal: bool
    budget_pence: int
    spend_pence: int
    patients_protected: float
    packages: int
    places: int
    practices: int
    offers: tuple[str, ...]
    greedy_spend_pence: int
    greedy_patients_protected: float
    shared_packages: int = 0  # packages of offers it shares with another targeted line, paid from their pool


@dataclass(frozen=True)
class PlaceResult:
    """Places a universal line buys on one offer in one ICB, at the average cost per place of its practices."""

    line: str
    offer_code: str
    offer: str
    icb_code: str
    places: int
    of_practices: int
    cost_per_place_pence: int
    spend_pence: int
    effect: float
    effect_source: str
    patients_protected: float


@dataclass(frozen=True)
class Solution:
    """One plan: how many of each item (positions in :class:`Items`: 0/1 for packages, a count for places) and its
    totals."""

    chosen: IntArray
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
    lines: tuple[LineResult, ...] = ()
    places: tuple[PlaceResult, ...] = ()
    outside_line: int = 0

    @property
    def gain_over_greedy(self) -> float:
        if self.greedy is None or self.greedy.objective <= 0:
            return float("nan")
        return self.objective / self.greedy.objective - 1.0


def practice_benefit(cands: Candidates, items: Items, chosen: IntArray) -> tuple[FloatArray, FloatArray]:
    """Per practice, from its packages (places are not tied to a practice): (combined risk reduction
    1 − Π(1 − e), patients protected Σ value)."""
    bought = (chosen > 0) & items.package
    log_keep = np.zeros(len(cands))
    np.add.at(log_keep, items.practice[bought], np.log1p(-items.effect[bought]))
    total = np.zeros(len(cands))
    np.add.at(total, items.practice[bought], items.value[bought])
    return 1.0 - np.exp(log_keep), total


def spend_by_icb(cands: Candidates, items: Items, chosen: IntArray) -> dict[str, int]:
    spend = np.zeros(len(items.icbs), dtype=np.int64)
    np.add.at(spend, items.icb[items.spends], (items.cost * chosen)[items.spends])
    return {k: int(v) for k, v in zip(items.icbs, spend.tolist(), strict=True) if v}


def spend_by_line(items: Items, chosen: IntArray, n_lines: int) -> list[int]:
    spend = np.zeros(n_lines, dtype=np.int64)
    draws = items.draws_on_line
    np.add.at(spend, items.line[draws], (items.cost * chosen)[draws])
    return [int(v) for v in spend.tolist()]


def outside_line(items: Items, chosen: IntArray, offers: Sequence[Offer], lines: Sequence[Line]) -> int:
    """How many bought items a line pays for (or pays into the pool of) that it does not fund: the check the bench
    and the tests make (0)."""
    bought = np.flatnonzero(chosen > 0).tolist()
    return sum(1 for i in bought if not lines[int(items.line[i])].funds(offers[int(items.offer[i])].code))
