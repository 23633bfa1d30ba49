"""A user's own notifications: marking them read and choosing which kinds to receive."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from apps.accounts.models import User
from apps.cases import notify
from apps.cases.models import Notification


def mark_all_read(user: User) -> int:
    """Mark every unread notification of this user read, in one update; returns how many."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


def set_notification_kinds(user: User, kinds: Iterable[str]) -> None:
    """The kinds of notification the user wants (in the service and by email); the others are turned off."""
    notify.set_enabled_kinds(user, set(kinds))
