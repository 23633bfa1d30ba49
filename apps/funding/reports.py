"""Read-side views of the ledger: budget tables with the year-end forecast, dashboard series and spend by offer.
The ledger listing itself is ``apps.funding.ledger_list``; published spend (360Giving) is ``apps.funding.giving``.

Everything here is derived from ledger entries and commitment schedules; nothing is stored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Q, Sum
from django.utils import timezone

from analytics import money
from analytics.menu.offers import offers_by_code
from analytics.money import Kind
from apps.funding.models import Budget, Commitment, LedgerEntry, LedgerMonth
from apps.funding.services import schedule_of, with_balances
from apps.practices.models import ICB

COMMITTING = [Kind.COMMITMENT, Kind.VARIATION, Kind.DECOMMITMENT]
# The programme's threshold when none is set: 5% of the money released. Year-end slippage of a few per cent is
# normal (an invoice a week late, a session moved) and is absorbed by virements between lines and ICBs in the last
# quarter; beyond about a twentieth of the budget the ICB needs a plan (bring payments forward, commit more, or hand
# money back in time for another ICB to use it). The national team changes it per programme.
DEFAULT_AT_RISK_BP = 500
MAX_AT_RISK_BP = 5_000  # a threshold over half the budget would flag nothing worth flagging


def at_risk(balance: money.Balance, year_end: money.YearEnd, threshold_bp: int) -> bool:
    """The year-end rule, in one place: a budget is at risk when the forecast spend by 31 March (paid so far plus
    what the schedules still expect in year) is above or below the money released to the ICB by more than the
    programme's threshold of it. Released money, not the allocation: the ICB can commit only what is released, and
    releasing the rest is the national team's decision, shown apart on the dashboard. A budget with nothing released
    is at risk only if something is forecast to be spent from it."""
    gap = abs(year_end.forecast_spend - balance.released)
    return gap * 10_000 > balance.released * threshold_bp if balance.released > 0 else year_end.forecast_spend > 0


@dataclass
class BudgetRow:
    budget: Budget
    balance: money.Balance
    year_end: money.YearEnd

    @property
    def at_risk_share(self) -> float:
        return self.year_end.at_risk / self.balance.allocated if self.balance.allocated else 0.0

    @property
    def threshold_bp(self) -> int:
        return self.budget.line.programme.at_risk_threshold_bp

    @property
    def forecast_gap(self) -> int:
        """Forecast spend less released money: below zero an under-spend, above zero an over-spend."""
        return self.year_end.forecast_spend - self.balance.released

    @property
    def flagged(self) -> bool:
        """Marked "At risk": the forecast misses the released money by more than the programme's threshold."""
        return at_risk(self.balance, self.year_end, self.threshold_bp)


def paid_by_commitment(commitment_ids: Iterable[int]) -> dict[int, int]:
    rows = (
        LedgerEntry.objects.filter(commitment_id__in=list(commitment_ids), kind=Kind.PAYMENT)
        .order_by()
        .values_list("commitment_id")
        .annotate(t=Sum("amount_pence"))
    )
    return dict(rows)


def budget_rows(budgets: Iterable[Budget], today: date | None = None) -> list[BudgetRow]:
    """Each budget with its balance and its year-end forecast (from its open commitments' schedules)."""
    today = today or timezone.localdate()
    items = with_balances(budgets)
    open_c = list(Commitment.objects.filter(budget__in=items, status=Commitment.Status.OPEN))
    paid = paid_by_commitment(c.pk for c in open_c)
    plans: dict[int, list[money.CommitmentPlan]] = defaultdict(list)
    for c in open_c:
        p = paid.get(c.pk, 0)
        plans[c.budget_id].append(money.CommitmentPlan(c.amount_pence - p, p, schedule_of(c)))
    return [
        BudgetRow(b, b.balance_, money.year_end_forecast(b.balance_, plans[b.pk], b.fy, today))  # type: ignore[attr-defined]
        for b in items
    ]


def total(rows: Sequence[BudgetRow]) -> dict[str, int]:
    keys = ("allocated", "released", "committed", "spent", "headroom", "remaining", "outstanding")
    out = {k: sum(getattr(r.balance, k) for r in rows) for k in keys}
    out.update(
        forecast_spend=sum(r.year_end.forecast_spend for r in rows),
        at_risk=sum(r.year_end.at_risk for r in rows),
        late=sum(r.year_end.late for r in rows),
        after_year_end=sum(r.year_end.after_year_end for r in rows),
        flagged=sum(r.flagged for r in rows),
    )
    return out


def financial_years() -> list[int]:
    """Years that have budgets, newest first."""
    return sorted(set(Budget.objects.values_list("fy", flat=True)), reverse=True)


def by_group(rows: Sequence[BudgetRow], key: Any) -> list[tuple[Any, dict[str, int]]]:
    groups: dict[Any, list[BudgetRow]] = defaultdict(list)
    for r in rows:
        groups[key(r)].append(r)
    return [(k, total(v)) for k, v in groups.items()]


def monthly(fy: int, icb: ICB | None = None) -> list[tuple[date, int, int]]:
    """(month, net committed, paid) for each month of the year (Europe/London months, April to March), in one query
    of the ledger's running monthly totals (``apps.funding.ledger_writes``): a few rows per budget and month, however
    many entries there are (summing the entries themselves took 14-35 ms at 33,000 on PostgreSQL)."""
    qs = LedgerMonth.objects.filter(budget__fy=fy, kind__in=[*COMMITTING, Kind.PAYMENT])
    if icb is not None:
        qs = qs.filter(icb=icb)
    rows = (
        qs.order_by()
        .values_list("month")
        .annotate(
            c=Sum("amount_pence", filter=Q(kind__in=COMMITTING)), p=Sum("amount_pence", filter=Q(kind=Kind.PAYMENT))
        )
    )
    found = {month: (int(c or 0), int(p or 0)) for month, c, p in rows}
    months = money.month_ends(money.fy_start(fy), money.fy_end(fy))
    return [(d, *found.get(d.replace(day=1), (0, 0))) for d in months]


def spend_by_offer() -> list[dict[str, Any]]:
    """Net committed and paid per menu offer (all ICBs, all years), with the menu's titles."""
    offers = offers_by_code()
    rows = (
        LedgerEntry.objects.filter(kind__in=COMMITTING, commitment__isnull=False)
        .order_by()
        .values_list("offer_code", "budget__fy")
        .annotate(t=Sum("amount_pence"))
    )
    acc: dict[tuple[str, int], int] = defaultdict(int)
    for code, fy, t in rows:
        acc[(code, fy)] += t
    out = []
    for (code, fy), t in acc.items():
        if t <= 0:
            continue
        offer = offers.get(code)
        out.append(
            {
                "fy": fy,
                "code": code,
                "title": offer.title if offer else code,
                "heading": offer.heading if offer else "Other support",
                "programme": offer.programme if offer else "",
                "committed": t,
            }
        )
    out.sort(key=lambda r: (-r["fy"], -r["committed"]))
    return out
