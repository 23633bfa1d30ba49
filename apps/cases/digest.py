"""The daily clock digest: one email a day to each member of an ICB's case team listing the ICB's open cases that
are past their stage clock (:mod:`apps.cases.clocks`).

Nothing is sent to a team with no breach, nor to a user who turned the digest off on the notifications page
(``NotificationKind.BREACH_DIGEST``), has no address or is inactive. Each email goes through the outbox under the key
``breach-digest:<user>:<date>``, so running the digest twice on a day (cron twice, a retry, two workers) sends each
person one email. Like every notification email it names case references and practices, never confidential detail.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.cases import clocks, policy
from apps.cases.models import Case, NotificationKind, NotificationSetting, Status
from apps.core import outbox
from apps.practices.models import Practice

SHOWN = 50  # cases listed in one email; the rest are counted, and the home page lists them all


@dataclass
class DigestRun:
    users: int = 0  # people with something due today
    queued: list[int] = field(default_factory=list)  # outbox rows for today's digests (new or already there)
    sent: int = 0
    held: int = 0  # already sent today (or being sent, or of unknown outcome)
    failed: int = 0


def outbox_key(user_id: int, today: date) -> str:
    return f"breach-digest:{user_id}:{today.isoformat()}"


def digest_email(breaches: list[clocks.Breach], names: dict[int, str], today: date) -> tuple[str, str]:
    """Subject and body of one ICB's digest."""
    n = len(breaches)
    subject = f"GP Resilience: {n} case{'s' if n != 1 else ''} past their stage clock ({today:%d %b %Y})"
    lines = [f"{n} open case{'s are' if n != 1 else ' is'} past the clock for their stage today:", ""]
    for b in breaches[:SHOWN]:
        c = b.clock
        ref = f"CASE-{b.case_id:06d}"
        link = f"{settings.SITE_URL}{reverse('cases:detail', args=[b.case_id])}"
        lines.append(
            f"- {ref} {names.get(b.practice_id, '')} ({Status(b.status).label}): {c.label}, due "
            f"{c.due:%d %b %Y}, {c.days_late} working day{'s' if c.days_late != 1 else ''} late\n  {link}"
        )
    if n > SHOWN:
        lines.append(f"… and {n - SHOWN} more: see your home page.")
    lines += ["", f"Your home page: {settings.SITE_URL}{reverse('core:home')}"]
    lines.append("You can turn this daily email off on your notifications page.")
    return subject, "\n".join(lines)


def send_breach_digest(today: date | None = None, *, dry_run: bool = False, last_attempt: bool = True) -> DigestRun:
    """Queue and send today's digests. ``dry_run`` counts who would get one and writes nothing."""
    today = today or timezone.localdate()
    by_icb: dict[int, list[clocks.Breach]] = defaultdict(list)
    for b in clocks.breaches(Case.objects.all(), today):
        by_icb[b.icb_id].append(b)
    run = DigestRun()
    if not by_icb:
        return run
    off = NotificationSetting.objects.filter(kind=NotificationKind.BREACH_DIGEST, enabled=False).values("user_id")
    users: list[User] = list(policy.case_teams(by_icb).exclude(email="").exclude(pk__in=off).order_by("pk"))
    run.users = len(users)
    if dry_run or not users:
        return run
    ids = {b.practice_id for rows in by_icb.values() for b in rows}
    names = {p.pk: p.display_name for p in Practice.objects.filter(pk__in=ids)}
    for user in users:
        assert user.icb_id is not None  # a case team member always has an ICB
        subject, body = digest_email(by_icb[user.icb_id], names, today)
        run.queued.append(outbox.queue_email(outbox_key(user.pk, today), user.email, subject, body).pk)
    # send_mail is looked up here, at call time, so a test can replace this module's send_mail.
    done = outbox.deliver(run.queued, send_mail, last_attempt=last_attempt)
    run.sent, run.held, run.failed = len(done.sent), len(done.held), len(done.failed)
    if done.error is not None:
        raise done.error
    return run
