"""The site pages' access rules: the audit trail and the background task runs."""

from __future__ import annotations

from apps.accounts.access import is_signed_in, sees_case_rows
from apps.accounts.models import Role, User


def can_see_audit(user: User) -> bool:
    """The audit trail (who changed what, when; field names, not values): the national programme team."""
    return is_signed_in(user) and user.role == Role.NATIONAL


# Audited records that belong to the national programme and ICB budgets, never to one practice's case. Every other
# audited record (cases, referrals, plans, sessions, assignments, conflicts, commitments, payments, ledger lines,
# watch-list entries, user accounts, API tokens) is a case-level row: under ``sees_case_rows`` the national team gets
# it only as a count per month, ICB, record and action, so no line names the practice user who acted on a case.
PROGRAMME_RECORDS = frozenset(
    {
        "funding.Programme",
        "funding.FundingLine",
        "funding.FundingYear",
        "funding.Allocation",
        "funding.Budget",
        "funding.Release",
        "funding.Virement",
    }
)


def audit_lines_listed_for(user: User) -> frozenset[str] | None:
    """The audited records a user sees line by line: all (None) for those who see case rows; for the national team,
    the programme's own records only (the rest are totals, see PROGRAMME_RECORDS)."""
    return None if sees_case_rows(user) else PROGRAMME_RECORDS


def can_see_task_runs(user: User) -> bool:
    """The background task runs (notification emails, reminders, the national refresh: status, times, the error's
    last line): the national programme team, who run the service. Emails name users, so nobody else."""
    return is_signed_in(user) and user.role == Role.NATIONAL
