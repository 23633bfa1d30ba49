"""Run the background worker under a lease, surviving database outages (apps.core.worker; docs/runbook.md §4).

Takes the same options as django-tasks-db's ``db_worker`` (``--queue-name``, ``--interval``, ``--batch``, …) and
``--lease`` (seconds; default ``TASK_LEASE_SECONDS``).
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django_tasks_db.management.commands import db_worker

from apps.core.worker import LeasedWorker


class Command(db_worker.Command):
    help = __doc__

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--lease", type=float, default=None, help="Lease in seconds (default TASK_LEASE_SECONDS)")

    def handle(self, *args: Any, lease: float | None = None, **options: Any) -> None:
        seconds = lease if lease and lease > 0 else float(settings.TASK_LEASE_SECONDS)
        # db_worker builds its Worker by name; run it with ours, which takes the same arguments plus the lease.
        original = db_worker.Worker
        db_worker.Worker = lambda **kw: LeasedWorker(lease_seconds=seconds, **kw)  # type: ignore[misc,assignment]
        try:
            super().handle(*args, **options)
        finally:
            db_worker.Worker = original  # type: ignore[misc]
