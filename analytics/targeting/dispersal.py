"""Closure / dispersal simulator: if a practice closed, where would its patients go?

The gravity model, for a closing practice *i* with list *L_i* (every parameter is in :class:`DispersalParams`):

1. **Candidates**: the open practices with a location and patients within ``max_distance_km`` of *i*
   (great-circle, see :mod:`analytics.targeting.geo`), at most ``max_neighbours`` nearest.
2. **Distance decay**: ``decay(d) = (1 + d / decay_scale_km) ** -decay_exponent`` — a practice next door weighs
   1, one ``decay_scale_km`` away weighs ``2 ** -decay_exponent`` (a quarter with the defaults).
3. **Capacity headroom**: the patients a neighbour *j* could take before it reaches the patients-per-GP-FTE
   threshold, ``threshold × gp_fte_j − L_j``, but never less than ``headroom_floor_share × L_j`` (a practice already
   over the threshold still takes some patients: people register where they can). When *j*'s GP FTE is unknown the
   floor is its headroom.
4. **Weight** ``w_j = decay(d_ij) × headroom_j``; patients are shared in proportion to the weights.
5. **Cap**: commissioners cap what each neighbour must absorb: no neighbour receives more than
   ``cap_share × L_j``. Shares above a cap are cut to the cap and the excess is re-shared among the uncapped
   neighbours in proportion to their weights, until nothing is above a cap (capped proportional allocation,
   "water-filling"). What no neighbour can take is **unabsorbed** (patients left without a practice nearby — an
   outcome in itself). Patients are conserved: ``sum(allocations) + unabsorbed == L_i``.

Output per neighbour: distance, patients received, new list, new patients per GP FTE and per clinical FTE, and
whether it **crosses** a pressure threshold (at or under it before, over it after). The default thresholds are the
national-criterion flags of the indicator definitions ``patients_per_gp_fte`` and ``patients_per_clinical_fte``
(:func:`default_thresholds`), read from their TOML files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from analytics.indicators.definition import IndicatorDefinition, load_definitions
from analytics.targeting.geo import NeighbourIndex, Neighbours
from analytics.targeting.table import PracticeTable

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

GP_INDICATOR = "patients_per_gp_fte"
CLINICAL_INDICATOR = "patients_per_clinical_fte"


@dataclass(frozen=True)
class Thresholds:
    """Pressure thresholds in patients per FTE; None = not checked."""

    gp: float | None
    clinical: float | None


def threshold_from(definitions: list[IndicatorDefinition], indicator_id: str) -> float | None:
    """The ``>`` / ``>=`` flag value of an indicator definition, or None when it has no such flag."""
    for d in definitions:
        if (
            d.id == indicator_id
            and d.flag is not None
            and d.flag.op in (">", ">=")
            and not isinstance(d.flag.value, tuple)
        ):
            return float(d.flag.value)
    return None


def default_thresholds(definitions: list[IndicatorDefinition] | None = None) -> Thresholds:
    """The flag thresholds of ``patients_per_gp_fte`` and ``patients_per_clinical_fte`` as their definitions declare
    them (the clinical one has no flag today, so it is None unless a user sets one)."""
    defs = definitions if definitions is not None else load_definitions()
    return Thresholds(gp=threshold_from(defs, GP_INDICATOR), clinical=threshold_from(defs, CLINICAL_INDICATOR))


@dataclass(frozen=True)
class DispersalParams:
    """The gravity model's documented parameters (defaults are assumptions, see docs/targeting.md)."""

    max_distance_km: float = 8.0
    max_neighbours: int = 25
    decay_scale_km: float = 1.0
    decay_exponent: float = 2.0
    cap_share: float = 0.20
    headroom_floor_share: float = 0.02
    thresholds: Thresholds = field(default_factory=default_thresholds)

    def problems(self) -> dict[str, str]:
        """Each bad parameter, by name, with what is wrong (empty when all are good)."""
        out: dict[str, str] = {}
        if not (math.isfinite(self.max_distance_km) and 0.1 <= self.max_distance_km <= 50):
            out["max_distance_km"] = "Enter a distance between 0.1 and 50 km"
        if not 1 <= self.max_neighbours <= 100:
            out["max_neighbours"] = "Enter a number of neighbours between 1 and 100"
        if not (math.isfinite(self.decay_scale_km) and 0.05 <= self.decay_scale_km <= 50):
            out["decay_scale_km"] = "Enter a distance-decay scale between 0.05 and 50 km"
        if not (math.isfinite(self.decay_exponent) and 0 <= self.decay_exponent <= 6):
            out["decay_exponent"] = "Enter a distance-decay exponent between 0 and 6"
        if not (math.isfinite(self.cap_share) and 0 < self.cap_share <= 2):
            out["cap_share"] = "Enter a cap between 1% and 200% of a neighbour's list"
        if not (math.isfinite(self.headroom_floor_share) and 0 <= self.headroom_floor_share <= 1):
            out["headroom_floor_share"] = "Enter a headroom floor between 0% and 100% of a neighbour's list"
        for name, value in (("gp_threshold", self.thresholds.gp), ("clinical_threshold", self.thresholds.clinical)):
            if value is not None and not (math.isfinite(value) and 100 <= value <= 20000):
                out[name] = "Enter a threshold between 100 and 20,000 patients per FTE, or leave it empty"
        return out

    def with_thresholds(self, gp: float | None, clinical: float | None) -> DispersalParams:
        return replace(self, thresholds=Thresholds(gp=gp, clinical=clinical))


