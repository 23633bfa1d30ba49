"""Small synthetic practice tables for the targeting tests: hand-checkable geometry on the equator, where one
degree of longitude is exactly ``EARTH_RADIUS_KM × π / 180`` km."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from analytics.menu.offers import Offer
from analytics.targeting.geo import EARTH_RADIUS_KM
from analytics.targeting.table import PracticeTable

KM_PER_DEGREE = EARTH_RADIUS_KM * math.pi / 180.0


def line_table(
    km: Sequence[float],
    lists: Sequence[float],
    gp_fte: Sequence[float],
    clinical_fte: Sequence[float] | None = None,
    icb: str = "QAA",
) -> PracticeTable:
    """Practices P0, P1, ... on the equator at the given km east of 0°."""
    n = len(km)
    return PracticeTable(
        code=tuple(f"P{i}" for i in range(n)),
        name=tuple(f"Practice {i}" for i in range(n)),
        icb_code=(icb,) * n,
        lat=np.zeros(n),
        lon=np.array([k / KM_PER_DEGREE for k in km], dtype=np.float64),
        list_size=np.array(lists, dtype=np.float64),
        gp_fte=np.array(gp_fte, dtype=np.float64),
        clinical_fte=np.array(clinical_fte if clinical_fte is not None else [2 * g for g in gp_fte], dtype=np.float64),
        pressure=np.full(n, 50.0),
        is_open=np.ones(n, dtype=bool),
    )


def offer(code: str, cost_pence: int, hours: float, effect: float, **kw: object) -> Offer:
    values: dict[str, object] = {
        "code": code,
        "programme": "GPRP",
        "heading": "Test",
        "title": code.title(),
        "description": "test offer",
        "unit": "day",
        "unit_cost_pence": cost_pence,
        "unit_basis": "fixed",
        "max_units": 1,
        "coach_hours_per_unit": hours,
        "group": False,
        "requires_impact": (),
        "requires_signed_off_plan": False,
        "not_fundable": (),
        "effect": effect,
        "standard_units": 1,
    }
    values.update(kw)
    return Offer(**values)  # type: ignore[arg-type]
