"""Correcting a signed-off session log, and the practice's dispute of one: never by editing the past.

* **Amend** (:func:`amend_session`): the member who delivered the session, or the ICB team, changes the outcome,
  hours, attendees or notes with a reason, within ``settings.SESSION_AMEND_WINDOW_DAYS`` (default 14) of the log, or
  whenever the ICB has sent the log back after a dispute. The log as it was is kept as version 1, each amendment is
  the next version. A session named on a payment (``Payment.session_refs``, unless the payment was rejected) is not
  amended: it has been invoiced. An amended log that the practice had confirmed goes back to the practice to confirm.
* **Dispute** (:func:`dispute_session`): the practice says, with a reason, that a signed-off log is wrong instead of
  confirming it. A session with a dispute open cannot be confirmed nor invoiced.
* **Resolve** (:func:`resolve_dispute`): the ICB team answers with a note: the log stands (the session counts as
  confirmed), the provider must amend it (the practice confirms the amended log), or it was not delivered (a new
  version records it as cancelled).

Each rule is one function returning the refusal in words or ``None`` (:func:`amend_refusal`, …): the services raise
it, and "waiting for me" (:mod:`apps.delivery.waiting`) lists a session for a user exactly when it returns ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.utils import timezone

from apps.accounts.models import User
from apps.cases import notify
from apps.cases.models import NotificationKind
from apps.delivery import policy as access
from apps.delivery.errors import DeliveryError
from apps.delivery.models import DisputeResolution, Session, SessionDispute, SessionLogVersion
from apps.delivery.services.sessions import LogInput, check_log
from apps.delivery.services.timeline import on_case_timeline
from apps.funding.models import Payment

AMEND_WINDOW_DAYS = 14  # the default; settings.SESSION_AMEND_WINDOW_DAYS overrides it
MIN_REASON = 10
# The words of each required explanation, for the services' refusals and the forms' own checks (which show every
# missing explanation at once with the other errors).
AMEND_REASON = f"Say why the log is amended (at least {MIN_REASON} characters)."
DISPUTE_REASON = f"Say what is wrong with the log (at least {MIN_REASON} characters)."
DECISION_NOTE = f"Write a note of the decision (at least {MIN_REASON} characters)."


def too_short(text: str) -> bool:
    """An explanation too short to tell anyone anything."""
    return len(text.strip()) < MIN_REASON


Outcome = DisputeResolution.Outcome


def amend_window() -> timedelta:
    """How long after it was logged a session log may be amended (``settings.SESSION_AMEND_WINDOW_DAYS``)."""
    return timedelta(days=int(getattr(settings, "SESSION_AMEND_WINDOW_DAYS", AMEND_WINDOW_DAYS)))


def session_ref(session_id: int) -> str:
    """How a payment names a session it pays for (``Payment.session_refs``)."""
    return f"S-{session_id}"


def invoiced_session_ids(icb_ids: Iterable[int | None]) -> set[int]:
    """Sessions named on a payment of these ICBs' budgets that is awaiting approval or approved (one query)."""
    refs = Payment.objects.filter(commitment__budget__icb_id__in=set(icb_ids)).exclude(status=Payment.Status.REJECTED)
    out: set[int] = set()
    for row in refs.exclude(session_refs=[]).values_list("session_refs", flat=True):
        for ref in row:
            head, _, num = str(ref).strip().upper().partition("S-")
            if not head and num.isdigit():
                out.add(int(num))
    return out


# --- The facts the rules read, for one session or many ------------------------------------------------------------


def with_history(sessions: QuerySet[Session]) -> QuerySet[Session]:
    """Sessions with what :func:`facts_of` reads prefetched: a fixed number of queries, whatever their number."""
    return sessions.prefetch_related(
        Prefetch("disputes", SessionDispute.objects.select_related("resolution__amendment").order_by("raised_at")),
        Prefetch("versions", SessionLogVersion.objects.only("session_id", "number")),
    )


def with_dispute_flag(sessions: QuerySet[Session]) -> QuerySet[Session]:
    """Sessions annotated ``f_disputed``: a dispute is open (session lists tag them), in the same query."""
    return sessions.annotate(
        f_disputed=Exists(SessionDispute.objects.filter(session=OuterRef("pk"), resolution__isnull=True))
    )


@dataclass(frozen=True)
class Facts:
    open_dispute: SessionDispute | None
    returned: DisputeResolution | None  # an accepted dispute sent back for amendment and not amended yet
    invoiced: bool
    versions: int
    last_outcome: str | None = None  # the latest resolution's outcome, if any


