"""Money arithmetic for the funding ledger, Django-free: integer pence only, never a float in a result.

* :func:`largest_remainder` splits an amount by weights so that the parts sum to the amount exactly (Hamilton's
  method: everyone gets the floor of their exact quota, the pennies left over go to the largest fractional parts,
  ties to the earlier item). Quotas are computed with exact fractions, so a float weight (a weighted list size)
  never loses a penny to rounding.
* :func:`capped_split` splits an amount by weights that are also caps (release money in proportion to what each
  ICB has not yet had released; take a decrease from each part in proportion to its size): no part exceeds its cap.
* :func:`cross_split` turns a split by recipient and a split by offer into one (recipient, offer) table whose row
  and column sums are both exact.
* :class:`Balance` and :func:`apply` are the ledger: every entry kind moves one or two of four running totals
  (allocated, released, committed, spent) and :func:`apply` refuses any entry that would break
  ``0 <= spent <= committed <= released <= allocated``.
* :func:`year_end_forecast` says what a budget will have spent by 31 March from the commitments' schedules.

Financial years run April to March; ``fy`` is the calendar year the financial year starts in (2026 = 2026-27).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from fractions import Fraction


class MoneyError(ValueError):
    """Input that cannot be turned into money without losing or inventing a penny."""


# Financial years ----------------------------------------------------------------------------------------------


def financial_year_of(d: date) -> int:
    """The financial year containing ``d``, as its starting calendar year (1 April 2026 → 2026)."""
    return d.year if d.month >= 4 else d.year - 1


def fy_label(fy: int) -> str:
    """2026 → '2026-27'."""
    return f"{fy}-{(fy + 1) % 100:02d}"


def fy_start(fy: int) -> date:
    return date(fy, 4, 1)


def fy_end(fy: int) -> date:
    return date(fy + 1, 3, 31)


def month_end(d: date) -> date:
    return date(d.year, d.month, calendar.monthrange(d.year, d.month)[1])


def month_ends(start: date, end: date) -> list[date]:
    """The last day of each month from ``start``'s month to ``end``'s month, inclusive."""
    out: list[date] = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(month_end(date(y, m, 1)))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


# Splitting ---------------------------------------------------------------------------------------------------


def _exact(w: int | float | Fraction) -> Fraction:
    if isinstance(w, float) and (w != w or w in (float("inf"), float("-inf"))):
        raise MoneyError(f"weight {w} is not a finite number")
    return Fraction(w)


def largest_remainder(total: int, weights: Sequence[int | float | Fraction]) -> list[int]:
    """Split ``total`` pence in proportion to ``weights``; the parts are integers that sum to ``total`` exactly.

    Each part is the floor or the ceiling of its exact quota ``total * w / sum(w)``. A zero weight gets nothing.
    Raises :class:`MoneyError` for a negative total or weight, or weights that are all zero.
    """
    if total < 0:
        raise MoneyError(f"cannot split a negative amount ({total}p)")
    exact = [_exact(w) for w in weights]
    if any(w < 0 for w in exact):
        raise MoneyError("weights must not be negative")
    whole = sum(exact, Fraction(0))
    if not exact or whole == 0:
        if total == 0:
            return [0] * len(exact)
        raise MoneyError("cannot split money when every weight is zero")
    quotas = [total * w / whole for w in exact]
    parts = [q.numerator // q.denominator for q in quotas]
    left = total - sum(parts)
    # Largest fractional part first; ties to the earlier item, so the result is deterministic.
    order = sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    return parts


def capped_split(total: int, caps: Sequence[int]) -> list[int]:
    """Split ``total`` in proportion to ``caps`` with no part above its cap (needs ``total <= sum(caps)``).

    Each part is at most ``ceil(total * cap / sum(caps))``, which is at most ``cap`` because ``total <= sum(caps)``
    and caps are integers; when ``total == sum(caps)`` every part equals its cap.
    """
    if any(c < 0 for c in caps):
        raise MoneyError("caps must not be negative")
    if total > sum(caps):
        raise MoneyError(f"cannot split {total}p within caps summing to {sum(caps)}p")
    return largest_remainder(total, list(caps))


def cross_split(rows: Sequence[int], columns: Sequence[int]) -> list[list[int]]:
    """A table of non-negative integers with the given row sums and column sums (which must have equal totals).

    Built row by row: each row is split across the columns in proportion to what each column still needs
    (:func:`capped_split`), so the table is close to proportional and the last row takes exactly what is left.
    """
    if sum(rows) != sum(columns):
        raise MoneyError(f"rows sum to {sum(rows)}p but columns to {sum(columns)}p")
    if any(r < 0 for r in rows) or any(c < 0 for c in columns):
        raise MoneyError("amounts must not be negative")
    left = list(columns)
    table: list[list[int]] = []
    for r in rows:
        cells = capped_split(r, left) if r else [0] * len(left)
        left = [c - x for c, x in zip(left, cells, strict=True)]
        table.append(cells)
    return table


def even_monthly_schedule(amount: int, start: date, end: date) -> list[tuple[date, int]]:
    """``amount`` spread evenly over the month ends from ``start`` to ``end`` (pennies to the earliest months)."""
    if end < start:
        raise MoneyError(f"the schedule ends ({end}) before it starts ({start})")
    dates = month_ends(start, end)
    return list(zip(dates, largest_remainder(amount, [1] * len(dates)), strict=True))


# The ledger --------------------------------------------------------------------------------------------------


class Kind(StrEnum):
    """Ledger entry kinds. The sign convention is in :data:`EFFECTS` and docs/money.md."""

    ALLOCATION = "allocation"
    RELEASE = "release"
    COMMITMENT = "commitment"
    VARIATION = "variation"
    DECOMMITMENT = "decommitment"
    PAYMENT = "payment"
    VIREMENT = "virement"


# Which running totals an entry's (signed) amount moves: (allocated, released, committed, spent).
EFFECTS: Mapping[Kind, tuple[int, int, int, int]] = {
    Kind.ALLOCATION: (1, 0, 0, 0),  # + money allocated to the budget
    Kind.RELEASE: (0, 1, 0, 0),  # + money released for commitment
    Kind.COMMITMENT: (0, 0, 1, 0),  # + money committed on package approval
    Kind.VARIATION: (0, 0, 1, 0),  # ± change to a commitment
    Kind.DECOMMITMENT: (0, 0, 1, 0),  # − unpaid commitment given back on cancellation
    Kind.PAYMENT: (0, 0, 0, 1),  # + money paid out against a commitment
    Kind.VIREMENT: (1, 1, 0, 0),  # ± released, uncommitted money moved between budgets (out −, in +)
}
# The sign each kind's amount must have (0: either).
SIGNS: Mapping[Kind, int] = {
    Kind.ALLOCATION: 1,
    Kind.RELEASE: 1,
    Kind.COMMITMENT: 1,
    Kind.VARIATION: 0,
    Kind.DECOMMITMENT: -1,
    Kind.PAYMENT: 1,
    Kind.VIREMENT: 0,
}


class LedgerError(MoneyError):
    """An entry that would break a balance rule; ``missing`` is how many pence short it is (0 if not a shortfall)."""

    def __init__(self, message: str, missing: int = 0) -> None:
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True)
class Balance:
    """A budget's running totals, in pence. Invariant: ``0 <= spent <= committed <= released <= allocated``."""

    allocated: int = 0
    released: int = 0
    committed: int = 0
    spent: int = 0

    @property
    def headroom(self) -> int:
        """Released (and so allocated) money not yet committed: what an approval may commit now."""
        return self.released - self.committed

    @property
    def unreleased(self) -> int:
        return self.allocated - self.released

    @property
    def remaining(self) -> int:
        """Allocated money not yet committed (released or not)."""
        return self.allocated - self.committed

    @property
    def outstanding(self) -> int:
        """Committed money not yet paid."""
        return self.committed - self.spent

    def problems(self) -> list[str]:
        out = []
        if self.spent < 0:
            out.append("spent is negative")
        if self.spent > self.committed:
            out.append("more paid than committed")
        if self.committed > self.released:
            out.append("more committed than released")
        if self.released > self.allocated:
            out.append("more released than allocated")
        return out

    def __add__(self, other: Balance) -> Balance:
        return Balance(
            self.allocated + other.allocated,
            self.released + other.released,
            self.committed + other.committed,
            self.spent + other.spent,
        )


