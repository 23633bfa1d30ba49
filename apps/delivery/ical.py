"""iCalendar export: a user's sessions, coaching bookings and network meetings as one calendar.

The same calendar is offered as a download (signed in) and as a private feed address for calendar apps, which cannot
sign in: the address carries the user's :class:`~apps.delivery.models.CalendarToken`; making a new one revokes the
old. Events name the practice only to people who may see the session (the feed is built from the same access rules).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from apps.accounts import access
from apps.accounts.models import User
from apps.delivery import policy
from apps.delivery.models import CalendarToken, Meeting, Session

PAST_DAYS = 90  # how far back the calendar reaches


def token_for(user: User) -> CalendarToken:
    return CalendarToken.objects.get_or_create(user=user)[0]


def renew_token(user: User) -> CalendarToken:
    CalendarToken.objects.filter(user=user).delete()
    return CalendarToken.objects.create(user=user)


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
