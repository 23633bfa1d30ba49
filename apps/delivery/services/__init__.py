"""Delivery business rules: faculty, assignment, the session log, and the hand-over to provider invoices.

Every function checks the actor's right to act through :mod:`apps.accounts.access`, runs in one transaction, and
raises :class:`DeliveryError` with a message a user can act on; a refused step saves nothing. Outcomes are in
:mod:`apps.delivery.outcomes`, networks, coaching and peer review in :mod:`apps.delivery.networks`.

Rules:

* **Assignment** (:func:`assign_work`): a line of an *approved* package of a case in delivery (approved, in delivery or
  at review) goes to an active member (or an organisation as a whole) who delivers that offer, covers the case's ICB,
  is accredited (or is an apprentice from supervised practice on, with an accredited supervisor), has **no declared
  conflict** with any practice the package covers or their PCNs, and has **capacity**: in every month of delivery,
  hours already committed plus this line's share must fit the monthly capacity. A line's hours are the offer's
  ``coach_hours_per_unit`` × units (or hours given by the ICB), spread evenly over the package's months; sessions not
  tied to an assignment (booked coaching) count in their own month. The case's provider login is set through
  :func:`apps.cases.services.assign_provider` so the provider sees the case.
* **Sessions**: planned by the provider or the ICB team within the package's dates; logged (delivered with hours,
  attendees by role and notes, or cancelled with a reason) by the member who delivers it; signed off by that member;
  confirmed by the practice. A signed-off session is not edited again: it is amended (a new version, with a reason,
  within ``SESSION_AMEND_WINDOW_DAYS`` and before it is invoiced), or disputed by the practice and resolved by the ICB
  team (:mod:`apps.delivery.services.amendments`).
"""

from apps.delivery.eligibility import (
    APPRENTICE_MAY_DELIVER_FROM,
    Candidate,
    candidates_by_line,
    candidates_for,
    line_hours,
    load_by_month,
    month_start,
    months_between,
    organisation_refusals,
    organisations_by_line,
    organisations_refusals,
    refusals,
)
from apps.delivery.errors import DeliveryError
from apps.delivery.services.amendments import (
    amend_session,
    amend_window,
    confirm_session,
    dispute_session,
    resolve_dispute,
)
from apps.delivery.services.assignment import DELIVERY_STATUSES, assign_work, end_assignment
from apps.delivery.services.faculty import MemberInput, add_member, declare_conflict, record_stage
from apps.delivery.services.invoices import InvoiceLine, delivered_sessions_for_invoice
from apps.delivery.services.sessions import (
    MAX_SESSION_HOURS,
    LogInput,
    log_session,
    plan_session,
    session_counts,
    sign_off_session,
)

__all__ = [
    "APPRENTICE_MAY_DELIVER_FROM",
    "DELIVERY_STATUSES",
    "MAX_SESSION_HOURS",
    "Candidate",
    "DeliveryError",
    "InvoiceLine",
    "LogInput",
    "MemberInput",
    "add_member",
    "amend_session",
    "amend_window",
    "assign_work",
    "candidates_by_line",
    "candidates_for",
    "confirm_session",
    "declare_conflict",
    "delivered_sessions_for_invoice",
    "dispute_session",
    "end_assignment",
    "line_hours",
    "load_by_month",
    "log_session",
    "month_start",
    "months_between",
    "organisation_refusals",
    "organisations_by_line",
    "organisations_refusals",
    "plan_session",
    "record_stage",
    "refusals",
    "resolve_dispute",
    "session_counts",
    "sign_off_session",
]
