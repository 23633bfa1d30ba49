"""The case workflow's business rules. Views, commands and the API call these; none of them sees a request.

Every function checks the actor's right to act (through :mod:`apps.accounts.access` and :mod:`apps.cases.policy`)
and the lifecycle (:mod:`apps.cases.lifecycle`), writes attributed history, and raises :class:`CaseError` (a
:class:`~apps.core.errors.DomainError`) with a message a user can act on and, when the input is at fault, its field.
Each runs in one transaction: a refused step changes nothing.

One module per concept: ``referral`` (ways in), ``casework`` (triage, status, notes, provider), ``health_check``,
``plan``, ``package`` (builder and submission), ``shares`` (a group package's shares accepted and, across an ICB
border, approved), ``approval``, ``menu``, ``prices`` (local prices, ``price_for``), ``waiting`` (what each user
should do next) and ``notifications``. Callers import from this package (``from apps.cases import services``)."""

from apps.cases.services.approval import approve_package, refuse_package
from apps.cases.services.base import TRIED_CHOICES, CaseError
from apps.cases.services.casework import (
    add_note,
    assign_provider,
    change_status,
    close_case,
    reopen_case,
    reopen_until,
    triage,
)
from apps.cases.services.health_check import benchmark, save_health_check, score_answers
from apps.cases.services.menu import sync_menu
from apps.cases.services.notifications import mark_all_read, set_notification_kinds
from apps.cases.services.package import LineInput, build_package, financial_year_end, neighbours_of, submit_package
from apps.cases.services.plan import ActionInput, GoalInput, agree_plan, save_plan
from apps.cases.services.prices import price_for, set_local_price
from apps.cases.services.referral import ReferralInput, case_counts, refer
from apps.cases.services.shares import decide_icb_share, decide_share
from apps.cases.services.variation import vary_package
from apps.cases.services.waiting import Waiting, waiting_for

__all__ = [
    "TRIED_CHOICES",
    "ActionInput",
    "CaseError",
    "GoalInput",
    "LineInput",
    "ReferralInput",
    "Waiting",
    "add_note",
    "agree_plan",
    "approve_package",
    "assign_provider",
    "benchmark",
    "build_package",
    "case_counts",
    "change_status",
    "close_case",
    "decide_icb_share",
    "decide_share",
    "financial_year_end",
    "mark_all_read",
    "neighbours_of",
    "price_for",
    "refer",
    "refuse_package",
    "reopen_case",
    "reopen_until",
    "save_health_check",
    "save_plan",
    "score_answers",
    "set_local_price",
    "set_notification_kinds",
    "submit_package",
    "sync_menu",
    "triage",
    "vary_package",
    "waiting_for",
]
