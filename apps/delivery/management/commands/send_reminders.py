"""Send delivery reminders: sessions tomorrow (to the practice and the coach), session logs overdue by N days (to the
coach), and network meetings tomorrow (to members). Safe to run as often as you like, e.g. hourly from cron: each
reminder goes to each person once. --dry-run counts what would be sent and sends nothing.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.delivery.reminders import send_reminders


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--overdue-days", type=int, default=3, help="days after a session before its log is overdue"
        )
        parser.add_argument("--dry-run", action="store_true", help="count, send nothing")

    def handle(self, *args: Any, **opts: Any) -> None:
        c = send_reminders(overdue_days=opts["overdue_days"], dry_run=opts["dry_run"])
        prefix = "Would send" if opts["dry_run"] else "Sent"
        self.stdout.write(
            f"{prefix}: {c.sessions_tomorrow} session reminders, {c.logs_overdue} overdue-log reminders, "
            f"{c.meetings_tomorrow} meeting reminders"
        )
