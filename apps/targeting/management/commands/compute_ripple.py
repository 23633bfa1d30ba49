"""Compute and store every open practice's ripple score (what its closure would do to its neighbours) for the
current scoring run, so the ripple and dispersal pages are fast. Run after score_practices; re-running replaces the
run's scores. --if-stale does nothing when the current run already has them.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.targeting import services
from apps.targeting.models import RippleScore


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--if-stale", action="store_true", help="skip when the current run has ripple scores")
        parser.add_argument("--dry-run", action="store_true", help="compute and report, store nothing")

    def handle(self, *args: Any, **opts: Any) -> None:
        run = services.current_run()
        if run is None:
            raise CommandError("no current scoring run: run manage.py score_practices first")
        if opts["if_stale"] and RippleScore.objects.filter(run=run).exists():
            self.stdout.write(f"ripple scores for scoring run {run.pk} are up to date: nothing to do")
            return
        t = time.perf_counter()
        if opts["dry_run"]:
            from analytics.targeting.ripple import ripple_scores

            frame = ripple_scores(services.practice_table(run))
            self.stdout.write(f"dry run: {frame.height:,} ripple scores computed, nothing stored")
            return
        n = services.compute_ripple(run)
        self.stdout.write(f"stored {n:,} ripple scores for scoring run {run.pk} in {time.perf_counter() - t:.1f} s")
