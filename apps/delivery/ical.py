"""iCalendar export: a user's sessions, coaching bookings and network meetings as one calendar.

The same calendar is offered as a download (signed in) and as a private feed address for calendar apps, which cannot
sign in: the address carries a secret whose SHA-256 is the user's :class:`~apps.delivery.models.CalendarToken`; it
is shown once, when made, and making a new one revokes the old. Events name the practice only to people who may see
the session (the feed is built from the same access rules).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from apps.accounts.models import User
from apps.delivery import policy
from apps.delivery import policy as access
from apps.delivery.models import CalendarToken, Meeting, Session, new_token, token_digest

PAST_DAYS = 90  # how far back the calendar reaches


def current_token(user: User) -> CalendarToken | None:
    """The user's feed token (its date: the secret itself is not stored), or None before the first is made."""
    return CalendarToken.objects.filter(user=user).first()


def issue_token(user: User) -> str:
    """Make the user a new feed secret, revoking the old one, and return it: the only time it exists in clear."""
    raw = new_token()
    with transaction.atomic():
        CalendarToken.objects.filter(user=user).delete()
        CalendarToken.objects.create(user=user, token_sha256=token_digest(raw))
    return raw


def feed_user(raw: str) -> User | None:
    """The active user whose feed secret this is, or None."""
    row = CalendarToken.objects.filter(token_sha256=token_digest(raw)).select_related("user").first()
    return row.user if row is not None and row.user.is_active else None


def user_calendar(user: User) -> bytes:
    since = timezone.now() - timedelta(days=PAST_DAYS)
    cal = Calendar()
    cal.add("prodid", "-//GP Resilience//delivery//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "GP Resilience: sessions and meetings")
    stamp = timezone.now()
    sessions = (
        access.sessions_visible_to(user)
        .filter(starts_at__gte=since)
        .exclude(state=Session.State.CANCELLED)
        .select_related("member", "practice")
    )
    for s in sessions:
        ev = Event()
        ev.add("uid", f"session-{s.pk}@gp-resilience")
        ev.add("dtstamp", stamp)
        ev.add("dtstart", s.starts_at)
        ev.add("dtend", s.ends_at)
        ev.add("summary", f"{s.title} – {s.practice.display_name}")
        ev.add("description", f"Delivered by {s.member.name}. {_site(reverse('delivery:session', args=[s.pk]))}")
        ev.add("status", "CONFIRMED")
        cal.add_component(ev)
    mine = Q(network__memberships__user=user, network__memberships__left_at__isnull=True)
    if policy.follows_overseen_networks(user):
        mine |= Q(network__in=access.networks_visible_to(user))
    for m in Meeting.objects.filter(mine, starts_at__gte=since).select_related("network").distinct():
        ev = Event()
        ev.add("uid", f"meeting-{m.pk}@gp-resilience")
        ev.add("dtstamp", stamp)
        ev.add("dtstart", m.starts_at)
        ev.add("dtend", m.ends_at)
        ev.add("summary", f"{m.network.name}: {m.title}")
        ev.add("location", m.location)
        ev.add("description", f"Agenda:\n{m.agenda}\n\n{_site(reverse('delivery:meeting', args=[m.pk]))}")
        cal.add_component(ev)
    return cal.to_ical()


def _site(path: str) -> str:
    return f"{settings.SITE_URL}{path}"
