"""The background worker with a lease, that outlives the database: ``manage.py run_worker``.

It is django-tasks-db's worker (``db_worker``: claim a queued run, execute it, record the outcome) with two
additions this service needs to recover from crashes:

* **A lease.** A thread renews the worker's ``WorkerBeat`` row every quarter of ``TASK_LEASE_SECONDS``, naming the
  run it is executing, and ends the runs that other (dead) workers abandoned
  (:func:`apps.core.background.recover_abandoned_runs`) and the emails they left half-sent
  (:func:`apps.core.outbox.settle_abandoned`). A killed worker stops renewing, so within one lease its run is ended as
  failed ("worker lost") and queued again by whichever worker or schedule looks next.
* **Database outages.** Any database error outside a task (the SQLite file moved away, PostgreSQL restarting) is
  logged and the worker waits, with a back-off up to ``MAX_OUTAGE_WAIT`` seconds, and carries on when the database
  answers again, instead of exiting. A run that was executing when the database went away may be left *running*;
  its lease then lapses and it is recovered like any abandoned run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from typing import Any

from django.db import DatabaseError, close_old_connections, connections
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from apps.core import background, outbox
from apps.core.models import WorkerBeat

log = logging.getLogger("django_tasks_db")
MAX_OUTAGE_WAIT = 30.0


def _close_all() -> None:
    """Drop every connection of this thread, so the next query reconnects (a broken one is never reused)."""
    for conn in connections.all(initialized_only=True):
        with contextlib.suppress(DatabaseError):
            conn.close()


class LeasedWorker(Worker):
    """``db_worker``'s loop, under a renewed lease and surviving database outages (see the module docstring)."""

    def __init__(self, *, lease_seconds: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lease_seconds = lease_seconds
        self.current_run = ""
        self._stop = threading.Event()

    # -- the lease ---------------------------------------------------------------------------------------------
    def renew(self) -> None:
        """Write this worker's lease now (creating its row on the first call), then end abandoned work."""
        WorkerBeat.objects.update_or_create(
            worker_id=self.worker_id,
            defaults={
                "host": socket.gethostname()[:255],
                "pid": os.getpid(),
                "queues": ",".join(self.queue_names)[:200],
                "last_seen": timezone.now(),
                "task_run_id": self.current_run,
            },
        )
        for line in background.recover_abandoned_runs():
            log.warning("Recovered an abandoned task: %s", line)
        for line in outbox.settle_abandoned():
            log.warning("Email with unknown outcome: %s", line)

    def _renew_forever(self) -> None:
        while not self._stop.wait(self.lease_seconds / 4):
            try:
                self.renew()
            except DatabaseError as exc:
                log.warning("Could not renew the worker lease (database unreachable?): %s", exc)
                _close_all()
            finally:
                close_old_connections()
        _close_all()

    def run_task(self, db_task_result: DBTaskResult) -> None:
        # The lease names the run before it starts, so no other worker takes it for abandoned meanwhile.
        self.current_run = str(db_task_result.id)
        try:
            WorkerBeat.objects.filter(worker_id=self.worker_id).update(
                last_seen=timezone.now(), task_run_id=self.current_run
            )
            super().run_task(db_task_result)
        finally:
            self.current_run = ""

    # -- the loop ----------------------------------------------------------------------------------------------
    def run(self) -> None:
        renewer = threading.Thread(target=self._renew_forever, name="worker-lease", daemon=True)
        renewer.start()
        wait = 1.0
        try:
            while self.running:
                try:
                    self.renew()
                    super().run()
                    return  # --batch or --max-tasks: the parent loop ended by itself
                except DatabaseError as exc:
                    log.warning("Database unreachable (%s); the worker waits %.0f s and tries again", exc, wait)
                    _close_all()
                    time.sleep(wait)
                    wait = min(wait * 2, MAX_OUTAGE_WAIT)
        finally:
            self._stop.set()
            with contextlib.suppress(DatabaseError):
                WorkerBeat.objects.filter(worker_id=self.worker_id).delete()  # a clean exit gives its lease back
