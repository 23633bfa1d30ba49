"""Delivery sessions: the sessions a user may see (``sessions_visible_to``), logging one (the member who delivers it,
``can_log_session``), signing it off, and the practice's confirmation (``can_confirm_session``); correcting a signed-off
log (``can_amend_session``: the member or the ICB team, a new version with a reason), the practice's dispute
(``can_dispute_session``) and the ICB team's resolution (``can_resolve_dispute``), and the log's history.

Writes go through ``apps.delivery.services`` (the same functions as the session page), so they are checked, locked
and audited the same way; a token call is recorded as the token owner's. Answers to a refused write:

* 404: the caller may not see the session (its existence is not revealed);
* 403: the caller sees the session but may not take this step (an ICB team cannot log a provider's session);
* 422: the input is wrong; ``detail`` lists the fields with what is wrong (``loc`` names the field);
* 409: the session's state forbids the step (already signed off, not started yet, not signed off yet…).

Nothing is saved on any refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from apps.api.common import (
    CSV_CONTENT,
    Error,
    IsoDate,
    Paged,
    PageQuery,
    ValidationErrors,
    csv_response,
    field_errors,
    paged,
    table_responses,
    wants_csv,
)
from apps.core.exports import STREAM_CHUNK_ROWS
from apps.core.formdata import MAX_ID
from apps.delivery import policy as access
from apps.delivery import services
from apps.delivery.errors import DeliveryError
from apps.delivery.forms.sessions import log_input
from apps.delivery.models import ATTENDEE_ROLES, DisputeResolution, Session, SessionDispute

router = Router(tags=["sessions"])

State = Literal["planned", "delivered", "cancelled"]


class SessionOut(Schema):
    id: int
    title: str
    case_id: int | None
    case_ref: str | None
    practice_code: str
    practice_name: str
    member: str = Field(description="Who delivers it")
    offer_code: str | None = Field(description="The menu offer of the package line it delivers, if any")
    starts_at: datetime
    planned_hours: float
    state: State
    delivered_hours: float | None
    attendees: dict[str, int] = Field(description=f"Role → how many attended; roles: {', '.join(ATTENDEE_ROLES)}")
    notes: str
    cancelled_reason: str
    logged_at: datetime | None
    signed_off_at: datetime | None
    confirmed_at: datetime | None


class SessionFilters(PageQuery):
    state: State | None = Field(None, description="Only sessions in this state")
    waiting: Literal["log", "sign_off", "confirm"] | None = Field(
        None,
        description="Only sessions waiting for a step: 'log' (planned and started), 'sign_off' (delivered, not signed "
        "off), 'confirm' (signed off, not confirmed by the practice, not disputed)",
    )
    case_id: int | None = Field(None, ge=1, le=MAX_ID, description="Only sessions of this case")
    date_from: IsoDate | None = Field(None, description="Sessions starting on or after this day (Europe/London)")
    date_to: IsoDate | None = Field(
        None, description="Sessions starting on or before this day (Europe/London); before date_from, nothing matches"
    )


class SessionLogIn(Schema):
    outcome: Literal["delivered", "cancelled"]
    hours: float | None = Field(
        None, gt=0, le=services.MAX_SESSION_HOURS, description="Hours delivered (needed when delivered)"
    )
    attendees: dict[str, int] = Field(
        default_factory=dict,
        description=f"Role → how many attended (when delivered); roles: {', '.join(ATTENDEE_ROLES)}",
    )
    notes: str = Field("", max_length=10_000, description="What was covered, at least 10 characters (when delivered)")
    cancelled_reason: str = Field("", max_length=300, description="Why it did not happen (when cancelled)")
    sign_off: bool = Field(False, description="Sign the delivered session off now: the practice is asked to confirm")


WRITE_RESPONSES: dict[Any, Any] = {
    200: SessionOut,
    400: Error,
    401: Error,
    403: Error,
    404: Error,
    409: Error,
    422: ValidationErrors,
}


def _session(s: Session) -> dict[str, Any]:
    return {
        "id": s.pk,
        "title": s.title,
        "case_id": s.case_id,
        "case_ref": s.case.ref if s.case else None,
        "practice_code": s.practice.code,
        "practice_name": s.practice.name,
        "member": s.member.name,
        "offer_code": s.assignment.line.offer.code if s.assignment else None,
        "starts_at": s.starts_at,
        "planned_hours": s.planned_hours,
        "state": s.state,
        "delivered_hours": s.delivered_hours,
        "attendees": {k: int(v) for k, v in s.attendees.items()},
        "notes": s.notes,
        "cancelled_reason": s.cancelled_reason,
        "logged_at": s.logged_at,
        "signed_off_at": s.signed_off_at,
        "confirmed_at": s.confirmed_at,
    }


def _visible(user: Any) -> QuerySet[Session]:
    # Fetched by key for the page's sessions, not joined: joined, PostgreSQL read and sorted every one of the ICB's
    # sessions with their five related rows before cutting the page (16 ms at 70x, against 2.4 ms for the page alone).
    return access.sessions_visible_to(user).prefetch_related("practice", "case", "member", "assignment__line__offer")


@router.get(
    "/sessions",
    response=table_responses(Paged[SessionOut]),
    openapi_extra=CSV_CONTENT,
    summary="Sessions I may see",
)
def list_sessions(request: HttpRequest, filters: Query[SessionFilters]) -> Any:
    """A provider's own sessions (those it delivers), a practice's (those it receives), an ICB team's (its
    practices'), in start order. The national team sees delivery as counts on the delivery page only."""
    if not access.can_list_sessions(request.auth):
        raise PermissionDenied("Sessions are seen by the ICB team, the practice and the provider delivering them.")
    qs = _visible(request.auth).order_by("starts_at", "pk")
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.waiting == "log":
        qs = qs.filter(state=Session.State.PLANNED, starts_at__lte=timezone.now())
    elif filters.waiting == "sign_off":
        qs = qs.filter(state=Session.State.DELIVERED, signed_off_at__isnull=True)
    elif filters.waiting == "confirm":
        # Not while the practice disputes it (the ICB team resolves first), nor once found not delivered.
        disputed = SessionDispute.objects.filter(session=OuterRef("pk"), resolution__isnull=True)
        qs = qs.filter(state=Session.State.DELIVERED, signed_off_at__isnull=False, confirmed_at__isnull=True).exclude(
            Exists(disputed)
        )
    if filters.case_id:
        qs = qs.filter(case_id=filters.case_id)
    tz = timezone.get_current_timezone()
    if filters.date_from:
        qs = qs.filter(starts_at__gte=datetime.combine(filters.date_from, time.min, tz))
    if filters.date_to:
        qs = qs.filter(starts_at__lte=datetime.combine(filters.date_to, time.max, tz))
    if wants_csv(request, filters.format):
        return csv_response((_session(s) for s in qs.iterator(STREAM_CHUNK_ROWS)), SessionOut, "sessions")
    return paged(qs, filters.page, filters.page_size, _session)


