"""Money arithmetic: splits never lose or invent a penny, the ledger conserves money and never goes negative."""

from __future__ import annotations

import contextlib
from datetime import date
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from analytics.money import (
    Balance,
    CommitmentPlan,
    Kind,
    LedgerError,
    MoneyError,
    apply,
    balance_of,
    capped_split,
    cross_split,
    even_monthly_schedule,
    financial_year_of,
    fy_label,
    largest_remainder,
    replay,
    year_end_forecast,
)

pence = st.integers(min_value=0, max_value=10**12)  # up to £10bn
weights = st.lists(
    st.one_of(st.integers(0, 10**7), st.floats(0, 1e7, allow_nan=False, allow_infinity=False)), min_size=1, max_size=60
)


@given(pence, weights)
def test_allocations_always_sum_to_the_amount_allocated(total: int, ws: list[int | float]) -> None:
    assume(sum(Fraction(w) for w in ws) > 0)
    parts = largest_remainder(total, ws)
    assert sum(parts) == total
    assert all(p >= 0 for p in parts)


@given(pence, weights)
def test_each_share_is_within_a_penny_of_its_exact_quota(total: int, ws: list[int | float]) -> None:
    whole = sum(Fraction(w) for w in ws)
    assume(whole > 0)
    for part, w in zip(largest_remainder(total, ws), ws, strict=True):
        quota = total * Fraction(w) / whole
        assert quota - 1 < part < quota + 1
        if w == 0:
            assert part == 0


def test_largest_remainder_gives_leftover_pennies_to_the_largest_fractions_then_the_earliest() -> None:
    assert largest_remainder(100, [1, 1, 1]) == [34, 33, 33]
    assert largest_remainder(10, [0.5, 0.3, 0.2]) == [5, 3, 2]
    assert largest_remainder(7, [3, 3, 1]) == [3, 3, 1]
    assert largest_remainder(8, [3, 3, 1]) == [4, 3, 1]  # quotas 3.43, 3.43, 1.14: tie goes to the first


def test_splitting_with_no_weight_or_a_negative_weight_is_refused() -> None:
    with pytest.raises(MoneyError, match="every weight is zero"):
        largest_remainder(100, [0, 0])
    with pytest.raises(MoneyError, match="negative"):
        largest_remainder(100, [1, -1])
    with pytest.raises(MoneyError, match="not a finite"):
        largest_remainder(100, [float("nan")])
    with pytest.raises(MoneyError, match="negative amount"):
        largest_remainder(-1, [1])


@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=40), st.data())
def test_a_capped_split_never_exceeds_a_cap_and_is_exact(caps: list[int], data: st.DataObject) -> None:
    assume(sum(caps) > 0)
    total = data.draw(st.integers(0, sum(caps)))
    parts = capped_split(total, caps)
    assert sum(parts) == total
    assert all(0 <= p <= c for p, c in zip(parts, caps, strict=True))


def test_a_capped_split_of_everything_gives_each_its_cap() -> None:
    assert capped_split(60, [10, 20, 30]) == [10, 20, 30]
    with pytest.raises(MoneyError, match="within caps"):
        capped_split(61, [10, 20, 30])


@given(st.lists(st.integers(0, 10**8), min_size=1, max_size=8), st.lists(st.integers(1, 1000), min_size=1, max_size=8))
def test_a_cross_split_has_exact_row_and_column_sums(rows: list[int], col_weights: list[int]) -> None:
    columns = largest_remainder(sum(rows), col_weights)
    table = cross_split(rows, columns)
    assert [sum(r) for r in table] == rows
    assert [sum(c) for c in zip(*table, strict=True)] == columns
    assert all(x >= 0 for r in table for x in r)


def test_a_cross_split_of_unequal_totals_is_refused() -> None:
    with pytest.raises(MoneyError, match="rows sum"):
        cross_split([10], [9])


@given(pence, st.dates(date(2020, 4, 1), date(2030, 3, 31)))
def test_an_even_schedule_to_year_end_sums_to_the_amount(amount: int, start: date) -> None:
    fy = financial_year_of(start)
    schedule = even_monthly_schedule(amount, start, date(fy + 1, 3, 31))
    assert sum(a for _, a in schedule) == amount
    assert schedule[-1][0] == date(fy + 1, 3, 31)
    assert max(a for _, a in schedule) - min(a for _, a in schedule) <= 1


def test_financial_years_run_april_to_march() -> None:
    assert financial_year_of(date(2026, 4, 1)) == 2026
    assert financial_year_of(date(2027, 3, 31)) == 2026
    assert fy_label(2026) == "2026-27"
    assert fy_label(1999) == "1999-00"


# The ledger ----------------------------------------------------------------------------------------------------

operations = st.lists(
    st.tuples(st.sampled_from(list(Kind)), st.integers(-(10**9), 10**9).filter(lambda x: x != 0)), max_size=80
)


