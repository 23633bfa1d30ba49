"""What each home page shows, as plain data: the ICB team's own work, and the national team's counts.

The view only picks which one a user gets (``apps.cases.policy.is_case_team`` for the ICB home,
``apps.accounts.access.can_see_case_aggregates`` for the national one) and renders it, so the view can move without
this logic. Every part is read in a fixed number of queries, whatever the number of cases, budgets or practices
(``apps/pages/tests/test_home.py`` counts them at two sizes).

The ICB home is scoped to the ICB's own cases (the chokepoint ``access.cases_visible_to``); the national home has
counts only (by state, and how many are late), never a case or a practice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Count, QuerySet
from django.utils import timezone

from analytics import money
from apps.accounts.models import User
from apps.cases import clocks
from apps.cases import policy as access
from apps.cases.models import OPEN, Case, Status
from apps.funding.services import budgets_for
from apps.indicators import services as watch
from apps.practices.models import ICB, Practice

SHOWN = 10  # rows of each list on the home page; the full lists are a link away
REVIEWS_AHEAD = timedelta(days=28)  # a case review "due" this soon shows on the home page


@dataclass(frozen=True)
class StateCount:
    status: str
    label: str
    open: int
    late: int


@dataclass(frozen=True)
class LateCase:
    pk: int
    practice: str
    status_label: str
    clock: clocks.Clock

    @property
    def ref(self) -> str:
        return f"CASE-{self.pk:06d}"


@dataclass(frozen=True)
class ReviewDue:
    pk: int
    practice: str
    due: date
    overdue: bool

    @property
    def ref(self) -> str:
        return f"CASE-{self.pk:06d}"


@dataclass(frozen=True)
class BudgetLine:
    programme: str
    line: str
    allocated: int
    committed: int
    spent: int
    remaining: int


@dataclass
class IcbHome:
    icb: ICB
    fy_label: str
    states: list[StateCount]
    late: list[LateCase]
    late_total: int
    watch_without_case: list[Practice]
    watch_without_case_total: int
    watch_reviews_overdue: int
    budgets: list[BudgetLine]
    reviews: list[ReviewDue]
    reviews_total: int
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def open_total(self) -> int:
        return sum(s.open for s in self.states)


@dataclass
class NationalHome:
    states: list[StateCount]
    late_total: int
    icbs_with_late: int

    @property
    def open_total(self) -> int:
        return sum(s.open for s in self.states)


def _states(cases: QuerySet[Case], late: list[clocks.Breach]) -> list[StateCount]:
    counts = dict(cases.filter(status__in=OPEN).order_by().values_list("status").annotate(n=Count("pk")))
    late_by: dict[str, int] = {}
    for b in late:
        late_by[b.status] = late_by.get(b.status, 0) + 1
    return [StateCount(str(s), str(s.label), counts.get(s, 0), late_by.get(s, 0)) for s in OPEN]


def icb_home(user: User, icb: ICB, today: date | None = None) -> IcbHome:
    """The ICB team's home: its open cases by state and how many are past their clock (the latest first), the
    practices on its watch list with no open case, its budgets this year per programme and line, and the case
    reviews due within four weeks (or overdue)."""
    today = today or timezone.localdate()
    cases = access.cases_visible_to(user).filter(icb=icb)
    late = clocks.breaches(cases, today)
    shown_late = late[:SHOWN]
    reviews_qs = cases.filter(status__in=OPEN, review_due__lte=today + REVIEWS_AHEAD)
    reviews = list(reviews_qs.order_by("review_due", "pk").values_list("pk", "practice_id", "review_due")[:SHOWN])
    watch_rows = [r for r in watch.watch_rows(icb, watch.current_run(), listed_or_decided=True) if r.on_list]
    with_case = set(cases.filter(status__in=OPEN).values_list("practice_id", flat=True))
    without = [r.practice for r in watch_rows if r.practice.pk not in with_case]
    ids = {b.practice_id for b in shown_late} | {pid for _, pid, _ in reviews}
    names = {p.pk: p.display_name for p in Practice.objects.filter(pk__in=ids).only("code", "name")}
    budgets = [
        BudgetLine(
            b.line.programme.name,
            b.line.name,
            b.balance_.allocated,  # type: ignore[attr-defined]
            b.balance_.committed,  # type: ignore[attr-defined]
            b.balance_.spent,  # type: ignore[attr-defined]
            b.balance_.remaining,  # type: ignore[attr-defined]
        )
        for b in budgets_for(icb, today)
    ]
    totals = {k: sum(getattr(b, k) for b in budgets) for k in ("allocated", "committed", "spent", "remaining")}
    return IcbHome(
        icb=icb,
        fy_label=money.fy_label(money.financial_year_of(today)),
        states=_states(cases, late),
        late=[
            LateCase(b.case_id, names.get(b.practice_id, ""), str(Status(b.status).label), b.clock) for b in shown_late
        ],
        late_total=len(late),
        watch_without_case=without[:SHOWN],
        watch_without_case_total=len(without),
        watch_reviews_overdue=sum(1 for r in watch_rows if r.review_overdue),
        budgets=budgets,
        reviews=[ReviewDue(pk, names.get(pid, ""), due, due < today) for pk, pid, due in reviews],
        reviews_total=reviews_qs.count(),
        totals=totals,
    )


def national_home(today: date | None = None) -> NationalHome:
    """England's open cases by state and how many are past their clock, and in how many ICBs: counts only."""
    today = today or timezone.localdate()
    cases = Case.objects.all()
    late = clocks.breaches(cases, today)
    return NationalHome(_states(cases, late), len(late), len({b.icb_id for b in late}))