def decay(km: FloatArray, params: DispersalParams) -> FloatArray:
    return np.asarray((1.0 + km / params.decay_scale_km) ** (-params.decay_exponent), dtype=np.float64)


def headroom(list_size: FloatArray, gp_fte: FloatArray, params: DispersalParams) -> FloatArray:
    """Patients a practice could take before reaching the GP threshold, floored at a share of its list."""
    floor = params.headroom_floor_share * np.nan_to_num(list_size)
    if params.thresholds.gp is None:
        return floor
    room = params.thresholds.gp * gp_fte - list_size
    room = np.where(np.isfinite(room) & (gp_fte > 0), room, 0.0)
    return np.asarray(np.maximum(room, floor), dtype=np.float64)


def capped_proportional(total: FloatArray, weights: FloatArray, caps: FloatArray, valid: BoolArray) -> FloatArray:
    """Share each row's ``total`` over its valid slots in proportion to ``weights``, no slot above its cap.

    Row by row this is water-filling: slots whose proportional share exceeds their cap get the cap, the rest is
    re-shared among the others, until no share is above a cap. Every row at once (shape (n, k)); at most k rounds.
    Invariants: ``0 <= alloc <= cap``; ``alloc.sum(1) <= total``, with equality unless every slot with weight is at
    its cap.
    """
    w = np.where(valid, np.maximum(weights, 0.0), 0.0)
    cap = np.where(valid, np.maximum(caps, 0.0), 0.0)
    total = np.maximum(np.asarray(total, dtype=np.float64), 0.0)
    capped = np.zeros(w.shape, dtype=bool)
    share = np.zeros(w.shape)
    for _ in range(w.shape[1] + 1):
        free = valid & ~capped
        rem = total - np.where(capped, cap, 0.0).sum(axis=1)
        # Scale the free weights of each row so the largest is 1: shares are unchanged, and tiny weights can neither
        # overflow the division (a subnormal sum would make every share inf) nor vanish next to large capped ones.
        wf = np.where(free, w, 0.0)
        top = wf.max(axis=1, keepdims=True) if wf.size else np.zeros((wf.shape[0], 1))
        with np.errstate(invalid="ignore", divide="ignore", over="ignore", under="ignore"):
            wf = np.where(top > 0, wf / np.where(top > 0, top, 1.0), 0.0)
            wsum = wf.sum(axis=1)
            share = np.where(free & (wsum > 0)[:, None], rem[:, None] * wf / wsum[:, None], 0.0)
        over = free & (share > cap)
        if not over.any():
            break
        capped |= over
    return np.asarray(np.where(capped, cap, share), dtype=np.float64)