def effect(kind: Kind, amount: int) -> Balance:
    """The change one entry makes to a balance."""
    a, r, c, s = EFFECTS[kind]
    return Balance(a * amount, r * amount, c * amount, s * amount)


def apply(balance: Balance, kind: Kind, amount: int) -> Balance:
    """The balance after one entry, or :class:`LedgerError` if the entry has the wrong sign or breaks the rules.

    A shortfall (committing, varying up, paying or moving out more than there is) says how much is missing.
    """
    sign = SIGNS[kind]
    if amount == 0 or (sign and (amount > 0) != (sign > 0)):
        raise LedgerError(f"a {kind} entry of {amount}p has the wrong sign")
    after = balance + effect(kind, amount)
    if after.committed > after.released:
        need = after.committed - after.released
        raise LedgerError(f"{need}p more than the released money not yet committed", missing=need)
    if after.spent > after.committed:
        need = after.spent - after.committed
        raise LedgerError(f"{need}p more than is committed and unpaid", missing=need)
    problems = after.problems()
    if problems:
        raise LedgerError("; ".join(problems))
    return after


def balance_of(entries: Iterable[tuple[Kind, int]]) -> Balance:
    """Totals from entries without checking them (the database already holds checked entries)."""
    total = Balance()
    for kind, amount in entries:
        total = total + effect(kind, amount)
    return total


