"""Reminders: sessions tomorrow, session logs overdue, network meetings tomorrow. Each is sent once per person.

"Tomorrow" is the next calendar day in Europe/London. A log is overdue when a planned session started more than
``overdue_days`` days ago and nobody has logged it; the member who delivers it is reminded (once). Sending goes
through :func:`apps.cases.notify.notify` (in-app row, and email unless the user turned the kind off); a
:class:`~apps.delivery.models.ReminderSent` row per (kind, person, session or meeting) makes a re-run send nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.cases import notify
from apps.cases.models import NotificationKind
from apps.delivery import policy
from apps.delivery.models import Meeting, ReminderSent, Session


@dataclass
class ReminderCounts:
    sessions_tomorrow: int = 0
    logs_overdue: int = 0
    meetings_tomorrow: int = 0


def _tomorrow(now: datetime) -> tuple[datetime, datetime]:
    day = timezone.localtime(now).date() + timedelta(days=1)
    tz = timezone.get_current_timezone()
    start = datetime.combine(day, time.min, tzinfo=tz)
    return start, start + timedelta(days=1)


def _send(
    kind: str, users: list[User], message: str, *, session: Session | None = None, meeting: Meeting | None = None
) -> int:
    sent = 0
    for u in users:
        _, created = ReminderSent.objects.get_or_create(kind=kind, user=u, session=session, meeting=meeting)
        if created:
            sent += notify.notify([u], kind, session.case if session else None, message)
    return sent


def send_reminders(now: datetime | None = None, overdue_days: int = 3, *, dry_run: bool = False) -> ReminderCounts:
    now = now or timezone.now()
    start, end = _tomorrow(now)
    counts = ReminderCounts()
    with transaction.atomic():
        for s in Session.objects.filter(
            state=Session.State.PLANNED, starts_at__gte=start, starts_at__lt=end
        ).select_related("member__user", "practice", "case"):
            when = timezone.localtime(s.starts_at)
            people = list(policy.practice_team(s.practice_id))
            if s.member.user:
                people.append(s.member.user)
            counts.sessions_tomorrow += _send(
                NotificationKind.SESSION_REMINDER,
                people,
                f"Tomorrow at {when:%H:%M}: “{s.title}” with {s.member.name} at {s.practice.display_name}.",
                session=s,
            )
        cutoff = now - timedelta(days=overdue_days)
        for s in Session.objects.filter(state=Session.State.PLANNED, starts_at__lt=cutoff).select_related(
            "member__user", "practice", "case"
        ):
            if s.member.user is None:
                continue
            counts.logs_overdue += _send(
                NotificationKind.LOG_OVERDUE,
                [s.member.user],
                f"Please log “{s.title}” at {s.practice.display_name} "
                f"({timezone.localtime(s.starts_at):%d %b %Y}): delivered or cancelled.",
                session=s,
            )
        for m in Meeting.objects.filter(starts_at__gte=start, starts_at__lt=end).select_related("network"):
            members = list(
                User.objects.filter(network_memberships__network=m.network, network_memberships__left_at__isnull=True)
            )
            counts.meetings_tomorrow += _send(
                NotificationKind.MEETING_REMINDER,
                members,
                f"Tomorrow at {timezone.localtime(m.starts_at):%H:%M}: {m.network.name} – {m.title} ({m.location}).",
                meeting=m,
            )
        if dry_run:
            transaction.set_rollback(True)
    return counts