@router.get(
    "/sessions/{session_id}",
    response={200: SessionOut, 401: Error, 404: Error, 422: ValidationErrors},
    summary="One session",
)
def get_session(request: HttpRequest, session_id: int) -> Any:
    """404 for a session the caller may not see."""
    return _session(access.get_session_for(request.auth, session_id))


def _refused(e: DeliveryError) -> Any:
    """A service refusal as an answer: the input's fault is 422 naming the field, the record's state is 409."""
    if e.field:
        return Status(422, field_errors("body", {e.field: str(e)}))
    return Status(409, {"detail": str(e)})


@router.post(
    "/sessions/{session_id}/log",
    response=WRITE_RESPONSES,
    summary="Log a session as delivered or cancelled (the provider delivering it)",
)
def log_session(request: HttpRequest, session_id: int, body: SessionLogIn) -> Any:
    """Delivered: ``hours``, ``attendees`` (at least one person) and ``notes``; cancelled: ``cancelled_reason``.
    With ``sign_off`` a delivered session is signed off at once and the practice is asked to confirm it. A signed-off
    session cannot be logged again (409)."""
    user = request.auth
    s = access.get_session_for(user, session_id)
    if not access.can_log_session(user, s):
        raise PermissionDenied("Only the member delivering the session logs it.")
    try:
        # The same reading of a log as the session page's form (apps.delivery.forms.sessions.log_input).
        data = log_input(body.outcome, body.hours, body.attendees, body.notes, body.cancelled_reason, body.sign_off)
        services.log_session(user, s, data)
    except DeliveryError as e:
        return _refused(e)
    return _session(access.get_session_for(user, session_id))


