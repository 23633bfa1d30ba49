"""Import a national file: parse (Django-free), check it against what is loaded, load in one transaction, log the
outcome. Never half-loads: a refusal or failure leaves the database exactly as it was and says why in the log."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from analytics.history import workforce_period
from analytics.ingest.base import DatasetFormatError, Parsed
from analytics.ingest.parsers import PARSERS
from apps.core.audit import record_decision
from apps.datasets.integrity import ImportRefused, Verdict, check_against_loaded
from apps.datasets.loaders import LOADERS, LoadResult, refresh_register
from apps.datasets.models import ImportLog
from apps.datasets.registry import Source
from apps.datasets.together import JOINT_LOADERS

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


def already_loaded(source_id: str, sha256: str, file_name: str | None = None) -> bool:
    """True when the last real load of this dataset (of this file name, when given: a source with history files
    loads several) succeeded on a file with this exact content."""
    logs = ImportLog.objects.filter(dataset=source_id)
    if file_name is not None:
        logs = logs.filter(file_name=file_name)
    last = (
        logs.exclude(status__in=[ImportLog.Status.DRY_RUN, ImportLog.Status.FAILED])
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


@dataclass
class _Prepared:
    """A file parsed and checked, its running log saved: everything of an import but the load."""

    source: Source
    log: ImportLog
    parsed: Parsed
    verdict: Verdict
    skipped: dict[str, int]
    examples: list[str]
    triggered_by: str


def import_dataset(
    source: Source,
    path: Path | None = None,
    *,
    dry_run: bool = False,
    force: bool = False,
    triggered_by: str = "",
    refresh: bool = True,
    allow_row_drop: bool = False,
    newer_periods: frozenset[str] = frozenset(),
) -> ImportLog:
    """Parse and load one dataset. Returns the ImportLog row written (also for failures).

    An unchanged file that was loaded before is not parsed again unless ``force``. A file that cannot be parsed,
    or a loader error, leaves the database exactly as it was and is logged as failed with the reason. So does a
    file refused by :func:`~apps.datasets.integrity.check_against_loaded` (older than what is loaded, or far fewer
    rows than the last import unless ``allow_row_drop``, which is then audited).
    """
    prepared = _prepare(
        source,
        Path(path or source.file),
        dry_run=dry_run,
        force=force,
        triggered_by=triggered_by,
        allow_row_drop=allow_row_drop,
        newer_periods=newer_periods,
    )
    if isinstance(prepared, ImportLog):
        return prepared
    return _load([prepared], lambda: [LOADERS[source.id](prepared.parsed)], refresh=refresh, dry_run=dry_run)[0]


def _prepare(
    source: Source,
    path: Path,
    *,
    dry_run: bool,
    force: bool,
    triggered_by: str,
    allow_row_drop: bool,
    newer_periods: frozenset[str],
) -> _Prepared | ImportLog:
    """Hash, parse and check one file, saving its running log; the final log instead when there is nothing to load
    (unchanged, unreadable, refused)."""
    mark_interrupted_imports()
    started = timezone.now()
    log = ImportLog(dataset=source.id, file_name=path.name, started_at=started, triggered_by=triggered_by)
    try:
        log.sha256 = file_sha256(path)
    except OSError as exc:
        return _fail(log, f"cannot read {path}: {exc.strerror or exc}")
    if not force and not dry_run and already_loaded(source.id, log.sha256, path.name):
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
    log.published, log.published_basis = _registry_publication(source, path)
    try:
        verdict = check_against_loaded(
            source, parsed, sha256=log.sha256, history_file=_history_name(source, path), allow_row_drop=allow_row_drop
        )
    except ImportRefused as exc:
        return _fail(log, str(exc))
    skipped = parsed.skip_reasons()
    owned = _drop_newer_periods(parsed, newer_periods)
    if owned:
        skipped[OWNED_BY_NEWER] = owned
    examples = [str(s) for s in parsed.skipped[:MAX_EXAMPLES]]
    examples += [str(s) for s in parsed.cleared[: max(0, MAX_EXAMPLES - len(examples))]]
    return _Prepared(source, log, parsed, verdict, skipped, examples, triggered_by)


def _load(
    prepared: list[_Prepared], load: Callable[[], list[LoadResult]], *, refresh: bool, dry_run: bool
) -> list[ImportLog]:
    """Run ``load`` (one result per prepared file) in one transaction and finish each file's log. A failure rolls the
    transaction back, so none of the files is half-loaded, and each log says so. A successful load's logs are saved
    inside its transaction: a log says *success* exactly when the rows it counts were committed (an import killed
    just after its commit is not later marked interrupted), and the load costs one commit, not two."""
    try:
        with transaction.atomic():
            results = load()
            if refresh:
                refresh_register()
            if dry_run:
                raise DryRunRollback
            return [_finish(p, result, ImportLog.Status.SUCCESS) for p, result in zip(prepared, results, strict=True)]
    except DryRunRollback:
        return [_finish(p, result, ImportLog.Status.DRY_RUN) for p, result in zip(prepared, results, strict=True)]
    except Exception as exc:  # any loader failure: the transaction is rolled back, nothing half-loads
        for p in prepared:  # counts a rolled-back finish may have set are not true any more
            p.log.created = p.log.updated = p.log.unchanged = p.log.skipped = 0
            p.log.skip_reasons, p.log.skip_examples = {}, []
        return [_fail(p.log, f"load failed and was rolled back: {type(exc).__name__}: {exc}") for p in prepared]


def _finish(p: _Prepared, result: LoadResult, status: str) -> ImportLog:
    log, parsed, skipped = p.log, p.parsed, dict(p.skipped)  # a copy: a rolled-back finish may be done again
    log.status = status
    for reason, n in result.skipped.items():
        skipped[reason] = skipped.get(reason, 0) + n
    log.created, log.updated, log.unchanged = result.counts.created, result.counts.updated, result.counts.unchanged
    log.skipped = sum(skipped.values())
    log.skip_reasons = skipped
    log.skip_examples = p.examples
    cleared = f"{len(parsed.cleared):,} bad value(s) in columns the service does not use blanked, rows kept"
    log.message = "; ".join([*p.verdict.notes, *result.notes, *([cleared] if parsed.cleared else [])])
    log.finished_at = timezone.now()
    log.save()
    if p.verdict.row_drop_accepted and log.status == ImportLog.Status.SUCCESS:
        note = f"{log.dataset} {log.file_name} ({p.triggered_by or 'no trigger named'}): {p.verdict.row_drop_accepted}"
        record_decision(ImportLog, log.pk, "allow_row_drop", note)
    return log


def _registry_publication(source: Source, path: Path) -> tuple[date | None, str]:
    """The publication date the registry gives the file at ``path`` (one of the source's registry files), recorded on
    its import log: the as-of gate reads it from there (``analytics.publications.dated``). None for any other file
    (``--path``, a fetched copy: ``fetch_national`` records the publisher's date itself)."""
    here = path.resolve()
    for f in source.files:
        if (Path(settings.NATIONAL_DATA_DIR) / f.path).resolve() == here:
            return f.published, f"registry: {f.basis}"[:400]
    return None, ""


def _history_name(source: Source, path: Path) -> str:
    """The file's name when it is one of the source's registry history files (not a copy given with ``--path``)."""
    here = path.resolve()
    return path.name if any(here == p.resolve() for p in source.history_files) else ""


OWNED_BY_NEWER = "period loaded from the source's newer file"


def _drop_newer_periods(parsed: Parsed, periods: frozenset[str]) -> int:
    """Leave out the years a newer file of the same source also covers (the newer derivation owns them, so a re-run
    of the older file never overwrites it). Only multi-year files (``fy_end_year`` rows) can overlap. Returns the
    number of rows left out."""
    dropped = 0
    if not periods:
        return 0
    for name, frame in parsed.frames.items():
        if "fy_end_year" not in frame.columns:
            continue
        keep = frame.filter(~workforce_period().is_in(list(periods)))
        dropped += frame.height - keep.height
        parsed.frames[name] = keep
    return dropped


def _fail(log: ImportLog, message: str) -> ImportLog:
    log.status = ImportLog.Status.FAILED
    log.message = message
    log.finished_at = timezone.now()
    log.save()
    return log


def import_source(
    source: Source,
    *,
    dry_run: bool = False,
    force: bool = False,
    triggered_by: str = "",
    refresh: bool = True,
    allow_row_drop: bool = False,
) -> list[ImportLog]:
    """Import every file of a source: its history files oldest first, then the newest (which owns the periods it
    shares with older files). One ImportLog per file; a failed file leaves the database as it was for that file."""
    paths = [*source.history_files, source.file]
    newest = source.files[-1]
    owned = frozenset(newest.published_by_period or {newest.period: None})
    logs = []
    for i, p in enumerate(paths):
        newer = owned if i < len(paths) - 1 else frozenset()
        logs.append(
            import_dataset(
                source,
                p,
                dry_run=dry_run,
                force=force,
                triggered_by=triggered_by,
                refresh=refresh,
                allow_row_drop=allow_row_drop,
                newer_periods=newer,
            )
        )
    return logs


def import_sources(
    chosen: Sequence[Source],
    *,
    dry_run: bool = False,
    force: bool = False,
    triggered_by: str = "",
    refresh: bool = True,
    allow_row_drop: bool = False,
    with_history: bool = True,
    progress: Callable[[Source], None] | None = None,
) -> list[ImportLog]:
    """Import every file of each source in ``chosen`` (as :func:`import_source`; only the newest files without
    ``with_history``), one ImportLog per file; ``progress`` is called after each source.

    Sources that fill the same rows (:data:`~apps.datasets.together.JOINT_LOADERS`) are parsed and checked one by
    one as usual, then loaded together in one transaction when every one of them is in ``chosen`` with one file and
    none was refused, unchanged or unreadable; a failure of that load rolls it back and each file is then loaded
    alone, so one bad file never holds back a good one. Any other case loads each file alone.
    """
    by_id = {s.id: s for s in chosen}
    joint: dict[str, tuple[str, ...]] = {}
    for ids_together in JOINT_LOADERS:
        if set(ids_together) <= set(by_id) and not any(by_id[sid].history_files for sid in ids_together):
            joint.update(dict.fromkeys(ids_together, ids_together))
    ready: dict[str, _Prepared] = {}
    seen: set[str] = set()
    logs: list[ImportLog] = []
    for src in chosen:
        group = joint.get(src.id)
        if group is None:
            alone = {
                "dry_run": dry_run,
                "force": force,
                "triggered_by": triggered_by,
                "refresh": refresh,
                "allow_row_drop": allow_row_drop,
            }
            logs.extend(import_source(src, **alone) if with_history else [import_dataset(src, **alone)])
        else:
            prepared = _prepare(
                src,
                src.file,
                dry_run=dry_run,
                force=force,
                triggered_by=triggered_by,
                allow_row_drop=allow_row_drop,
                newer_periods=frozenset(),
            )
            if isinstance(prepared, ImportLog):
                logs.append(prepared)
            else:
                ready[src.id] = prepared
            seen.add(src.id)
            if seen >= set(group):
                logs.extend(_load_together(group, [ready.pop(sid) for sid in group if sid in ready], refresh, dry_run))
        if progress is not None:
            progress(src)
    return logs


def _load_together(group: tuple[str, ...], prepared: list[_Prepared], refresh: bool, dry_run: bool) -> list[ImportLog]:
    """Load the prepared files of ``group`` together when all of them are ready, else (or when that fails) alone."""
    if len(prepared) == len(group) > 1:
        logs = _load(
            prepared, lambda: JOINT_LOADERS[group](*(p.parsed for p in prepared)), refresh=refresh, dry_run=dry_run
        )
        if all(log.status != ImportLog.Status.FAILED for log in logs):
            return logs
        note = f"loaded alone after the load together with {', '.join(group)} failed ({logs[0].message})"
        for p in prepared:  # the failed joint load is not this file's outcome: its log is finished again below
            p.log.status, p.log.message = ImportLog.Status.RUNNING, ""
            p.verdict.notes.append(note)
    return [_load([p], partial(_load_alone, p), refresh=refresh, dry_run=dry_run)[0] for p in prepared]


def _load_alone(p: _Prepared) -> list[LoadResult]:
    return [LOADERS[p.source.id](p.parsed)]
