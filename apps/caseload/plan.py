"""What an import would do, row by row, decided before anything is written.

Each row becomes a :class:`Row`: *create* (a new case, perhaps with its approved package, commitment and payment),
*update* (a case imported before whose state moved on or whose notes changed), *unchanged* (imported before,
nothing new: uploading the same file twice creates nothing) or *error*, with every reason in plain words. The checks
read everything they need in a fixed number of queries (practices, earlier imports, open cases, budgets and their
balances), so a 5,000-row file is planned in well under a second; the commit (``services.commit_upload``) then goes
through the real case and money services, which check again.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.utils import timezone

from analytics import money
from analytics.menu.offers import Offer, offers_by_code
from apps.caseload import reading
from apps.caseload.budgets import BudgetRow, plan_budgets
from apps.caseload.models import ImportedCase
from apps.cases.lifecycle import TRANSITIONS
from apps.cases.models import ENDED, OPEN, Case, Package, Route, Status, Urgency
from apps.funding.models import Budget
from apps.funding.services import balances, pounds
from apps.practices.models import ICB, Practice

CREATE, UPDATE, UNCHANGED, ERROR = "create", "update", "unchanged", "error"
ACTION_LABELS = {CREATE: "Will create", UPDATE: "Will update", UNCHANGED: "Already here", ERROR: "Error"}
WITH_PACKAGE = (Status.APPROVED, Status.IN_DELIVERY, Status.REVIEW, Status.CLOSED)
NEEDS_TRIAGE = tuple(s for s in Status if s not in (Status.REFERRED, Status.DECLINED, Status.WITHDRAWN))
LEVELS = ("low", "medium", "high")

_ROUTES = {
    "self": Route.SELF, "self referral": Route.SELF, "self-referral": Route.SELF, "practice": Route.SELF,
    "lmc": Route.LMC, "lmc nomination": Route.LMC, "nomination by the lmc": Route.LMC,
    "icb": Route.ICB, "icb nomination": Route.ICB, "": Route.ICB,
    "watch list": Route.WATCH_LIST, "watch-list": Route.WATCH_LIST, "watchlist": Route.WATCH_LIST,
}  # fmt: skip
_STATES = {s.value.replace("_", " "): s for s in Status} | {s.label.lower(): s for s in Status} | {
    "open": Status.REFERRED, "new": Status.REFERRED, "complete": Status.CLOSED, "completed": Status.CLOSED,
    "in progress": Status.IN_DELIVERY, "delivery": Status.IN_DELIVERY,
}  # fmt: skip


@dataclass(frozen=True)
class Earlier:
    """A reference imported before, read as plain values (thousands of them are compared on a re-upload)."""

    pk: int
    case_id: int
    fingerprint: str
    status: str
    practice_id: int

    @property
    def ref(self) -> str:
        return f"CASE-{self.case_id:06d}"


@dataclass
class Row:
    number: int  # the spreadsheet's row number (the header is row 1)
    reference: str
    practice_code: str
    action: str = CREATE
    reasons: list[str] = field(default_factory=list)
    summary: str = ""
    # Parsed values, for the commit.
    practice: Practice | None = None
    route: str = Route.ICB
    urgency: str = Urgency.ROUTINE
    state: Status = Status.REFERRED
    referred_on: date | None = None
    state_on: date | None = None
    scope: str = ""
    impact: str = ""
    notes: str = ""
    offer: Offer | None = None
    budget: Budget | None = None
    amount_pence: int = 0
    provider: str = ""
    paid_pence: int = 0
    invoice: str = ""
    fingerprint: str = ""
    existing: Earlier | None = None

    @property
    def label(self) -> str:
        return ACTION_LABELS[self.action]

    def refuse(self, reason: str) -> None:
        self.action = ERROR
        self.reasons.append(reason)


@dataclass
class Plan:
    rows: list[Row]
    budgets: list[BudgetRow] = field(default_factory=list)  # the Budgets sheet's rows (apps.caseload.budgets)

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def counts(self) -> dict[str, int]:
        return {a: self.count(a) for a in ACTION_LABELS}

    @property
    def errors(self) -> list[Row]:
        return [r for r in self.rows if r.action == ERROR]

    @property
    def budget_errors(self) -> list[BudgetRow]:
        return [r for r in self.budgets if r.action == ERROR]


def fingerprint(record: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def _reachable(source: Status, target: Status) -> bool:
    """Whether the lifecycle has a path from ``source`` to ``target`` (any role, any step)."""
    seen, todo = {source}, deque([source])
    while todo:
        s = todo.popleft()
        if s == target:
            return True
        if s in ENDED:
            continue
        for t in TRANSITIONS:
            if t.source == s and t.target not in seen:
                seen.add(t.target)
                todo.append(t.target)
    return False


def _offer(text: str, menu: dict[str, Offer], titles: dict[str, Offer]) -> Offer | None:
    raw = text.strip()
    return menu.get(raw) or menu.get(raw.lower()) or titles.get(raw.lower())


PROGRESS_EVERY = 500


def plan_import(
    icb: ICB,
    records: list[dict[str, str]],
    today: date | None = None,
    progress: Callable[[int], None] | None = None,
    budget_sheet: tuple[list[dict[str, str]], list[str]] = ([], []),
) -> Plan:
    """Every row's outcome; reads a fixed number of queries whatever the file's length. ``progress`` is told the
    number of rows done every :data:`PROGRESS_EVERY` rows. ``budget_sheet``: the Budgets sheet's rows and header
    problems (``reading.read_budgets``); the case rows may draw on the budgets it creates."""
    today = today or timezone.localdate()
    refs = [r["reference"].strip() for r in records]
    codes = {r["practice"].strip().upper() for r in records}
    practices = {p.code: p for p in Practice.objects.filter(code__in=codes).select_related("icb")}
    existing = {
        ref: Earlier(pk, case_id, fingerprint, status, practice_id)
        for ref, pk, case_id, fingerprint, status, practice_id in ImportedCase.objects.filter(
            icb=icb, reference__in=[r for r in refs if r]
        ).values_list("reference", "pk", "case_id", "fingerprint", "case__status", "case__practice_id")
    }
    open_cases = dict(
        Case.objects.filter(practice__code__in=codes, status__in=OPEN).values_list("practice__code", "pk")
    )
    budgets: dict[tuple[str, int], list[Budget]] = {}
    for b in Budget.objects.filter(icb=icb).select_related("line__programme"):
        budgets.setdefault((b.line.programme.code.upper(), b.fy), []).append(b)
    headroom = {pk: bal.headroom for pk, bal in balances([b.pk for bs in budgets.values() for b in bs]).items()}
    budget_rows: list[BudgetRow] = []
    if budget_sheet[0] or budget_sheet[1]:
        budget_rows, planned, planned_headroom = plan_budgets(icb, budget_sheet[0], budget_sheet[1], today)
        for key, found in planned.items():
            budgets.setdefault(key, []).extend(found)
        headroom.update(planned_headroom)
    menu = offers_by_code()
    titles = {o.title.lower(): o for o in menu.values()}
    first_row: dict[str, int] = {}
    open_in_file: dict[str, int] = {}
    rows: list[Row] = []
    for n, rec in enumerate(records, start=2):
        if progress is not None and n > 2 and (n - 2) % PROGRESS_EVERY == 0:
            progress(n - 2)
        row = Row(n, rec["reference"].strip(), rec["practice"].strip().upper(), fingerprint=fingerprint(rec))
        rows.append(row)
        _read_case(row, rec, icb, practices, today)
        _read_package(row, rec, budgets, menu, titles, today)
        if not row.reference:
            row.refuse("The case reference is empty: give every case your own reference")
        elif len(row.reference) > 40:
            row.refuse("The case reference is longer than 40 characters")
        elif row.reference in first_row:
            row.refuse(f"The case reference {row.reference} is also on row {first_row[row.reference]}")
        else:
            first_row[row.reference] = n
        row.existing = existing.get(row.reference)
        if row.existing is not None:
            _compare(row, row.existing)
        elif row.practice is not None and row.state in OPEN:
            if row.practice_code in open_cases:
                row.refuse(
                    f"{row.practice.display_name} ({row.practice_code}) already has an open case "
                    f"(CASE-{open_cases[row.practice_code]:06d}): a practice has one open case at a time"
                )
            elif row.practice_code in open_in_file:
                row.refuse(f"Row {open_in_file[row.practice_code]} is already an open case of {row.practice_code}")
            else:
                open_in_file[row.practice_code] = n
        if row.action == CREATE and row.budget is not None and row.amount_pence > 0:
            left = headroom.get(row.budget.pk, 0)
            if row.amount_pence > left:
                row.refuse(
                    f"{pounds(row.amount_pence)} would overdraw the {row.budget.line.programme.code} "
                    f"{row.budget.fy_label} budget: {pounds(max(0, left))} is released and not yet committed "
                    f"(after the rows above)"
                )
            else:
                headroom[row.budget.pk] = left - row.amount_pence
        if row.action != ERROR:
            row.summary = _summary(row)
    return Plan(rows, budget_rows)


def _date(row: Row, text: str, what: str, today: date, *, required: bool = False) -> date | None:
    if not text.strip():
        if required:
            row.refuse(f"{what} is empty")
        return None
    try:
        d = reading.parse_date(text)
    except ValueError as e:
        row.refuse(f"{what}: {e}")
        return None
    if d > today:
        row.refuse(f"{what} is {d:%d %B %Y}, which is in the future")
        return None
    return d


def _read_case(row: Row, rec: dict[str, str], icb: ICB, practices: dict[str, Practice], today: date) -> None:
    practice = practices.get(row.practice_code)
    if not row.practice_code:
        row.refuse("The practice ODS code is empty")
    elif practice is None:
        row.refuse(f"Unknown ODS code {row.practice_code[:12]}: no practice has that code")
    elif practice.icb_id != icb.pk:
        where = practice.icb.short_name if practice.icb else "no ICB"
        row.refuse(f"{practice.display_name} ({practice.code}) is not in your ICB (it is in {where})")
    else:
        row.practice = practice
    route = _ROUTES.get(rec["route"].strip().lower())
    if route is None:
        row.refuse(f"“{rec['route'][:30]}” is not a route in: use self-referral, LMC, ICB or watch list")
    else:
        row.route = route
    urgency = rec["urgency"].strip().lower() or Urgency.ROUTINE
    if urgency not in Urgency.values:
        row.refuse(f"“{rec['urgency'][:20]}” is not an urgency: use routine, soon or urgent")
    else:
        row.urgency = urgency
    state = _STATES.get(rec["state"].strip().lower().replace("_", " "))
    if state is None:
        row.refuse(f"“{rec['state'][:30]}” is not a state: use one of {', '.join(s.label.lower() for s in Status)}")
    else:
        row.state = state
    row.referred_on = _date(row, rec["referred_on"], "Referred on", today, required=True)
    row.state_on = _date(row, rec["state_on"], "State reached on", today) or row.referred_on
    if row.referred_on and row.state_on and row.state_on < row.referred_on:
        row.refuse(f"The case reached its state ({row.state_on:%d %b %Y}) before it was referred")
    row.scope, row.impact = rec["triage_scope"].strip().lower(), rec["triage_impact"].strip().lower()
    for what, value in (("triage scope", row.scope), ("triage impact", row.impact)):
        if value and value not in LEVELS:
            row.refuse(f"“{value[:20]}” is not a {what}: use low, medium or high")
    if state in NEEDS_TRIAGE and not (row.scope and row.impact):
        row.refuse(
            f"State not reachable: a case that is {state.label.lower()} has been triaged; give its triage scope and "
            f"impact (low, medium or high)"
        )
    row.notes = rec["notes"].strip()[:5000]


def _read_package(
    row: Row,
    rec: dict[str, str],
    budgets: dict[tuple[str, int], list[Budget]],
    menu: dict[str, Offer],
    titles: dict[str, Offer],
    today: date,
) -> None:
    has_package = any(rec[k].strip() for k in ("offer", "amount", "programme"))
    if not has_package:
        if row.state in WITH_PACKAGE and row.state != Status.CLOSED:
            row.refuse(
                f"State not reachable: a case {row.state.label.lower()} has an approved package; give its support "
                f"offer, programme and amount committed"
            )
        if rec["paid"].strip() and rec["paid"].strip() not in ("0", "£0", "0.00", "£0.00"):
            row.refuse("An amount paid needs the package it was paid against (offer, programme, amount)")
        return
    if row.state not in WITH_PACKAGE:
        row.refuse(
            f"State not reachable: a package is approved only after the plan is agreed, so a case that is "
            f"{row.state.label.lower()} cannot have one"
        )
    row.offer = _offer(rec["offer"], menu, titles)
    if row.offer is None:
        row.refuse(
            f"“{rec['offer'][:60]}” is not on the menu of support: give the offer's code or its title as on the menu"
            if rec["offer"].strip()
            else "A package needs its support offer (the menu code or title)"
        )
    try:
        typed = rec["financial_year"].strip()
        fy = reading.parse_fy(typed) if typed else money.financial_year_of(today)
    except ValueError as e:
        row.refuse(str(e))
        fy = money.financial_year_of(today)
    programme = rec["programme"].strip().upper()
    found = budgets.get((programme, fy), [])
    if not programme:
        row.refuse("A package needs its programme (e.g. GPRP)")
    elif not found:
        row.refuse(
            f"Your ICB has no {programme[:20]} budget for {money.fy_label(fy)}: the national team sets its "
            f"programmes' budgets; a scheme of your own goes on the Budgets sheet of the same file"
        )
    elif len(found) > 1:
        row.refuse(f"{programme} has {len(found)} funding lines in {money.fy_label(fy)}: this import needs one")
    else:
        row.budget = found[0]
        if today > money.fy_end(fy):
            row.refuse(
                f"The {money.fy_label(fy)} budget closed on {money.fy_end(fy):%d %B %Y}: only money of an open "
                f"year can be committed"
            )
        if row.offer is not None and row.offer.programme != row.budget.line.programme.menu:
            row.refuse(f"{row.offer.title} is on the {row.offer.programme} menu; {programme} funds another menu")
    try:
        row.amount_pence = reading.parse_money(rec["amount"])
        if row.amount_pence <= 0:
            row.refuse("The amount committed must be more than £0")
    except ValueError as e:
        row.refuse(f"Amount committed: {e}")
    if rec["paid"].strip():
        try:
            row.paid_pence = reading.parse_money(rec["paid"])
        except ValueError as e:
            row.refuse(f"Amount paid: {e}")
    row.provider = rec["provider"].strip()[:200]
    row.invoice = rec["invoice"].strip()[:60]
    if row.paid_pence > row.amount_pence > 0:
        row.refuse(f"{pounds(row.paid_pence)} paid is more than the {pounds(row.amount_pence)} committed")
    if row.paid_pence and row.provider and not row.invoice:
        row.refuse("An amount paid to a provider needs its invoice number")


def _compare(row: Row, existing: Earlier) -> None:
    """A reference imported before: nothing to do, or a state that moved on and notes that changed."""
    if row.action == ERROR:
        return
    if existing.fingerprint == row.fingerprint:
        row.action = UNCHANGED
        return
    if existing.practice_id != (row.practice.pk if row.practice else None):
        row.refuse(f"{row.reference} was imported for another practice: a case cannot change practice")
        return
    if row.offer is not None and not Package.objects.filter(case_id=existing.case_id).exists():
        row.refuse("A package cannot be added by importing again: approve it on the case page")
    if row.state != existing.status and not _reachable(Status(existing.status), row.state):
        row.refuse(
            f"State not reachable: {existing.ref} is {Status(existing.status).label.lower()} and cannot move to "
            f"{row.state.label.lower()}"
        )
    if row.action != ERROR:
        row.action = UPDATE


def _summary(row: Row) -> str:
    if row.action == UNCHANGED:
        return f"Imported before as {row.existing.ref if row.existing else ''}: nothing new"
    parts = [f"{row.state.label} case" if row.action == CREATE else f"Now {row.state.label.lower()}"]
    if row.action == UPDATE and row.existing:
        was = Status(row.existing.status).label.lower()
        parts[0] = f"{row.existing.ref}: {was} → {row.state.label.lower()}"
    if row.action == CREATE and row.offer is not None:
        parts.append(f"{row.offer.title}, {pounds(row.amount_pence)} committed")
        if row.paid_pence:
            parts.append(f"{pounds(row.paid_pence)} paid (for a colleague to approve)")
    return "; ".join(parts)