@router.post(
    "/sessions/{session_id}/sign-off",
    response=WRITE_RESPONSES,
    summary="Sign a delivered session off (the provider delivering it)",
)
def sign_off_session(request: HttpRequest, session_id: int) -> Any:
    """The practice is then asked to confirm it. 409 if it is not delivered yet or already signed off."""
    return _step(
        request.auth,
        session_id,
        access.can_log_session,
        "Only the member delivering the session signs it off.",
        services.sign_off_session,
    )


@router.post(
    "/sessions/{session_id}/confirm",
    response=WRITE_RESPONSES,
    summary="Confirm a session took place as logged (the practice)",
)
def confirm_session(request: HttpRequest, session_id: int) -> Any:
    """409 if the provider has not signed it off yet, or it is already confirmed."""
    return _step(
        request.auth,
        session_id,
        access.can_confirm_session,
        "Only the practice that received the session confirms it.",
        services.confirm_session,
    )


def _step(
    user: Any,
    session_id: int,
    allowed: Callable[[Any, Any], bool],
    refusal: str,
    act: Callable[[Any, Any], Any],
) -> Any:
    """A one-click step on a session: 404 if the user cannot see it, 403 if not theirs to take, 409 with the reason
    if its state forbids it; else the session as it now is."""
    s = access.get_session_for(user, session_id)
    if not allowed(user, s):
        raise PermissionDenied(refusal)
    try:
        act(user, s)
    except DeliveryError as e:
        return _refused(e)
    return _session(access.get_session_for(user, session_id))


# --- Corrections: amend, dispute, resolve, and the history they leave ------------------------------------------------


class SessionAmendIn(SessionLogIn):
    reason: str = Field(
        max_length=500, description="Why the log is amended, at least 10 characters (kept with the new version)"
    )


class SessionDisputeIn(Schema):
    reason: str = Field(max_length=1000, description="What is wrong with the log, at least 10 characters")


class DisputeResolutionIn(Schema):
    outcome: Literal["upheld", "amend", "not_delivered"] = Field(
        description="upheld: the log stands (the session counts as confirmed); amend: the provider must amend the log; "
        "not_delivered: a new version records the session as cancelled"
    )
    note: str = Field(max_length=1000, description="The decision's note, at least 10 characters")


class LogVersionOut(Schema):
    number: int
    state: State
    delivered_hours: float | None
    attendees: dict[str, int]
    notes: str
    cancelled_reason: str
    reason: str = Field(description="Why this version was made (empty for version 1, the log as first signed off)")
    recorded_by: str
    recorded_at: datetime
    replaced_confirmation_at: datetime | None = Field(
        description="When the practice had confirmed the version this one replaced (it is asked to confirm again)"
    )


class DisputeOut(Schema):
    reason: str
    raised_by: str
    raised_at: datetime
    outcome: Literal["upheld", "amend", "not_delivered"] | None = Field(description="None while the dispute is open")
    note: str | None
    resolved_by: str | None
    resolved_at: datetime | None


class SessionHistoryOut(Schema):
    versions: list[LogVersionOut]
    disputes: list[DisputeOut]