@dataclass(frozen=True)
class Batch:
    """The model for many closing practices at once. Row r is closing practice ``closing[r]`` (table positions);
    the (n, k) arrays hold its neighbours (table positions, -1 = empty slot)."""

    closing: IntArray
    neighbour: IntArray
    km: FloatArray
    weight: FloatArray
    cap: FloatArray
    received: FloatArray
    new_list: FloatArray
    gp_before: FloatArray
    gp_after: FloatArray
    clinical_before: FloatArray
    clinical_after: FloatArray
    crosses_gp: BoolArray
    crosses_clinical: BoolArray
    closing_list: FloatArray

    @property
    def valid(self) -> BoolArray:
        return np.asarray(self.neighbour >= 0, dtype=bool)

    @property
    def crosses(self) -> BoolArray:
        return np.asarray(self.crosses_gp | self.crosses_clinical, dtype=bool)

    @property
    def unabsorbed(self) -> FloatArray:
        return np.asarray(self.closing_list - self.received.sum(axis=1), dtype=np.float64)


class Model:
    """The gravity model over one practice table: the receivers' KD-tree is built once and reused."""

    def __init__(self, table: PracticeTable, params: DispersalParams | None = None) -> None:
        self.table = table
        self.params = params if params is not None else DispersalParams()
        self.receivers = np.flatnonzero(table.can_receive).astype(np.int64)
        self.index = NeighbourIndex(table.lat[self.receivers], table.lon[self.receivers])
        self._receiver_pos = np.full(len(table), -1, dtype=np.int64)
        self._receiver_pos[self.receivers] = np.arange(self.receivers.size, dtype=np.int64)

    def neighbours(self, closing: IntArray) -> Neighbours:
        """Receivers near each closing practice (table positions in ``.index``)."""
        t, p = self.table, self.params
        found = self.index.query(
            t.lat[closing], t.lon[closing], p.max_distance_km, p.max_neighbours, exclude=self._receiver_pos[closing]
        )
        table_idx = np.where(found.index >= 0, self.receivers[np.maximum(found.index, 0)], -1)
        return Neighbours(np.asarray(table_idx, dtype=np.int64), found.km)

    def run(self, closing: IntArray, closing_list: FloatArray | None = None) -> Batch:
        """Disperse each closing practice's list (its own list unless ``closing_list`` is given) independently:
        each simulation starts from today's state of every other practice."""
        t, p = self.table, self.params
        closing = np.asarray(closing, dtype=np.int64)
        if not t.has_location[closing].all():
            bad = [t.code[i] for i in closing[~t.has_location[closing]]]
            raise ValueError(f"no location for {', '.join(bad[:5])}: its patients cannot be placed")
        nb = self.neighbours(closing)
        valid = nb.valid
        j = np.maximum(nb.index, 0)
        lists = np.where(valid, t.list_size[j], 0.0)
        gp = np.where(valid, t.gp_fte[j], np.nan)
        clin = np.where(valid, t.clinical_fte[j], np.nan)
        weight = np.where(valid, decay(nb.km, p) * headroom(lists, gp, p), 0.0)
        cap = np.where(valid, p.cap_share * lists, 0.0)
        total = np.nan_to_num(t.list_size[closing]) if closing_list is None else np.nan_to_num(closing_list)
        received = capped_proportional(total, weight, cap, valid)
        new_list = lists + received
        with np.errstate(invalid="ignore", divide="ignore"):
            gp_ok = valid & (gp > 0)
            clin_ok = valid & (clin > 0)
            gp_before = np.where(gp_ok, lists / gp, np.nan)
            gp_after = np.where(gp_ok, new_list / gp, np.nan)
            clinical_before = np.where(clin_ok, lists / clin, np.nan)
            clinical_after = np.where(clin_ok, new_list / clin, np.nan)
        crosses_gp = np.zeros(valid.shape, dtype=bool)
        crosses_clinical = np.zeros(valid.shape, dtype=bool)
        if p.thresholds.gp is not None:
            crosses_gp = gp_ok & (gp_before <= p.thresholds.gp) & (gp_after > p.thresholds.gp)
        if p.thresholds.clinical is not None:
            th = p.thresholds.clinical
            crosses_clinical = clin_ok & (clinical_before <= th) & (clinical_after > th)
        return Batch(
            closing=closing,
            neighbour=nb.index,
            km=nb.km,
            weight=weight,
            cap=cap,
            received=received,
            new_list=new_list,
            gp_before=gp_before,
            gp_after=gp_after,
            clinical_before=clinical_before,
            clinical_after=clinical_after,
            crosses_gp=crosses_gp,
            crosses_clinical=crosses_clinical,
            closing_list=np.asarray(total, dtype=np.float64),
        )


