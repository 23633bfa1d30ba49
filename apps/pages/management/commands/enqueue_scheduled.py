"""Queue scheduled background tasks for the worker (manage.py db_worker) to run: "reminders" (daily: sessions and
meetings tomorrow, overdue session logs), "digest" (daily: the ICB teams' email of cases past their stage clock),
"cohorts" (daily: allocate the places of cohorts whose interest has closed), "audit" (every few minutes: add the new
audit records to the national audit page's tallies) and "refresh" (monthly: import the national files, then score and
compute ripple when anything changed). Cron or a systemd timer calls this; see
docs/runbook.md for the lines. A task already queued or running is not queued again, and every task is idempotent,
so an extra call does no harm.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.tasks import Task

from apps.cases.tasks import send_clock_digest
from apps.cohorts.tasks import allocate_closed_cohorts
from apps.core.background import enqueue_unless_pending
from apps.datasets.tasks import refresh_national_data
from apps.delivery.tasks import send_due_reminders
from apps.pages.tasks import refresh_audit_tallies

SCHEDULED: dict[str, Task] = {
    "reminders": send_due_reminders,
    "digest": send_clock_digest,
    "refresh": refresh_national_data,
    "cohorts": allocate_closed_cohorts,
    "audit": refresh_audit_tallies,
}


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("jobs", nargs="+", choices=sorted(SCHEDULED), help="which scheduled tasks to queue")

    def handle(self, *args: Any, **opts: Any) -> None:
        for name in dict.fromkeys(opts["jobs"]):
            result = enqueue_unless_pending(SCHEDULED[name])
            if result is None:
                self.stdout.write(f"{name}: a run is already queued or running; not queued again")
            elif result.is_finished:  # a backend that runs tasks at once (the immediate one in tests)
                self.stdout.write(f"{name}: ran at once ({result.status.label.lower()})")
            else:
                self.stdout.write(f"{name}: queued (task {result.id})")
