"""Import a national file: parse (Django-free), load in one transaction, log the outcome. Never half-loads."""

from __future__ import annotations

import hashlib
import os
import socket
from datetime import timedelta
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from analytics.ingest import PARSERS
from analytics.ingest.base import DatasetFormatError
from apps.datasets.loaders import LOADERS, refresh_register
from apps.datasets.models import ImportLog
from apps.datasets.registry import Source

MAX_EXAMPLES = 20
# A load running longer than this is taken for dead even if its process cannot be checked (another machine).
STALE_IMPORT = timedelta(hours=6)
RUNNING_ON = "running in "  # the message of a running row names its process: "running in host:pid"


class DryRunRollback(Exception):
    """Raised inside the transaction to undo a dry run."""


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def already_loaded(source_id: str, sha256: str) -> bool:
    """True when the last real load of this dataset succeeded on a file with this exact content."""
    last = (
        ImportLog.objects.filter(dataset=source_id)
        .exclude(status__in=[ImportLog.Status.DRY_RUN, ImportLog.Status.FAILED])
        .exclude(status__in=[ImportLog.Status.RUNNING, ImportLog.Status.INTERRUPTED])
        .first()
    )
    return last is not None and last.sha256 == sha256


def _process_gone(log: ImportLog) -> bool:
    """True when the process named by a running row is known dead (same machine), or the row is too old to be live."""
    host, _, pid = log.message.removeprefix(RUNNING_ON).rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)  # signal 0 only asks whether the process exists
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # it exists, under another user
        return False
    return timezone.now() - log.started_at > STALE_IMPORT


def mark_interrupted_imports() -> int:
    """Mark *interrupted* every *running* import row whose process is gone (or that has run for longer than
    ``STALE_IMPORT``): its load was cut short before committing, so nothing of it was kept. Returns how many."""
    marked = 0
    for log in ImportLog.objects.filter(status=ImportLog.Status.RUNNING):
        if _process_gone(log):
            marked += ImportLog.objects.filter(pk=log.pk, status=ImportLog.Status.RUNNING).update(
                status=ImportLog.Status.INTERRUPTED,
                finished_at=timezone.now(),
                message=f"interrupted: the import ({log.message.removeprefix(RUNNING_ON)}) stopped before finishing; "
                "nothing of it was saved",
            )
    return marked


def import_dataset(
    source: Source,
    path: Path | None = None,
    *,
    dry_run: bool = False,
    force: bool = False,
    triggered_by: str = "",
    refresh: bool = True,
) -> ImportLog:
    """Parse and load one dataset. Returns the ImportLog row written (also for failures).

    An unchanged file that was loaded before is not parsed again unless ``force``. A file that cannot be parsed,
    or a loader error, leaves the database exactly as it was and is logged as failed with the reason.
    """
    mark_interrupted_imports()
    path = Path(path or source.file)
    started = timezone.now()
    log = ImportLog(dataset=source.id, file_name=path.name, started_at=started, triggered_by=triggered_by)
    try:
        log.sha256 = file_sha256(path)
    except OSError as exc:
        return _fail(log, f"cannot read {path}: {exc.strerror or exc}")
    if not force and not dry_run and already_loaded(source.id, log.sha256):
        log.status = ImportLog.Status.UNCHANGED
        log.message = "file identical to the last successful load; nothing to do (use --force to re-check)"
        log.finished_at = timezone.now()
        log.save()
        return log
    if not dry_run:  # a row now, outside the load's transaction, so a killed import leaves a trace
        log.status = ImportLog.Status.RUNNING
        log.message = f"{RUNNING_ON}{socket.gethostname()}:{os.getpid()}"
        log.finished_at = started
        log.save()
        log.message = ""
    try:
        parsed = PARSERS[source.id](path)
    except DatasetFormatError as exc:
        return _fail(log, str(exc))
    log.layout, log.period, log.rows_read = parsed.layout, parsed.period, parsed.rows_read
    skipped = parsed.skip_reasons()
    examples = [str(s) for s in parsed.skipped[:MAX_EXAMPLES]]
    try:
        with transaction.atomic():
            result = LOADERS[source.id](parsed)
            if refresh:
                refresh_register()
            if dry_run:
                raise DryRunRollback
    except DryRunRollback:
        log.status = ImportLog.Status.DRY_RUN
    except Exception as exc:  # any loader failure: the transaction is rolled back, nothing half-loads
        return _fail(log, f"load failed and was rolled back: {type(exc).__name__}: {exc}")
    else:
        log.status = ImportLog.Status.SUCCESS
    for reason, n in result.skipped.items():
        skipped[reason] = skipped.get(reason, 0) + n
    log.created, log.updated, log.unchanged = result.counts.created, result.counts.updated, result.counts.unchanged
    log.skipped = sum(skipped.values())
    log.skip_reasons = skipped
    log.skip_examples = examples
    log.message = "; ".join(result.notes)
    log.finished_at = timezone.now()
    log.save()
    return log


def _fail(log: ImportLog, message: str) -> ImportLog:
    log.status = ImportLog.Status.FAILED
    log.message = message
    log.finished_at = timezone.now()
    log.save()
    return log
