"""Notifications: an in-app list for each user, and an email for each (console backend in the demo).

A user can turn any kind off (``NotificationSetting``); then neither the in-app row nor the email is made. The
in-app rows are written in the caller's transaction; the emails are sent by a background task
(:func:`apps.cases.tasks.send_notification_emails`) enqueued when that transaction commits, so a rolled-back action
never mails anybody and a mail outage never undoes or slows the action. Messages name the case reference and the
practice only: confidential detail stays on the case page, behind sign-in.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from django.db import transaction

from apps.accounts.models import Role, User
from apps.cases.models import Case, Notification, NotificationKind, NotificationSetting
from apps.cases.tasks import send_notification_emails


def icb_team(case: Case) -> list[User]:
    return list(User.objects.filter(role=Role.ICB, icb_id=case.icb_id, is_active=True))


def practice_team(case: Case) -> list[User]:
    return list(User.objects.filter(role=Role.PRACTICE, practice_id=case.practice_id, is_active=True))


def notify(users: Iterable[User], kind: str, case: Case | None, message: str, *, actor: User | None = None) -> int:
    """Tell each user (except the one who acted) unless they turned this kind off. Returns how many were told."""
    targets = {u.pk: u for u in users if actor is None or u.pk != actor.pk}
    if not targets:
        return 0
    off = set(
        NotificationSetting.objects.filter(user_id__in=targets, kind=kind, enabled=False).values_list(
            "user_id", flat=True
        )
    )
    rows = [
        Notification(user=u, kind=kind, case=case, message=message[:500]) for pk, u in targets.items() if pk not in off
    ]
    Notification.objects.bulk_create(rows)
    to_email = [r.pk for r in rows if r.user.email]
    if to_email:
        # robust: should the queue itself be unreachable, the error is logged and the committed rows stay.
        transaction.on_commit(partial(send_notification_emails.enqueue, to_email), robust=True)
    return len(rows)


def enabled_kinds(user: User) -> dict[str, bool]:
    off = set(NotificationSetting.objects.filter(user=user, enabled=False).values_list("kind", flat=True))
    return {k: k not in off for k in NotificationKind.values}


def set_enabled_kinds(user: User, enabled: set[str]) -> None:
    for kind in NotificationKind.values:
        NotificationSetting.objects.update_or_create(user=user, kind=kind, defaults={"enabled": kind in enabled})