@settings(max_examples=300)
@given(operations)
def test_any_sequence_of_ledger_operations_conserves_money_and_never_goes_negative(ops: list[tuple[Kind, int]]) -> None:
    """Apply random operations, keeping those the ledger accepts: every accepted state is valid and the totals
    equal the sum of the accepted entries (nothing created or lost); refused entries change nothing."""
    b = Balance()
    accepted: list[tuple[Kind, int]] = []
    for kind, amount in ops:
        try:
            after = apply(b, kind, amount)
        except LedgerError:
            continue
        accepted.append((kind, amount))
        b = after
        assert b.problems() == []
        assert min(b.allocated, b.released, b.committed, b.spent, b.headroom, b.outstanding, b.unreleased) >= 0
    assert balance_of(accepted) == b == replay(accepted)
    # Conservation: allocated money is exactly split into unreleased + headroom + outstanding + spent.
    assert b.allocated == b.unreleased + b.headroom + b.outstanding + b.spent


@given(operations, st.integers(1, 10**9))
def test_a_refused_commitment_says_exactly_how_much_is_missing(ops: list[tuple[Kind, int]], ask: int) -> None:
    b = Balance()
    for kind, amount in ops:
        with contextlib.suppress(LedgerError):
            b = apply(b, kind, amount)
    if ask <= b.headroom:
        assert apply(b, Kind.COMMITMENT, ask).headroom == b.headroom - ask
    else:
        with pytest.raises(LedgerError) as exc:
            apply(b, Kind.COMMITMENT, ask)
        assert exc.value.missing == ask - b.headroom


def test_entries_with_the_wrong_sign_are_refused() -> None:
    b = replay([(Kind.ALLOCATION, 100), (Kind.RELEASE, 100), (Kind.COMMITMENT, 60)])
    for kind, amount in [(Kind.ALLOCATION, -1), (Kind.COMMITMENT, -5), (Kind.DECOMMITMENT, 5), (Kind.PAYMENT, -1)]:
        with pytest.raises(LedgerError, match="wrong sign"):
            apply(b, kind, amount)


def test_a_virement_out_can_only_move_released_uncommitted_money() -> None:
    b = replay([(Kind.ALLOCATION, 100), (Kind.RELEASE, 80), (Kind.COMMITMENT, 50)])
    assert apply(b, Kind.VIREMENT, -30) == Balance(70, 50, 50, 0)
    with pytest.raises(LedgerError) as exc:
        apply(b, Kind.VIREMENT, -31)
    assert exc.value.missing == 1


def test_payments_cannot_exceed_what_is_committed() -> None:
    b = replay([(Kind.ALLOCATION, 100), (Kind.RELEASE, 100), (Kind.COMMITMENT, 40), (Kind.PAYMENT, 30)])
    with pytest.raises(LedgerError, match="committed and unpaid") as exc:
        apply(b, Kind.PAYMENT, 11)
    assert exc.value.missing == 1
    with pytest.raises(LedgerError):
        apply(b, Kind.DECOMMITMENT, -11)  # cannot give back money already paid


# Year end ------------------------------------------------------------------------------------------------------


def test_year_end_forecast_counts_slippage_and_money_scheduled_after_31_march() -> None:
    b = Balance(allocated=1000, released=800, committed=700, spent=100)
    plans = [
        CommitmentPlan(outstanding=300, paid=100, schedule=[(date(2026, 6, 30), 200), (date(2026, 9, 30), 200)]),
        CommitmentPlan(outstanding=300, paid=0, schedule=[(date(2027, 2, 28), 100), (date(2027, 5, 31), 200)]),
    ]
    ye = year_end_forecast(b, plans, 2026, today=date(2026, 8, 1))
    assert ye.expected_in_year == 300 + 100
    assert ye.late == 100  # £2 due by 30 June, £1 paid
    assert ye.after_year_end == 200
    assert ye.uncommitted == 300
    assert ye.forecast_spend == 500
    assert ye.at_risk == 500
    assert ye.forecast_spend + ye.at_risk == b.allocated


@given(
    st.lists(
        st.tuples(st.integers(0, 10**6), st.integers(0, 10**6), st.lists(st.integers(0, 10**6), max_size=15)),
        max_size=10,
    ),
    st.integers(0, 10**7),
)
def test_year_end_forecast_plus_money_at_risk_is_the_allocation(
    raw: list[tuple[int, int, list[int]]], spare: int
) -> None:
    plans = []
    committed = spent = 0
    for outstanding, paid, amounts in raw:
        schedule = [(date(2026, 4 + i, 28) if i < 9 else date(2027, i - 8, 28), a) for i, a in enumerate(amounts)]
        plans.append(CommitmentPlan(outstanding, paid, schedule))
        committed += outstanding + paid
        spent += paid
    b = Balance(committed + spare, committed + spare, committed, spent)
    ye = year_end_forecast(b, plans, 2026, today=date(2026, 10, 1))
    assert ye.forecast_spend + ye.at_risk == b.allocated
    assert 0 <= ye.late <= ye.expected_in_year
