"""The budgets an ICB brings in with its caseload (the XLSX's "Budgets" sheet), decided before anything is written.

A row is the ICB's budget for one year of one line of a scheme. An ICB records the budgets of its **own** schemes — a
local resilience scheme, or money it ran before the service — which national has not set here
(``apps.funding.services.local``). A national programme's budget is the national team's: a row naming one is
*already here* when it matches the ICB's allocation and an error otherwise. The case rows of the same file may then
draw on the budgets the sheet creates: those are planned here as budgets not yet saved (negative ids), with their
whole amount as headroom, and swapped for the real ones at commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from analytics import money
from apps.accounts.models import User
from apps.caseload import reading
from apps.caseload.models import CaseloadUpload
from apps.core.errors import DomainError
from apps.funding.models import Budget, FundingLine, Programme
from apps.funding.services import balances, pounds
from apps.funding.services.local import line_code, local_budget_problem, record_local_budget
from apps.practices.models import ICB

CREATE, UNCHANGED, ERROR = "create", "unchanged", "error"
LABELS = {CREATE: "Will create", UNCHANGED: "Already here", ERROR: "Error"}


@dataclass
class BudgetRow:
    number: int  # the Budgets sheet's row number (its header is row 1)
    programme: str
    line_name: str
    fy: int | None = None
    amount_pence: int = 0
    name: str = ""
    menu: str = ""
    action: str = CREATE
    reasons: list[str] = field(default_factory=list)
    summary: str = ""
    planned: Budget | None = None  # the budget the case rows may draw on (unsaved for a row to create)

    @property
    def label(self) -> str:
        return LABELS[self.action]

    def refuse(self, reason: str) -> None:
        self.action = ERROR
        self.reasons.append(reason)


def plan_budgets(
    icb: ICB, records: list[dict[str, str]], header_problems: list[str], today: date
) -> tuple[list[BudgetRow], dict[tuple[str, int], list[Budget]], dict[int, int]]:
    """Every budget row's outcome; the budgets the case rows may draw on as (programme, year) → budgets; and the
    headroom of the ones not saved yet (by their negative id). A fixed number of queries."""
    if header_problems:
        row = BudgetRow(1, "", "")
        for p in header_problems:
            row.refuse(p)
        return [row], {}, {}
    codes = {r["programme"].strip().upper() for r in records}
    programmes = {p.code.upper(): p for p in Programme.objects.filter(code__in=codes)}
    existing = {
        (b.line.programme.code.upper(), b.line.code, b.fy): b
        for b in Budget.objects.filter(icb=icb, line__programme__code__in=codes).select_related("line__programme")
    }
    allocated = {pk: bal.allocated for pk, bal in balances([b.pk for b in existing.values()]).items()}
    rows: list[BudgetRow] = []
    planned: dict[tuple[str, int], list[Budget]] = {}
    headroom: dict[int, int] = {}
    seen: dict[tuple[str, str, int], int] = {}
    new_programmes: dict[str, Programme] = {}
    for n, rec in enumerate(records, start=2):
        row = BudgetRow(n, rec["programme"].strip().upper(), rec["line"].strip() or "Core", name=rec["programme_name"])
        rows.append(row)
        row.menu = rec["menu"].strip().upper() or "GPRP"
        try:
            row.fy = reading.parse_fy(rec["financial_year"].strip())
        except ValueError as e:
            row.refuse(f"Financial year: {e}")
        try:
            row.amount_pence = reading.parse_money(rec["amount"])
        except ValueError as e:
            row.refuse(f"Budget: {e}")
        if not row.programme:
            row.refuse("The programme code is empty")
        if row.action == ERROR or row.fy is None:
            continue
        key = (row.programme, line_code(row.line_name), row.fy)
        if key in seen:
            row.refuse(f"Row {seen[key]} is the same scheme, line and year")
            continue
        seen[key] = n
        programme = programmes.get(row.programme)
        found = existing.get(key) or _only_budget(existing, row.programme, row.fy, rec["line"].strip())
        if found is not None and allocated.get(found.pk, 0) == row.amount_pence:
            row.action, row.planned = UNCHANGED, found
            whose = "the national team" if programme and programme.owner_icb_id is None else "your team, before"
            row.summary = f"{found.line} {found.fy_label}: {pounds(row.amount_pence)}, set by {whose}"
            continue
        if found is not None and programme is not None and programme.owner_icb_id == icb.pk:
            row.refuse(
                f"{found.line} already has a {found.fy_label} budget of {pounds(allocated.get(found.pk, 0))}: a "
                f"budget is not changed by importing again"
            )
            continue
        problem = local_budget_problem(icb, programme, row.programme, row.menu, row.amount_pence)
        if problem:
            row.refuse(problem)
            continue
        if programme is None:
            programme = new_programmes.setdefault(
                row.programme, Programme(code=row.programme, name=row.name.strip() or row.programme, menu=row.menu)
            )
        line = FundingLine(programme=programme, code=line_code(row.line_name), name=row.line_name)
        budget = Budget(pk=-n, line=line, fy=row.fy, icb=icb)
        headroom[budget.pk] = row.amount_pence
        row.planned = budget
        row.summary = (
            f"{row.programme} {row.line_name} {money.fy_label(row.fy)}: {pounds(row.amount_pence)} recorded as your "
            f"ICB's own budget"
            + ("" if row.programme in programmes else f" (a new scheme, funding the {row.menu} menu)")
        )
    for row in rows:
        if row.action == CREATE and row.planned is not None:
            planned.setdefault((row.programme, row.planned.fy), []).append(row.planned)
    return rows, planned, headroom


def _only_budget(existing: dict[tuple[str, str, int], Budget], code: str, fy: int, line: str) -> Budget | None:
    """With no line named, the programme's one budget of that year (a programme with several lines needs it named)."""
    if line:
        return None
    found = [b for (c, _, y), b in existing.items() if c == code and y == fy]
    return found[0] if len(found) == 1 else None


class BudgetRowFailed(DomainError):
    """A budget row refused at commit (the state of the database changed since the preview): nothing is imported."""


def record_budgets(rows: list[BudgetRow], case_rows: list[Any], upload: CaseloadUpload, user: User) -> None:
    """The Budgets sheet's new budgets, recorded first (inside the import's transaction); then the case rows that
    draw on one of them get the saved budget in place of the planned one."""
    saved: dict[int, Budget] = {}
    for b in rows:
        if b.action == ERROR:
            raise BudgetRowFailed(f"Budgets row {b.number}: {'; '.join(b.reasons)}")
        if b.action != CREATE or b.planned is None or b.fy is None:
            continue
        try:
            saved[b.planned.pk] = record_local_budget(
                user=user, icb=upload.icb, code=b.programme, name=b.name, menu=b.menu, line_name=b.line_name,
                fy=b.fy, amount_pence=b.amount_pence, source=f"{upload.filename}, Budgets row {b.number}",
            )  # fmt: skip
        except DomainError as e:
            raise BudgetRowFailed(f"Budgets row {b.number}: {e.message}") from e
    for row in case_rows:
        if row.budget is not None and row.budget.pk in saved:
            row.budget = saved[row.budget.pk]