def facts_of(s: Session, invoiced: set[int]) -> Facts:
    """The facts of a session read through :func:`with_history` (``invoiced``: :func:`invoiced_session_ids`)."""
    disputes = list(s.disputes.all())
    last = disputes[-1] if disputes else None
    resolution = getattr(last, "resolution", None) if last else None
    open_dispute = last if last is not None and resolution is None else None
    returned = None
    if resolution is not None and resolution.outcome == Outcome.AMEND and not hasattr(resolution, "amendment"):
        returned = resolution
    last_outcome = resolution.outcome if resolution is not None else None
    return Facts(open_dispute, returned, s.pk in invoiced, len(s.versions.all()), last_outcome)


def facts_for(s: Session) -> Facts:
    """The facts of one session, read afresh."""
    fresh = with_history(Session.objects.filter(pk=s.pk)).get()
    return facts_of(fresh, invoiced_session_ids([s.practice.icb_id]))


# --- The rules: each says why not, or None ------------------------------------------------------------------------


def confirm_refusal(user: User, s: Session, f: Facts) -> str | None:
    if not access.can_confirm_session(user, s):
        return "Only the practice that received the session confirms it."
    if s.signed_off_at is None:
        return "The provider has not signed this session off yet."
    if s.state != Session.State.DELIVERED:
        return "This session was not delivered: there is nothing to confirm."
    if s.confirmed_at:
        return "This session is already confirmed."
    if f.open_dispute is not None:
        return "You have disputed this session: the ICB team resolves the dispute first."
    if f.returned is not None:
        return "The ICB team has asked the provider to amend this log: confirm the amended log."
    return None


def amend_refusal(user: User, s: Session, f: Facts, now: datetime | None = None) -> str | None:
    if not access.can_amend_session(user, s):
        return "Only the member who delivered the session, or the ICB team, amends its log."
    if s.signed_off_at is None or s.logged_at is None:
        return "This log is not signed off yet: change it by logging the session again."
    if f.invoiced:
        return "This session has been invoiced (it is named on a payment): its log can no longer be amended."
    if f.open_dispute is not None:
        return "The practice has disputed this log: the ICB team resolves the dispute first."
    if f.last_outcome == Outcome.NOT_DELIVERED and not access.oversees_session(user, s):
        return "The ICB team found this session was not delivered: only it can change the log now."
    if f.returned is None and (now or timezone.now()) > s.logged_at + amend_window():
        return (
            f"The log can be amended within {amend_window().days} days of being logged "
            f"(logged {timezone.localtime(s.logged_at):%d %B %Y}): that time has passed."
        )
    return None


def asked_to_amend(user: User, s: Session, f: Facts) -> bool:
    """The ICB team sent the log back after a dispute, to the member who delivered it, who may amend it now."""
    return f.returned is not None and access.can_log_session(user, s) and amend_refusal(user, s, f) is None


def dispute_refusal(user: User, s: Session, f: Facts) -> str | None:
    """A practice disputes what it could otherwise confirm: the same rules, save who may."""
    if not access.can_dispute_session(user, s):
        return "Only the practice that received the session disputes it."
    if s.confirmed_at:
        return "This session is confirmed: it can no longer be disputed."
    return confirm_refusal(user, s, f)


def resolve_refusal(user: User, s: Session, f: Facts) -> str | None:
    if not access.can_resolve_dispute(user, s):
        return "Only the ICB team resolves a dispute about a session."
    if f.open_dispute is None:
        return "There is no open dispute on this session."
    return None


def _refuse(refusal: str | None) -> None:
    if refusal:
        raise DeliveryError(refusal)


def _locked(session: Session) -> Session:
    return (
        Session.objects.select_for_update(of=("self",))
        .select_related("practice", "case", "member__user")
        .get(pk=session.pk)
    )


# --- The steps ----------------------------------------------------------------------------------------------------


def _snapshot_first(s: Session) -> None:
    """Keep the log as it was signed off as version 1, the first time it changes."""
    if not s.versions.exists():
        assert s.logged_by is not None and s.logged_at is not None
        SessionLogVersion.objects.create(
            session=s,
            number=1,
            state=s.state,
            delivered_hours=s.delivered_hours,
            attendees=s.attendees,
            notes=s.notes,
            cancelled_reason=s.cancelled_reason,
            recorded_by=s.logged_by,
            recorded_at=s.logged_at,
        )


def _new_version(user: User, s: Session, reason: str, answers: DisputeResolution | None) -> SessionLogVersion:
    _snapshot_first(s)
    version = SessionLogVersion.objects.create(
        session=s,
        number=s.versions.count() + 1,
        state=s.state,
        delivered_hours=s.delivered_hours,
        attendees=s.attendees,
        notes=s.notes,
        cancelled_reason=s.cancelled_reason,
        reason=reason,
        recorded_by=user,
        replaced_confirmation_by=s.confirmed_by,
        replaced_confirmation_at=s.confirmed_at,
        answers=answers,
    )
    s.confirmed_by, s.confirmed_at = None, None  # the practice confirmed the old log, not this one
    s.save()
    return version


