"""Back-test the pressure index out of time: ``manage.py backtest --walk-forward``.

For 1 April 2020, 2021, 2022 and 2023, scores every open, non-dormant practice from what had been published by then
(the imported history), fits the closure model on earlier years only, and evaluates the model, the index, list size
alone, GP FTE alone and the old rule count over the next 24 months, for true closures, mergers and any
disappearance (AUC with bootstrap 95% CI, top-decile precision and lift, calibration). Prints the table and stores
one historical scoring run per as-of date; none becomes the current run.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.walkforward import AS_OF_DATES
from apps.indicators.history_runs import run_domino_check, run_walk_forward


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--walk-forward", action="store_true", help="run the walk-forward back-test")
        parser.add_argument(
            "--as-of",
            type=date.fromisoformat,
            action="append",
            help="an as-of date (repeatable; default 2020-04-01, 2021-04-01, 2022-04-01, 2023-04-01)",
        )
        parser.add_argument("--boot", type=int, default=1000, help="bootstrap resamples for the CIs (default 1000)")
        parser.add_argument("--dry-run", action="store_true", help="print the table, store nothing")
        parser.add_argument(
            "--domino",
            action="store_true",
            help="also check the dispersal simulator against where true closures' patients went",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if not opts["walk_forward"] and not opts["domino"]:
            raise CommandError(
                "say --walk-forward and/or --domino (the single-date back-test is stored by score_practices --backtest)"
            )
        if opts["domino"]:
            self.stdout.write(run_domino_check())
            if not opts["walk_forward"]:
                return
        if opts["boot"] < 0:
            raise CommandError("--boot must be 0 or more")
        dates = tuple(sorted(set(opts["as_of"]))) if opts["as_of"] else AS_OF_DATES
        t = time.perf_counter()
        result, runs = run_walk_forward(dates, n_boot=opts["boot"], store=not opts["dry_run"])
        self.stdout.write(result.as_text())
        took = time.perf_counter() - t
        if runs:
            ids = ", ".join(f"{r.as_of}: run {r.pk}" for r in runs)
            self.stdout.write(f"stored {len(runs)} historical runs ({ids}), none made current, in {took:.1f} s")
        else:
            self.stdout.write(f"dry run: nothing stored ({took:.1f} s)")