def replay(entries: Iterable[tuple[Kind, int]]) -> Balance:
    """Apply entries one by one with every check (raises on the first bad one)."""
    b = Balance()
    for kind, amount in entries:
        b = apply(b, kind, amount)
    return b


# Year end ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommitmentPlan:
    """One open commitment: what is still owed on it, what has been paid and when the rest is expected."""

    outstanding: int
    paid: int
    schedule: Sequence[tuple[date, int]] = field(default_factory=tuple)


@dataclass(frozen=True)
class YearEnd:
    """What a budget is expected to have spent by 31 March, and the money at risk of being lost."""

    spent: int
    expected_in_year: int  # still to be paid by 31 March, per the schedules
    late: int  # scheduled on or before today but not yet paid (slipping)
    after_year_end: int  # scheduled after 31 March: lost unless brought forward
    uncommitted: int  # allocated but not committed

    @property
    def forecast_spend(self) -> int:
        return self.spent + self.expected_in_year

    @property
    def at_risk(self) -> int:
        """Money forecast not to be spent in year: uncommitted, plus commitments scheduled after 31 March."""
        return self.uncommitted + self.after_year_end


def _cumulative(schedule: Sequence[tuple[date, int]], upto: date) -> int:
    return sum(a for d, a in schedule if d <= upto)


def year_end_forecast(balance: Balance, plans: Sequence[CommitmentPlan], fy: int, today: date) -> YearEnd:
    """The year-end view of one budget from its balance and its open commitments' schedules.

    Payments so far are counted against the earliest scheduled amounts. For each commitment the money still
    scheduled on or before 31 March is expected in year (capped at what is outstanding); anything scheduled after
    31 March, or owed without a schedule covering it, is counted as after year end. ``late`` is money scheduled up
    to ``today`` and not yet paid: still expected, but slipping.
    """
    end = fy_end(fy)
    expected = late = after = 0
    for p in plans:
        in_year_left = max(0, _cumulative(p.schedule, end) - p.paid)
        due_now = max(0, _cumulative(p.schedule, min(today, end)) - p.paid)
        exp = min(p.outstanding, in_year_left)
        expected += exp
        after += p.outstanding - exp
        late += min(p.outstanding, due_now)
    return YearEnd(balance.spent, expected, late, after, balance.remaining)
