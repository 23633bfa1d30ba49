"""Reading balances from the ledger, locking budgets, and the shortfall error approvers see."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db.models import Sum
from django.utils import timezone

from analytics import money
from analytics.money import Kind
from apps.core import fields
from apps.funding.errors import FundingError
from apps.funding.models import Budget, LedgerEntry, LedgerMonth
from apps.practices.models import ICB

MIN_REASON = 10


# Money in words ----------------------------------------------------------------------------------------------


def pounds(pence: int) -> str:
    """£1,234.56 (always two decimals: used in messages about shortfalls, where pennies matter)."""
    sign = "-" if pence < 0 else ""
    return f"{sign}£{abs(pence) // 100:,}.{abs(pence) % 100:02d}"


def parse_pounds(text: str, what: str = "Amount", field: str | None = "amount") -> int:
    """Pence from what people type for a sum of money (the rule: :func:`apps.core.fields.parse_pounds`), refused as
    a :class:`FundingError` on ``field``, like every money step."""
    return fields.parse_pounds(text, what, field, refuse=FundingError)


class InsufficientFunds(FundingError):
    """An approval (or variation, or virement) would take a budget below zero.

    ``missing_pence``: how much more would be needed; ``available_pence``: the headroom there is; ``budget``.
    """

    def __init__(self, budget: Budget, missing_pence: int, available_pence: int) -> None:
        self.budget = budget
        self.missing_pence = missing_pence
        self.available_pence = available_pence
        super().__init__(
            f"{pounds(missing_pence)} short: {pounds(available_pence)} available of {budget} "
            f"(released money not yet committed)",
            "amount",
        )


# Reading balances ----------------------------------------------------------------------------------------------


def _summed(rows: Iterable[tuple[int, str, int]], ids: list[int]) -> dict[int, money.Balance]:
    out = {pk: money.Balance() for pk in ids}
    for pk, kind, total in rows:
        out[pk] = out[pk] + money.effect(Kind(kind), total)
    return out


def balances(budget_ids: Iterable[int]) -> dict[int, money.Balance]:
    """Each budget's totals from its ledger entries, in one query: what decides whether money may move."""
    ids = list(budget_ids)
    rows = LedgerEntry.objects.filter(budget_id__in=ids).order_by().values_list("budget_id", "kind")
    return _summed(rows.annotate(total=Sum("amount_pence")), ids)


def tallied_balances(budget_ids: Iterable[int]) -> dict[int, money.Balance]:
    """The same as :func:`balances`, for pages, from the ledger's running monthly totals: a few rows a budget however
    many entries it has (``apps.funding.ledger_writes``; 15,000 entries a budget at 70x took 10-14 ms to sum)."""
    ids = list(budget_ids)
    rows = LedgerMonth.objects.filter(budget_id__in=ids).order_by().values_list("budget_id", "kind")
    return _summed(rows.annotate(total=Sum("amount_pence")), ids)


def with_balances(budgets: Iterable[Budget]) -> list[Budget]:
    """The budgets with ``balance_`` (a :class:`money.Balance`) and ``headroom_pence`` filled in, for pages and
    choices (from :func:`tallied_balances`; the service that then moves money checks :func:`balances`)."""
    items = list(budgets)
    found = tallied_balances(b.pk for b in items)
    for b in items:
        b.balance_ = found[b.pk]  # type: ignore[attr-defined]
    return items


def budgets_for(icb: ICB, on: date | None = None) -> list[Budget]:
    """The ICB's budgets for the financial year containing ``on`` (default today), each with ``headroom_pence``.

    For the approver's choice of budget: a budget with no headroom is still listed (the approver sees why not).
    """
    fy = money.financial_year_of(on or timezone.localdate())
    qs = Budget.objects.filter(icb=icb, fy=fy).select_related("line__programme", "icb")
    return with_balances(qs)


def _lock(budget_ids: Iterable[int]) -> dict[int, Budget]:
    """Lock budget rows in id order (one order everywhere, so two services can never deadlock each other).

    Only the budget rows (``of=self``): the joined line and programme rows stay unlocked, so approvals against
    different ICBs' budgets of one line do not queue behind each other.
    """
    ids = sorted(set(budget_ids))
    locked = (
        Budget.objects.select_for_update(of=("self",))
        .filter(pk__in=ids)
        .order_by("pk")
        .select_related("line__programme")
    )
    rows = {b.pk: b for b in locked}
    if len(rows) != len(ids):
        raise FundingError("That budget no longer exists")
    return rows


def _check(budget: Budget, kind: Kind, amount: int) -> money.Balance:
    """Apply one entry to the budget's current balance (call with the budget locked) or raise."""
    current = balances([budget.pk])[budget.pk]
    try:
        return money.apply(current, kind, amount)
    except money.LedgerError as e:
        if e.missing:
            raise InsufficientFunds(budget, e.missing, max(0, current.headroom)) from e
        raise FundingError(str(e)) from e
