"""The session log: planned, logged as delivered or cancelled, signed off by the provider, confirmed by the practice."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.cases import notify
from apps.cases.models import NotificationKind
from apps.delivery import policy
from apps.delivery import policy as access
from apps.delivery.errors import DeliveryError
from apps.delivery.models import (
    ATTENDEE_ROLES,
    Assignment,
    Session,
)
from apps.delivery.services.timeline import on_case_timeline

MAX_SESSION_HOURS = 12.0

# --- Sessions ---------------------------------------------------------------------------------------------------


def plan_session(user: User, assignment: Assignment, starts_at: datetime, hours: float, title: str) -> Session:
    """Plan a session on an assignment: by the member who delivers it (or the organisation lead) or the ICB team."""
    a = Assignment.objects.select_related("case__practice", "member", "organisation", "line__offer").get(
        pk=assignment.pk
    )
    if not (access.delivers(user, a) or access.can_assign_delivery(user, a.case)):
        raise DeliveryError("Sessions are planned by the provider delivering the work or the case's ICB team.")
    if a.ended_at:
        raise DeliveryError("This assignment has ended.")
    if a.member is None:
        raise DeliveryError("Assign the line to a named member before planning sessions.")
    if not title.strip():
        raise DeliveryError("Give the session a title, for example “Coaching session 1”.", field="title")
    if not 0 < hours <= MAX_SESSION_HOURS:
        raise DeliveryError(f"A session lasts more than 0 and at most {MAX_SESSION_HOURS:g} hours.", field="hours")
    day = timezone.localtime(starts_at).date()
    if not a.starts <= day <= a.ends:
        raise DeliveryError(
            f"The session must fall within the package's dates ({a.starts:%d %b %Y} to {a.ends:%d %b %Y}).",
            field="starts_at",
        )
    return Session.objects.create(
        practice=a.case.practice,
        case=a.case,
        assignment=a,
        member=a.member,
        title=title.strip()[:200],
        starts_at=starts_at,
        planned_hours=hours,
        created_by=user,
    )


@dataclass(frozen=True)
class LogInput:
    delivered: bool
    hours: float | None = None
    attendees: Mapping[str, int] | None = None
    notes: str = ""
    cancelled_reason: str = ""
    sign_off: bool = False


def log_session(user: User, session: Session, data: LogInput) -> Session:
    """Record what happened: delivered (hours, attendees by role, notes) or cancelled (reason); optionally sign off."""
    if not access.can_log_session(user, session):
        raise DeliveryError("Only the member delivering the session logs it.")
    with transaction.atomic():
        s = (
            Session.objects.select_for_update(of=("self",))
            .select_related("practice", "case", "member")
            .get(pk=session.pk)
        )
        if s.signed_off_at:
            raise DeliveryError("This session is signed off: it cannot be changed.")
        check_log(s, data)
        s.logged_by, s.logged_at = user, timezone.now()
        s.save()
        if data.sign_off and s.state == Session.State.DELIVERED:
            _sign_off(user, s)
    return s


def check_log(s: Session, data: LogInput) -> None:
    """Judge a log (hours in range, someone attended, a note; a reason for a cancellation) and put it on the session
    (not saved): the first log and an amendment are judged alike."""
    if data.delivered:
        if s.starts_at > timezone.now():
            raise DeliveryError("A session can be logged as delivered once it has started.")
        if data.hours is None or not 0 < data.hours <= MAX_SESSION_HOURS:
            raise DeliveryError(
                f"Enter the hours delivered (more than 0, at most {MAX_SESSION_HOURS:g}).", field="hours"
            )
        attendees = {k: int(v) for k, v in (data.attendees or {}).items() if int(v)}
        bad = [k for k in attendees if k not in ATTENDEE_ROLES]
        if bad:
            raise DeliveryError(f"Unknown attendee roles: {', '.join(bad)}.", field="attendees")
        if any(v < 0 or v > 200 for v in attendees.values()):
            raise DeliveryError("Attendee numbers must be between 0 and 200.", field="attendees")
        if not attendees:
            raise DeliveryError("Say who attended: at least one person, by role.", field="attendees")
        if len(data.notes.strip()) < 10:
            raise DeliveryError("Write a short note of what was covered (at least 10 characters).", field="notes")
        s.state, s.delivered_hours, s.attendees, s.notes = (
            Session.State.DELIVERED,
            data.hours,
            attendees,
            data.notes.strip(),
        )
        s.cancelled_reason = ""
    else:
        if not data.cancelled_reason.strip():
            raise DeliveryError("Say why the session was cancelled.", field="cancelled_reason")
        s.state, s.cancelled_reason, s.delivered_hours, s.attendees = (
            Session.State.CANCELLED,
            data.cancelled_reason.strip()[:300],
            None,
            {},
        )


def sign_off_session(user: User, session: Session) -> Session:
    if not access.can_log_session(user, session):
        raise DeliveryError("Only the member delivering the session signs it off.")
    with transaction.atomic():
        s = (
            Session.objects.select_for_update(of=("self",))
            .select_related("practice", "case", "member")
            .get(pk=session.pk)
        )
        if s.state != Session.State.DELIVERED:
            raise DeliveryError("Log the session as delivered before signing it off.")
        if s.signed_off_at:
            raise DeliveryError("This session is already signed off.")
        _sign_off(user, s)
    return s


def _sign_off(user: User, s: Session) -> None:
    s.signed_off_by, s.signed_off_at = user, timezone.now()
    s.save(update_fields=["signed_off_by", "signed_off_at"])
    on_case_timeline(s, user, f"{s.delivered_hours:g} hours delivered by {s.member.name}, signed off")
    team = list(policy.practice_team(s.practice_id))
    notify.notify(
        team,
        NotificationKind.SESSION_LOGGED,
        s.case,
        f"{s.member.name} logged “{s.title}” on {timezone.localtime(s.starts_at):%d %b %Y} "
        f"({s.delivered_hours:g} hours). Please confirm it took place.",
        actor=user,
    )


def session_counts(sessions: Iterable[Session]) -> dict[str, float]:
    """Planned / delivered / cancelled counts and delivered hours, for summary tables."""
    out: dict[str, float] = {"planned": 0, "delivered": 0, "cancelled": 0, "hours": 0.0, "confirmed": 0}
    for s in sessions:
        out[s.state] += 1
        if s.state == Session.State.DELIVERED:
            out["hours"] += s.delivered_hours or 0
            out["confirmed"] += 1 if s.confirmed_at else 0
    return out
