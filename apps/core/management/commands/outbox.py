"""List the email outbox's counts and the emails whose outcome is unknown, and settle one: ``--send-again ID``
queues it (the worker sends it) or ``--mark-sent ID`` records that it was delivered (docs/runbook.md §4)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.core import outbox
from apps.core.tasks import send_queued_emails


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: ArgumentParser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--send-again", type=int, metavar="ID", help="queue this unknown-outcome email again")
        group.add_argument("--mark-sent", type=int, metavar="ID", help="record this unknown-outcome email as sent")
        parser.add_argument("--by", default="command:outbox", help="who decided (recorded on the row)")

    def handle(self, *args: Any, send_again: int | None, mark_sent: int | None, by: str, **opts: Any) -> None:
        row_id = send_again if send_again is not None else mark_sent
        if row_id is not None:
            try:
                with transaction.atomic():
                    row = outbox.decide(row_id, send_again=send_again is not None, by=by)
                    if send_again is not None:
                        transaction.on_commit(send_queued_emails.enqueue)
            except outbox.OutboxError as exc:
                raise CommandError(f"email {row_id}: {exc}") from None
            done = "queued to be sent again" if send_again is not None else "recorded as sent"
            self.stdout.write(f"Email {row.pk} to {row.to} {done}.")
            return
        counts = outbox.counts()
        self.stdout.write(", ".join(f"{state}: {n}" for state, n in counts.items()))
        for row in outbox.unknown_emails(limit=1000):
            self.stdout.write(
                f"  unknown  {row.pk}  {row.to}  {row.subject}  (handed over {row.claimed_at:%Y-%m-%d %H:%M})"
            )
