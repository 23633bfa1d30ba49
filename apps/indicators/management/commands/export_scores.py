"""Write a scoring run's scores as CSV: ``manage.py export_scores RUN_OR_AS_OF FILE``.

RUN_OR_AS_OF is a run id or an as-of date. For a date with no stored run, the practices are scored from what had
been published by that date and stored as a historical run (never the current one). Columns: ODS code, score, rank,
coverage, flag count, each indicator's contribution, and for walk-forward runs the model's probability, rank and
each input's contribution.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.exports import write_csv
from apps.indicators.history_runs import RunNotFound, export_rows, resolve_run


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("run", help="run id or as-of date (YYYY-MM-DD)")
        parser.add_argument("file", type=Path, help="CSV file to write")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            run = resolve_run(opts["run"])
        except RunNotFound as exc:
            raise CommandError(str(exc)) from None
        header, rows = export_rows(run)
        path: Path = opts["file"]
        if not path.parent.is_dir():
            raise CommandError(f"cannot write {path}: folder {path.parent} does not exist")
        tmp = path.with_name(path.name + ".part")
        with tmp.open("wb") as fh:
            write_csv(rows, header, fh)  # the project's one CSV writer (neutralises formula-like text)
        tmp.replace(path)  # a reader never sees half a file
        current = " (the current run)" if run.is_current else ""
        self.stdout.write(f"wrote {len(rows):,} practices of run {run.pk} as of {run.as_of}{current} to {path}")
