"""Send today's clock digest: one email to each ICB case-team member whose ICB has open cases past their stage clock
(nothing to a team with none, nor to anyone who turned it off). Run it daily from cron (or queue it with
``enqueue_scheduled digest``); a second run on the same day sends nobody a second email. --dry-run counts the people
who would get one and sends nothing.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.cases.digest import send_breach_digest


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count, send nothing")

    def handle(self, *args: Any, **opts: Any) -> None:
        run = send_breach_digest(dry_run=opts["dry_run"])
        if opts["dry_run"]:
            self.stdout.write(f"Would send the clock digest to {run.users} people")
        else:
            self.stdout.write(
                f"Clock digest: {run.sent} sent, {run.held} already sent today, {run.failed} not sent "
                f"({run.users} people with cases past their clock)"
            )
