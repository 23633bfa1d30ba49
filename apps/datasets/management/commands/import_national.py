"""Import the national open-data files listed in apps/datasets/sources.toml into the practice register.

Each file is parsed and checked, then loaded inside one transaction, and an ImportLog row records rows read,
created, updated, unchanged and skipped (with reasons). Unchanged files already loaded are passed over unless
--force. A file that fails, or is refused (older than what is loaded, or more than 5% fewer rows than the last import of
its source without --allow-row-drop), leaves the database as it was; the command then exits non-zero.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from apps.datasets.loaders import refresh_register
from apps.datasets.models import ImportLog
from apps.datasets.registry import get_source, sources
from apps.datasets.services import import_dataset, import_sources


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("datasets", nargs="*", help="dataset ids to load (default: all, in registry order)")
        parser.add_argument("--path", type=Path, help="load this file instead of the registry path (one dataset)")
        parser.add_argument("--dry-run", action="store_true", help="parse and load, report, then roll back")
        parser.add_argument("--force", action="store_true", help="re-check files already loaded")
        parser.add_argument("--quiet", action="store_true", help="print only the summary line")
        parser.add_argument(
            "--allow-row-drop",
            action="store_true",
            help="load a file even when it has more than 5%% fewer rows than the last import of its source "
            "(the publisher really dropped them); each such load is audited",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            chosen = [get_source(d) for d in opts["datasets"]] if opts["datasets"] else list(sources())
        except KeyError as exc:
            raise CommandError(str(exc.args[0])) from None
        if opts["path"] and len(chosen) != 1:
            raise CommandError("--path needs exactly one dataset id")
        console = Console(file=self.stdout, force_terminal=False, width=120)
        logs: list[ImportLog] = []
        with Progress(
            TextColumn("{task.description:<18}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
            disable=opts["quiet"],
            transient=True,
        ) as progress:
            task = progress.add_task("national data", total=len(chosen))
            dry_run, force, by = bool(opts["dry_run"]), bool(opts["force"]), "import_national"
            allow_drop = bool(opts["allow_row_drop"])
            if opts["path"]:
                logs.append(
                    import_dataset(
                        chosen[0],
                        opts["path"],
                        dry_run=dry_run,
                        force=force,
                        triggered_by=by,
                        refresh=False,
                        allow_row_drop=allow_drop,
                    )
                )
            else:
                logs = import_sources(
                    chosen,
                    dry_run=dry_run,
                    force=force,
                    triggered_by=by,
                    refresh=False,
                    allow_row_drop=allow_drop,
                    progress=lambda src: progress.update(task, description=src.id, advance=1),
                )
        if not opts["dry_run"] and any(log.status == ImportLog.Status.SUCCESS for log in logs):
            with transaction.atomic():
                refresh_register()
        if not opts["quiet"]:
            table = Table(
                "dataset",
                "status",
                "layout",
                "period",
                "read",
                "created",
                "updated",
                "unchanged",
                "skipped",
                "ms",
                title="National data import",
            )
            for log in logs:
                table.add_row(
                    log.dataset,
                    log.get_status_display(),
                    log.layout,
                    log.period,
                    f"{log.rows_read:,}",
                    f"{log.created:,}",
                    f"{log.updated:,}",
                    f"{log.unchanged:,}",
                    f"{log.skipped:,}",
                    str(log.duration_ms),
                )
            console.print(table)
            for log in logs:
                if log.skip_reasons:
                    reasons = "; ".join(f"{n:,} {r}" for r, n in sorted(log.skip_reasons.items(), key=lambda x: -x[1]))
                    console.print(f"  {log.dataset} skipped: {reasons}")
                if log.message and log.status != ImportLog.Status.FAILED:
                    console.print(f"  {log.dataset}: {log.message}")
        failed = [log for log in logs if log.status == ImportLog.Status.FAILED]
        for log in failed:
            self.stderr.write(f"{log.dataset}: FAILED — {log.message}")
        total = sum(log.duration_ms for log in logs)
        self.stdout.write(
            f"{len(logs) - len(failed)} of {len(logs)} datasets OK "
            f"({sum(log.created for log in logs):,} created, {sum(log.updated for log in logs):,} updated, "
            f"{sum(log.skipped for log in logs):,} skipped) in {total / 1000:.1f} s"
        )
        if failed:
            raise CommandError(f"{len(failed)} dataset(s) failed; the database is unchanged for them")