@dataclass(frozen=True)
class NeighbourResult:
    """One neighbour of a closing practice, as the page and the CSV show it."""

    code: str
    name: str
    icb_code: str
    km: float
    pressure: float | None
    list_before: float
    received: float
    cap: float
    new_list: float
    gp_fte: float | None
    clinical_fte: float | None
    gp_before: float | None
    gp_after: float | None
    clinical_before: float | None
    clinical_after: float | None
    crosses_gp: bool
    crosses_clinical: bool
    at_cap: bool

    @property
    def crosses(self) -> bool:
        return self.crosses_gp or self.crosses_clinical


@dataclass(frozen=True)
class Dispersal:
    """Where one closing practice's patients would go."""

    code: str
    name: str
    list_size: float
    params: DispersalParams
    neighbours: tuple[NeighbourResult, ...]

    @property
    def absorbed(self) -> float:
        return float(sum(n.received for n in self.neighbours))

    @property
    def unabsorbed(self) -> float:
        return max(0.0, self.list_size - self.absorbed)

    @property
    def crossing(self) -> tuple[NeighbourResult, ...]:
        return tuple(n for n in self.neighbours if n.crosses)

    @property
    def patients_at_risk(self) -> float:
        """Patients of the neighbours pushed over a threshold (their new lists)."""
        return float(sum(n.new_list for n in self.crossing))


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def disperse(
    table: PracticeTable, code: str, params: DispersalParams | None = None, model: Model | None = None
) -> Dispersal:
    """Simulate the closure of practice ``code``: every neighbour within reach, with what it would receive."""
    m = model if model is not None else Model(table, params)
    i = table.index_of(code)
    b = m.run(np.array([i], dtype=np.int64))
    rows = []
    for s in range(b.neighbour.shape[1]):
        j = int(b.neighbour[0, s])
        if j < 0:
            continue
        rows.append(
            NeighbourResult(
                code=table.code[j],
                name=table.name[j],
                icb_code=table.icb_code[j],
                km=float(b.km[0, s]),
                pressure=_num(float(table.pressure[j])),
                list_before=float(table.list_size[j]),
                received=float(b.received[0, s]),
                cap=float(b.cap[0, s]),
                new_list=float(b.new_list[0, s]),
                gp_fte=_num(float(table.gp_fte[j])),
                clinical_fte=_num(float(table.clinical_fte[j])),
                gp_before=_num(float(b.gp_before[0, s])),
                gp_after=_num(float(b.gp_after[0, s])),
                clinical_before=_num(float(b.clinical_before[0, s])),
                clinical_after=_num(float(b.clinical_after[0, s])),
                crosses_gp=bool(b.crosses_gp[0, s]),
                crosses_clinical=bool(b.crosses_clinical[0, s]),
                at_cap=bool(b.received[0, s] >= b.cap[0, s] - 1e-9 and b.cap[0, s] > 0),
            )
        )
    return Dispersal(
        code=table.code[i],
        name=table.name[i],
        list_size=float(np.nan_to_num(table.list_size[i])),
        params=m.params,
        neighbours=tuple(rows),
    )