@router.post(
    "/sessions/{session_id}/amend",
    response=WRITE_RESPONSES,
    summary="Amend a signed-off log: a new version, with a reason (the provider delivering it, or the ICB team)",
)
def amend_session(request: HttpRequest, session_id: int, body: SessionAmendIn) -> Any:
    """The log as it was is kept as a version. 409 after the amendment window, once the session is on a payment, or
    while the practice's dispute is open; a confirmed log goes back to the practice to confirm."""
    user = request.auth
    s = access.get_session_for(user, session_id)
    if not access.can_amend_session(user, s):
        raise PermissionDenied("Only the member who delivered the session, or the ICB team, amends its log.")
    try:
        data = log_input(body.outcome, body.hours, body.attendees, body.notes, body.cancelled_reason, False)
        services.amend_session(user, s, data, body.reason)
    except DeliveryError as e:
        return _refused(e)
    return _session(access.get_session_for(user, session_id))


@router.post(
    "/sessions/{session_id}/dispute",
    response=WRITE_RESPONSES,
    summary="Dispute a signed-off log instead of confirming it (the practice)",
)
def dispute_session(request: HttpRequest, session_id: int, body: SessionDisputeIn) -> Any:
    """The ICB team is asked to resolve it; the session is not invoiced meanwhile. 409 if it is not signed off,
    already confirmed or already disputed."""
    user = request.auth
    s = access.get_session_for(user, session_id)
    if not access.can_dispute_session(user, s):
        raise PermissionDenied("Only the practice that received the session disputes it.")
    try:
        services.dispute_session(user, s, body.reason)
    except DeliveryError as e:
        return _refused(e)
    return _session(access.get_session_for(user, session_id))


@router.post(
    "/sessions/{session_id}/resolve",
    response=WRITE_RESPONSES,
    summary="Resolve the practice's dispute of a session log (the ICB team)",
)
def resolve_dispute(request: HttpRequest, session_id: int, body: DisputeResolutionIn) -> Any:
    """The practice and the provider are told. 409 if there is no open dispute."""
    user = request.auth
    s = access.get_session_for(user, session_id)
    if not access.can_resolve_dispute(user, s):
        raise PermissionDenied("Only the ICB team resolves a dispute about a session.")
    try:
        services.resolve_dispute(user, s, body.outcome, body.note)
    except DeliveryError as e:
        return _refused(e)
    return _session(access.get_session_for(user, session_id))


def _name(user: Any) -> str:
    return str(user.get_full_name() or user.get_username())


@router.get(
    "/sessions/{session_id}/history",
    response={200: SessionHistoryOut, 401: Error, 404: Error, 422: ValidationErrors},
    summary="A session log's versions and disputes",
)
def get_session_history(request: HttpRequest, session_id: int) -> Any:
    """Oldest first; no versions until the signed-off log is first amended. 404 for a session the caller may not
    see."""
    s = access.get_session_for(request.auth, session_id)
    versions = s.versions.select_related("recorded_by")
    disputes = s.disputes.select_related("raised_by", "resolution__resolved_by")
    out_disputes = []
    for d in disputes:
        r: DisputeResolution | None = getattr(d, "resolution", None)
        out_disputes.append(
            {
                "reason": d.reason,
                "raised_by": _name(d.raised_by),
                "raised_at": d.raised_at,
                "outcome": r.outcome if r else None,
                "note": r.note if r else None,
                "resolved_by": _name(r.resolved_by) if r else None,
                "resolved_at": r.resolved_at if r else None,
            }
        )
    return {
        "versions": [
            {
                "number": v.number,
                "state": v.state,
                "delivered_hours": v.delivered_hours,
                "attendees": {k: int(n) for k, n in v.attendees.items()},
                "notes": v.notes,
                "cancelled_reason": v.cancelled_reason,
                "reason": v.reason,
                "recorded_by": _name(v.recorded_by),
                "recorded_at": v.recorded_at,
                "replaced_confirmation_at": v.replaced_confirmation_at,
            }
            for v in versions
        ],
        "disputes": out_disputes,
    }
