"""The session page's corrections: amending a signed-off log, the practice's dispute, and the ICB team's answer.

Each handler reads its form, calls the service and returns the page's errors (empty when the step was taken); the
session page (:func:`apps.delivery.views.sessions.session`) posts here by its ``action``, and shows the history.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest

from apps.accounts.models import User
from apps.delivery import policy as access
from apps.delivery import services
from apps.delivery.errors import DeliveryError
from apps.delivery.forms.sessions import AmendSessionForm, DisputeSessionForm, ResolveDisputeForm
from apps.delivery.models import ATTENDEE_ROLES, Session
from apps.delivery.services import amendments as rules
from apps.delivery.views.common import page_errors, refuse

AMEND_ALIASES = {"cancelled_reason": "reason"}
AMEND_FIELDS = ("outcome", "hours", "notes", "reason", "amend_reason", *(f"att-{k}" for k in ATTENDEE_ROLES))
RESOLVE_ALIASES = {"outcome": "decision", "note": "decision_note"}
ACTIONS = ("amend", "dispute", "resolve")
FIELDS = ("amend_reason", "dispute_reason", "decision", "decision_note")  # kept as typed when a step is refused


def handle(request: HttpRequest, user: User, s: Session, action: str) -> dict[str, str]:
    """Take the posted step; the page's errors, or ``{}`` when it was taken (a message says what happened)."""
    if action == "amend":
        amend = AmendSessionForm(request.POST)
        if amend.is_valid():
            try:
                v = services.amend_session(user, s, amend.cleaned_data["log"], amend.cleaned_data["amend_reason"])
            except DeliveryError as e:
                refuse(amend, e, AMEND_ALIASES)
            else:
                messages.success(request, f"The log is amended (version {v.number}); the earlier version is kept.")
                return {}
        return page_errors(amend, AMEND_FIELDS)
    if action == "dispute":
        dispute = DisputeSessionForm(request.POST)
        if dispute.is_valid():
            try:
                services.dispute_session(user, s, dispute.cleaned_data["dispute_reason"])
            except DeliveryError as e:
                refuse(dispute, e)
            else:
                messages.success(request, "Your dispute is recorded: the ICB team will resolve it.")
                return {}
        return page_errors(dispute, ("dispute_reason",))
    resolve = ResolveDisputeForm(request.POST)
    if resolve.is_valid():
        d = resolve.cleaned_data
        try:
            r = services.resolve_dispute(user, s, d["decision"], d["decision_note"])
        except DeliveryError as e:
            refuse(resolve, e, RESOLVE_ALIASES)
        else:
            messages.success(request, f"Dispute resolved: {r.get_outcome_display().lower()}.")
            return {}
    return page_errors(resolve, ("decision", "decision_note"))


def context(user: User, s: Session) -> dict[str, Any]:
    """What the page shows and offers about the log's history, by the rules the services apply."""
    fresh = rules.with_history(type(s).objects.filter(pk=s.pk)).get()
    f = rules.facts_of(fresh, rules.invoiced_session_ids([s.practice.icb_id]))
    amend_refusal = rules.amend_refusal(user, s, f)
    versions = list(s.versions.select_related("recorded_by", "replaced_confirmation_by"))
    disputes = list(s.disputes.select_related("raised_by", "resolution__resolved_by"))
    # One history, oldest first: each version, each dispute and each answer, as the rows recorded them.
    history: list[tuple[str, Any, Any]] = [("version", v, v.recorded_at) for v in versions]
    for d in disputes:
        history.append(("dispute", d, d.raised_at))
        if getattr(d, "resolution", None) is not None:
            history.append(("resolution", d.resolution, d.resolution.resolved_at))
    history.sort(key=lambda row: row[2])
    upheld = [r for kind, r, _ in history if kind == "resolution" and r.outcome == r.Outcome.UPHELD]
    return {
        "can_confirm": rules.confirm_refusal(user, s, f) is None,
        "can_dispute": rules.dispute_refusal(user, s, f) is None,
        "can_resolve": rules.resolve_refusal(user, s, f) is None,
        "can_amend": amend_refusal is None,
        # Why a user who may amend logs cannot amend this one (window passed, invoiced, disputed), to say so.
        # (not to the ICB team while it has the dispute to resolve: the resolution form is its next step)
        "amend_refused": amend_refusal
        if amend_refusal and access.can_amend_session(user, s) and s.signed_off_at and f.open_dispute is None
        else "",
        "asked_to_amend": rules.asked_to_amend(user, s, f),
        "open_dispute": f.open_dispute,
        "returned": f.returned is not None,
        "history": history,
        # The session counts as confirmed because the ICB team upheld the log, not because the practice confirmed it.
        "confirmed_by_icb": bool(upheld) and s.confirmed_by_id == upheld[-1].resolved_by_id,
        "history_current": versions[-1].number if versions else None,
        "amend_window_days": rules.amend_window().days,
    }