def confirm_session(user: User, session: Session) -> Session:
    """The practice confirms a signed-off session took place as logged (not while it disputes it: the same rule,
    :func:`confirm_refusal`, lists it in "waiting for me")."""
    if not access.can_confirm_session(user, session):
        raise DeliveryError("Only the practice that received the session confirms it.")
    with transaction.atomic():
        s = Session.objects.select_for_update(of=("self",)).select_related("member__user", "case").get(pk=session.pk)
        refusal = confirm_refusal(user, s, facts_for(s))
        if refusal:
            raise DeliveryError(refusal)
        s.confirmed_by, s.confirmed_at = user, timezone.now()
        s.save(update_fields=["confirmed_by", "confirmed_at"])
        on_case_timeline(s, user, "confirmed by the practice")
        if s.member.user:
            notify.notify(
                [s.member.user],
                NotificationKind.SESSION_CONFIRMED,
                s.case,
                f"{user.practice.display_name if user.practice else 'The practice'} confirmed “{s.title}”.",
                actor=user,
            )
    return s


def amend_session(user: User, session: Session, data: LogInput, reason: str) -> SessionLogVersion:
    """A new version of a signed-off log, with a reason (see the module's rules); the practice confirms it again."""
    if too_short(reason):
        raise DeliveryError(AMEND_REASON, field="amend_reason")
    with transaction.atomic():
        s = _locked(session)
        f = facts_for(s)
        _refuse(amend_refusal(user, s, f))
        _snapshot_first(s)  # before the session's fields take the new values
        check_log(s, data)
        version = _new_version(user, s, reason.strip()[:500], f.returned)
        on_case_timeline(
            s, user, f"log amended (version {version.number}); the earlier version is kept", version.reason
        )
        if s.state == Session.State.DELIVERED:
            notify.notify(
                list(access.practice_team(s.practice_id)),
                NotificationKind.SESSION_LOGGED,
                s.case,
                f"The log of “{s.title}” was amended (version {version.number}): {version.reason} "
                "Please confirm the session took place as now logged.",
                actor=user,
            )
    return version


def dispute_session(user: User, session: Session, reason: str) -> SessionDispute:
    """The practice disputes a signed-off log instead of confirming it; the ICB team is asked to resolve it."""
    if too_short(reason):
        raise DeliveryError(DISPUTE_REASON, field="dispute_reason")
    with transaction.atomic():
        s = _locked(session)
        _refuse(dispute_refusal(user, s, facts_for(s)))
        dispute = SessionDispute.objects.create(session=s, reason=reason.strip()[:1000], raised_by=user)
        on_case_timeline(s, user, "the practice disputed the log", dispute.reason)
        icb_team = access.icb_team(s.practice.icb_id)
        notify.notify(
            [*icb_team, *([s.member.user] if s.member.user else [])],
            NotificationKind.SESSION_DISPUTED,
            s.case,
            f"{s.practice.display_name} disputed the log of “{s.title}”: {dispute.reason}",
            actor=user,
        )
    return dispute


def resolve_dispute(user: User, session: Session, outcome: str, note: str) -> DisputeResolution:
    """The ICB team's answer to the open dispute, with a note; the practice and the provider are told."""
    if outcome not in Outcome.values:
        raise DeliveryError("Choose how the dispute is resolved.", field="outcome")
    if too_short(note):
        raise DeliveryError(DECISION_NOTE, field="note")
    with transaction.atomic():
        s = _locked(session)
        f = facts_for(s)
        _refuse(resolve_refusal(user, s, f))
        assert f.open_dispute is not None
        resolution = DisputeResolution.objects.create(
            dispute=f.open_dispute, outcome=outcome, note=note.strip()[:1000], resolved_by=user
        )
        if outcome == Outcome.UPHELD:
            # The log stands as if confirmed: the ICB has decided it took place as logged, so it can be invoiced.
            s.confirmed_by, s.confirmed_at = user, timezone.now()
            s.save(update_fields=["confirmed_by", "confirmed_at"])
        elif outcome == Outcome.NOT_DELIVERED:
            _snapshot_first(s)
            s.state, s.delivered_hours, s.attendees = Session.State.CANCELLED, None, {}
            s.cancelled_reason = f"Not delivered (dispute accepted): {resolution.note}"[:300]
            _new_version(user, s, f"Dispute accepted: {resolution.note}"[:500], resolution)
        on_case_timeline(s, user, f"dispute resolved: {resolution.get_outcome_display().lower()}", resolution.note)
        told = [*access.practice_team(s.practice_id), *([s.member.user] if s.member.user else [])]
        notify.notify(
            told,
            NotificationKind.DISPUTE_RESOLVED,
            s.case,
            f"The dispute about “{s.title}” was resolved: {resolution.get_outcome_display().lower()}. "
            f"{resolution.note}",
            actor=user,
        )
    return resolution
