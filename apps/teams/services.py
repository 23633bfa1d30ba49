"""Team administration: invite, accept, change a member's team role, deactivate and reactivate.

Each service checks ``policy`` itself (a command or the API cannot skip it) and raises :class:`TeamError` with the
field and a message the user can act on. Every change is an ORM save of an audited model (``accounts.User``,
``accounts.Invitation``) made while acting as the actor (``audit.acting_as``), so the trail names them whether
the call comes from a page, a command or the API; the one bulk write (revoking a deactivated
user's API tokens) is recorded with ``audit.record_bulk``.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import smtplib
from dataclasses import dataclass, replace
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Invitation, Role, TeamRole, User
from apps.api.models import ApiToken
from apps.core import audit
from apps.core.errors import DomainError
from apps.delivery.models import CalendarToken
from apps.practices.models import ICB, Practice
from apps.teams import policy

log = logging.getLogger(__name__)
INVITATION_DAYS = 7
DB_SESSION_ENGINES = ("django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db")
NAME_MAX = 150


class TeamError(DomainError):
    """A refused team change: ``field`` names the form field at fault (or none), the message says why."""


@dataclass(frozen=True)
class InviteInput:
    email: str
    first_name: str
    last_name: str
    role: str
    team_role: str
    icb: ICB | None = None
    practice: Practice | None = None
    organisation: str = ""


def token_digest(raw: str) -> str:
    """Invitation links carry 256 random bits, so a fast digest is enough (as for API tokens)."""
    return hashlib.sha256(raw.encode()).hexdigest()


def _check_person(data: InviteInput) -> None:
    email = data.email.strip().lower()
    if not email:
        raise TeamError("Enter their email address.", "email")
    if len(email) > NAME_MAX:
        raise TeamError(f"An email address here has at most {NAME_MAX} characters.", "email")
    try:
        validate_email(email)
    except ValidationError as exc:
        raise TeamError("Enter an email address in the correct format, like name@nhs.net.", "email") from exc
    for field, value, label in (("first_name", data.first_name, "first"), ("last_name", data.last_name, "last")):
        if not value.strip():
            raise TeamError(f"Enter their {label} name.", field)
        if len(value.strip()) > NAME_MAX:
            raise TeamError(f"A {label} name has at most {NAME_MAX} characters.", field)
    if User.objects.filter(username__iexact=email).exists() or User.objects.filter(email__iexact=email).exists():
        raise TeamError("Someone with this email address already has an account.", "email")
    live = Invitation.objects.filter(email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True)
    if live.filter(expires_at__gt=timezone.now()).exists():
        raise TeamError("This person already has an invitation waiting. Withdraw it first to send another.", "email")


def invite(actor: User, data: InviteInput) -> tuple[Invitation, str]:
    """Create an invitation and email its single-use link; returns the invitation and the raw link token.

    A lead inviting to its own team need not name it: an ICB lead's ICB, a practice lead's practice."""
    if policy.joins_icb_team(data.role) and data.icb is None and policy.invites_within_own_icb(actor):
        data = replace(data, icb=actor.icb)
    if policy.joins_practice(data.role) and data.practice is None and policy.invites_within_own_practice(actor):
        data = replace(data, practice=actor.practice)
    _check_person(data)
    refusal = policy.invitation_refusal(
        actor, data.role, data.team_role, data.icb, data.practice, data.organisation.strip()
    )
    if refusal:
        raise TeamError(refusal, "role")
    # A practice's first user leads it, so the practice can then invite its own colleagues.
    team_role = policy.invited_team_role(actor, data.role, data.practice, data.team_role)
    raw = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic(), audit.acting_as(actor):
        inv = Invitation.objects.create(
            email=data.email.strip().lower(),
            first_name=data.first_name.strip(),
            last_name=data.last_name.strip(),
            role=data.role,
            team_role=team_role,
            icb=data.icb if policy.joins_icb_team(data.role) else None,
            practice=data.practice if policy.joins_practice(data.role) else None,
            organisation=data.organisation.strip() if policy.joins_provider(data.role) else "",
            token_sha256=token_digest(raw),
            invited_by=actor,
            created_at=now,
            expires_at=now + timedelta(days=INVITATION_DAYS),
        )
        transaction.on_commit(lambda: _send_invitation(inv, raw))
    return inv, raw


def _send_invitation(inv: Invitation, raw: str) -> None:
    link = settings.SITE_URL + reverse("teams:accept", args=[raw])
    inviter = inv.invited_by.get_full_name() or inv.invited_by.username
    body = (
        f"Dear {inv.first_name},\n\n{inviter} has invited you to GP Resilience as: {_describe(inv)}.\n\n"
        f"To accept, open this link and choose a password (it works once, until "
        f"{timezone.localtime(inv.expires_at):%d %B %Y %H:%M}):\n\n{link}\n\n"
        "If you did not expect this invitation, you can ignore this email.\n"
    )
    try:
        send_mail("Your invitation to GP Resilience", body, None, [inv.email])
    except (OSError, smtplib.SMTPException):
        # After the commit, so the invitation stands: the team page lists it as waiting, and the lead can withdraw
        # it and send another. The link is not put on a retry queue, whose rows would hold the secret in clear.
        log.exception("the invitation email to %s could not be sent", inv.email)


def _describe(inv: Invitation) -> str:
    role = Role(inv.role).label
    scope = inv.icb.name if inv.icb else inv.practice.display_name if inv.practice else inv.organisation or "England"
    lead = " (team lead)" if inv.team_role == TeamRole.LEAD and policy.has_team_leads(inv.role) else ""
    return f"{role}{lead}, {scope}"


def pending_invitation(raw: str) -> Invitation | None:
    """The invitation behind a link if it can still be accepted (not used, withdrawn or expired)."""
    inv = (
        Invitation.objects.select_related("icb", "practice", "invited_by")
        .filter(token_sha256=token_digest(raw))
        .first()
    )
    return inv if inv is not None and inv.status == "pending" else None


def accept_invitation(raw: str, password: str, password2: str) -> User:
    """Create the invited account with this password and close the invitation (single use)."""
    with transaction.atomic():
        inv = Invitation.objects.select_for_update().filter(token_sha256=token_digest(raw)).first()
        if inv is None or inv.status != "pending":
            raise TeamError("This invitation link has been used, withdrawn or has expired. Ask for a new one.")
        if not password:
            raise TeamError("Enter a password.", "password1")
        if password != password2:
            raise TeamError("The two passwords do not match.", "password2")
        user = User(
            username=inv.email,
            email=inv.email,
            first_name=inv.first_name,
            last_name=inv.last_name,
            role=inv.role,
            team_role=inv.team_role,
            icb=inv.icb,
            practice=inv.practice,
            organisation=inv.organisation,
        )
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise TeamError(" ".join(exc.messages), "password1") from exc
        if User.objects.filter(username__iexact=inv.email).exists():
            raise TeamError("An account with this email address exists already. Sign in, or reset your password.")
        user.set_password(password)
        # The invitee is not signed in yet: the trail names them and the invitation they used.
        with audit.acting_as(f"{inv.email} (invitation {inv.pk})"):
            user.save()
            inv.accepted_at = timezone.now()
            inv.user = user
            inv.save(update_fields=["accepted_at", "user"])
    return user


def withdraw_invitation(actor: User, inv: Invitation) -> None:
    if inv.status != "pending":
        raise TeamError("Only a waiting invitation can be withdrawn.")
    if inv not in policy.invitations_visible_to(actor):
        raise TeamError("You cannot withdraw this invitation.")
    inv.revoked_at = timezone.now()
    with audit.acting_as(actor):
        inv.save(update_fields=["revoked_at"])


def change_team_role(actor: User, member: User, team_role: str) -> None:
    if not policy.can_manage_member(actor, member):
        raise TeamError("You cannot change this person's role.")
    if team_role not in TeamRole.values:
        raise TeamError("Choose lead or member.", "team_role")
    if member.team_role == team_role:
        raise TeamError(
            f"{member.get_full_name() or member.username} is already a {TeamRole(team_role).label.lower()}.",
            "team_role",
        )
    member.team_role = team_role
    with audit.acting_as(actor):
        member.save(update_fields=["team_role"])


def deactivate(actor: User, member: User) -> None:
    """Stop an account: it can no longer sign in, and its sessions, API tokens and calendar feed end now.

    The account row stays (its name stays on the cases, sessions and ledger entries it touched); reactivating it
    gives back sign-in only, never the old sessions or tokens."""
    if not policy.can_manage_member(actor, member):
        raise TeamError("You cannot deactivate this person.")
    if not member.is_active:
        raise TeamError("This account is already deactivated.")
    with transaction.atomic(), audit.acting_as(actor):
        member.is_active = False
        member.save(update_fields=["is_active"])
        end_credentials(member)


def reactivate(actor: User, member: User) -> None:
    if not policy.can_manage_member(actor, member):
        raise TeamError("You cannot reactivate this person.")
    if member.is_active:
        raise TeamError("This account is already active.")
    member.is_active = True
    with audit.acting_as(actor):
        member.save(update_fields=["is_active"])


def end_credentials(user: User) -> None:
    """End every way ``user`` is signed in: browser sessions, API tokens and the calendar feed's secret."""
    live = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
    ids = list(live.values_list("pk", flat=True))
    if ids:
        ApiToken.objects.filter(pk__in=ids).update(revoked_at=timezone.now())
        audit.record_bulk(ApiToken, ApiToken.objects.filter(pk__in=ids), "update", "revoked: account deactivated")
    # Deleted, not kept: a reactivated account gets a new feed address, never the old one back.
    for token in CalendarToken.objects.filter(user=user):
        token.delete()
    if settings.SESSION_ENGINE not in DB_SESSION_ENGINES:
        return  # other stores are checked on each request instead: Django refuses an inactive user's session
    # The database session store has no index by user: read the live sessions and drop this user's.
    stale = [
        s.session_key
        for s in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if s.get_decoded().get(SESSION_KEY) == str(user.pk)
    ]
    Session.objects.filter(session_key__in=stale).delete()
