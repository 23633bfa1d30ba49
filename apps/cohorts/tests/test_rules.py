"""The allocation rules alone (no database): who is offered the free places and the order of the waiting list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from apps.cohorts.rules import FIRST_COME, PRESSURE, QUOTAS, Candidate, allocate, queue

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


def _c(key: int, icb: str, minute: int, pressure: float | None = None) -> Candidate:
    return Candidate(key, icb, T0 + timedelta(minutes=minute), pressure)


def test_first_come_is_the_order_of_arrival_and_ties_go_to_the_earlier_interest() -> None:
    cands = [_c(3, "A", 5), _c(1, "A", 0), _c(2, "B", 0)]
    offered, waiting = allocate(FIRST_COME, 2, cands, {}, {})
    assert [c.key for c in offered] == [1, 2] and [c.key for c in waiting] == [3]


def test_pressure_puts_the_highest_score_first_and_unscored_practices_last() -> None:
    cands = [_c(1, "A", 0, 40.0), _c(2, "A", 1, None), _c(3, "A", 2, 90.0), _c(4, "A", 3, 40.0)]
    assert [c.key for c in queue(PRESSURE, cands, {}, {})] == [3, 1, 4, 2]


def test_quotas_keep_a_place_for_an_icb_and_free_places_count_what_is_held() -> None:
    cands = [_c(1, "A", 0), _c(2, "A", 1), _c(3, "A", 2), _c(4, "B", 3)]
    offered, waiting = allocate(QUOTAS, 2, cands, {}, {"A": 1, "B": 1})
    assert [c.key for c in offered] == [1, 4] and [c.key for c in waiting] == [2, 3]
    # One place comes free while A holds one and B none: B's quota is not filled, but nobody from B waits.
    offered, _ = allocate(QUOTAS, 2, [_c(2, "A", 1), _c(3, "A", 2)], {"A": 1}, {"A": 1, "B": 1})
    assert [c.key for c in offered] == [2]


def test_no_free_place_offers_nobody() -> None:
    offered, waiting = allocate(FIRST_COME, 1, [_c(1, "A", 0)], {"A": 1}, {})
    assert offered == [] and [c.key for c in waiting] == [1]


def test_an_unknown_rule_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown allocation rule"):
        queue("lottery", [], {}, {})
