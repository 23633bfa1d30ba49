"""Score every practice open on the as-of date with the pressure index, store the run and make it current.

Reads the history the service imported (the database), and of it only what was published on or before --as-of
(default: today; analytics.history.as_published). Dormant practices are not scored. The run is ranked by the
deployed closure model (analytics.deployed: fitted on every finished year, explained by its inputs), with each
indicator's value and percentile kept beside it; --composite ranks it by the old indicator composite instead (the
walk-forward back-test compares the two: docs/walk-forward.md). With --backtest, also runs the
single-date back-test at --backtest-as-of (default 2023-04-01) and stores its report with the run; the out-of-time
figures are ``manage.py backtest --walk-forward``.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.deployed import fit_deployed
from analytics.deployed import trend as deployed_trend
from analytics.history import national_as_of
from analytics.indicators.definition import DefinitionError, load_definitions
from analytics.scoring import score_as_of
from apps.datasets.models import ImportLog
from apps.indicators import history_db
from apps.indicators.history_db import load_history
from apps.indicators.models import ScoringRun
from apps.indicators.scoring_runs import definitions_sha256, store_run, trend_scores


def _stale(definitions: list[Any], as_of: date) -> bool:
    run = ScoringRun.objects.filter(is_current=True).first()
    if run is None or run.as_of != as_of or run.definitions_sha256 != definitions_sha256(definitions):
        return True
    last_load = ImportLog.objects.filter(status=ImportLog.Status.SUCCESS).order_by("-finished_at").first()
    return last_load is not None and last_load.finished_at > run.created_at


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default: today)")
        parser.add_argument("--backtest", action="store_true", help="also run and store the back-test")
        parser.add_argument("--backtest-as-of", type=date.fromisoformat, default=date(2023, 4, 1))
        parser.add_argument("--dry-run", action="store_true", help="score and report, store nothing")
        parser.add_argument(
            "--composite", action="store_true", help="rank by the old indicator composite, not the deployed model"
        )
        parser.add_argument(
            "--if-stale",
            action="store_true",
            help="do nothing when the current run used these definitions, this as-of date, and the latest data",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        as_of = opts["as_of"] or date.today()
        try:
            definitions = load_definitions()
        except DefinitionError as exc:
            raise CommandError(str(exc)) from None
        if opts["if_stale"] and not _stale(definitions, as_of):
            self.stdout.write("the current scoring run is up to date: nothing to do")
            return
        t = time.perf_counter()
        history = load_history()
        data = national_as_of(history, as_of)
        scored = score_as_of(data, as_of, definitions)
        self.stdout.write(
            f"scored {scored.frame.height:,} practices open on {as_of} with {len(definitions)} indicators "
            f"in {time.perf_counter() - t:.1f} s"
        )
        bt, bt_text = None, ""
        if opts["backtest"]:
            from analytics.backtest import backtest

            result = backtest(data, as_of=opts["backtest_as_of"])
            bt, bt_text = result, result.as_text()
            self.stdout.write(bt_text)
        if opts["dry_run"]:
            self.stdout.write("dry run: nothing stored")
            return
        # Trend: the score at each financial-year end (1 April) with workforce data, up to the as-of date.
        years = sorted({int(y) for y in data.workforce["fy_end_year"].unique().to_list()})
        dates = [date(y, 4, 1) for y in years if date(y, 4, 1) <= as_of]
        deployed = None if opts["composite"] else fit_deployed(history, history_db.lineage(), as_of)
        if deployed is not None:
            m = deployed.model
            self.stdout.write(
                f"ranked by the closure model ({m.inputs}: {len(m.features)} inputs) fitted on "
                f"{', '.join(d.isoformat() for d in deployed.training_dates)}"
            )
            trend: Any = deployed_trend(m, history, history_db.lineage(), dates)
        else:
            trend = trend_scores(history, dates, definitions)
        run = store_run(
            scored,
            as_of,
            created_by="score_practices",
            backtest=bt,
            backtest_text=bt_text,
            trend=trend,
            deployed=deployed,
        )
        self.stdout.write(f"stored scoring run {run.pk} ({run.practice_count:,} practices) and made it current")
