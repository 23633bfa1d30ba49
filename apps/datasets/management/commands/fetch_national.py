"""Fetch the newest file of each national source from its download address, check it and import it.

The address is the source's download_url in apps/datasets/sources.toml (its url stays the publisher's page), or
NATIONAL_DOWNLOAD_BASE/<registry path> when that setting names a mirror. Each file is saved to a temporary folder and
imported through the same path as import_national: parsed, checked (truncated, older than the loaded file, far fewer
rows) and logged in the ImportLog with its publication date (the HTTP Last-Modified header, else the fetch date). An
identical file is logged as unchanged; a refused file changes nothing. When the publisher cannot be reached
(connection refused, name not resolved, timed out after NATIONAL_FETCH_TIMEOUT_SECONDS) the command says so for
that source and keeps the shipped copy already loaded; --offline does that for every source. The command exits
non-zero when a file was refused or a download address is not http(s) or answered with an HTTP error.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from apps.datasets.fetch import FetchResult, Outcome, fetch_source
from apps.datasets.loaders import refresh_register
from apps.datasets.models import ImportLog
from apps.datasets.registry import get_source, sources


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--only", action="append", metavar="SOURCE", help="fetch only this source (repeatable)")
        parser.add_argument("--dry-run", action="store_true", help="fetch, parse and load, report, then roll back")
        parser.add_argument("--offline", action="store_true", help="fetch nothing: keep the shipped copies")
        parser.add_argument("--base", help="fetch every source from BASE/<registry path> (default: the setting)")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            chosen = [get_source(s) for s in opts["only"]] if opts["only"] else list(sources())
        except KeyError as exc:
            raise CommandError(str(exc.args[0])) from None
        results: list[FetchResult] = []
        for src in chosen:
            result = fetch_source(src, base=opts["base"], offline=bool(opts["offline"]), dry_run=bool(opts["dry_run"]))
            results.append(result)
            self.stdout.write(self._line(result))
        logs = [r.log for r in results if r.log is not None]
        if not opts["dry_run"] and any(log.status == ImportLog.Status.SUCCESS for log in logs):
            with transaction.atomic():
                refresh_register()
        count = {
            o: sum(r.outcome == o for r in results) for o in (Outcome.UNREACHABLE, Outcome.HTTP_ERROR, Outcome.BAD_URL)
        }
        status = {s: sum(log.status == s for log in logs) for s in ImportLog.Status}
        self.stdout.write(
            f"{len(results)} source(s): {len(logs)} fetched ({status[ImportLog.Status.SUCCESS]} imported, "
            f"{status[ImportLog.Status.UNCHANGED]} unchanged, {status[ImportLog.Status.DRY_RUN]} dry run, "
            f"{status[ImportLog.Status.FAILED]} refused); {count[Outcome.UNREACHABLE]} unreachable, "
            f"{count[Outcome.HTTP_ERROR]} HTTP error(s), {count[Outcome.BAD_URL]} bad address(es), "
            f"{sum(r.outcome in (Outcome.NO_URL, Outcome.OFFLINE) for r in results)} not fetched; "
            f"{sum(log.created for log in logs):,} created, {sum(log.updated for log in logs):,} updated"
        )
        bad = status[ImportLog.Status.FAILED] + count[Outcome.HTTP_ERROR] + count[Outcome.BAD_URL]
        if bad:
            raise CommandError(
                f"{bad} source(s) refused, not found or with a bad address; the database is unchanged for them"
            )

    @staticmethod
    def _line(r: FetchResult) -> str:
        if r.log is None:
            return f"{r.source}: {r.outcome}: {r.message}" + (f" [{r.url}]" if r.url else "")
        log = r.log
        counts = f"{log.rows_read:,} read, {log.created:,} created, {log.updated:,} updated, {log.skipped:,} skipped"
        published = f"published {log.published} ({log.published_basis})"
        detail = f"; {log.message}" if log.message else ""
        return f"{r.source}: {log.get_status_display()} — {counts}; {published}{detail}"
