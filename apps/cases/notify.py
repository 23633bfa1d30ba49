"""Notifications: an in-app list for each user, and an email for each (console backend in the demo).

A user can turn any kind off (``NotificationSetting``); then neither the in-app row nor the email is made. Emails are
sent after the transaction commits, so a rolled-back action never mails anybody. Messages name the case reference
and the practice only: confidential detail stays on the case page, behind sign-in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse

from apps.accounts.models import Role, User
from apps.cases.models import Case, Notification, NotificationKind, NotificationSetting

log = logging.getLogger(__name__)


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
    emails = [u.email for u in targets.values() if u.pk not in off and u.email]
    if emails:
        link = f"{settings.SITE_URL}{reverse('cases:detail', args=[case.pk])}" if case else settings.SITE_URL
        subject = f"GP Resilience: {NotificationKind(kind).label}"
        body = f"{message}\n\n{link}\n\nYou can turn these emails off on your notifications page."

        def send() -> None:
            try:
                send_mail(subject, body, None, emails)
                Notification.objects.filter(pk__in=[r.pk for r in rows if r.pk]).update(emailed=True)
            except OSError:  # a mail server outage must not undo the case change; the in-app row stays
                log.exception("notification email failed (kind %s)", kind)

        transaction.on_commit(send)
    return len(rows)


def enabled_kinds(user: User) -> dict[str, bool]:
    off = set(NotificationSetting.objects.filter(user=user, enabled=False).values_list("kind", flat=True))
    return {k: k not in off for k in NotificationKind.values}


def set_enabled_kinds(user: User, enabled: set[str]) -> None:
    for kind in NotificationKind.values:
        NotificationSetting.objects.update_or_create(user=user, kind=kind, defaults={"enabled": kind in enabled})
