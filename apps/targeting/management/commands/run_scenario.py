"""Run an optimiser scenario from the command line and save it: --scope icb --icb QHM, or --scope national (the
budget is split between the 42 ICBs by registered patients). Money in pounds. Prints the result and the reference
of the saved scenario (open it at /targeting/scenarios/<ref>/). --dry-run runs the optimiser and saves nothing.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from apps.accounts.models import User
from apps.practices.models import ICB
from apps.targeting import scenarios
from apps.targeting.models import Scenario


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--scope", choices=["icb", "national"], required=True)
        parser.add_argument("--icb", help="ICB ODS code (for --scope icb)")
        parser.add_argument("--budget-pounds", type=int, required=True)
        parser.add_argument("--coach-hours", type=float, required=True)
        parser.add_argument("--cap-pounds", type=int, default=25_000)
        parser.add_argument("--floor-percent", type=float, default=None, help="fairness floor, % of each budget")
        parser.add_argument("--user", required=True, help="username recorded as the one who ran it")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        user = User.objects.filter(username=opts["user"]).first()
        if user is None:
            raise CommandError(f"no user {opts['user']!r}")
        icb = None
        if opts["scope"] == "icb":
            icb = ICB.objects.filter(code=(opts["icb"] or "").upper()).first()
            if icb is None:
                raise CommandError("--scope icb needs --icb with a known ICB code")
        if opts["budget_pounds"] < 0 or opts["coach_hours"] < 0 or opts["cap_pounds"] <= 0:
            raise CommandError("budget and hours must be 0 or more, the cap above 0")
        try:
            with transaction.atomic():
                s = scenarios.run_scenario(
                    user,
                    name=opts["name"],
                    scope=Scenario.Scope.ICB if icb else Scenario.Scope.NATIONAL,
                    icb=icb,
                    budget_pence=opts["budget_pounds"] * 100,
                    coach_hours=opts["coach_hours"],
                    practice_cap_pence=opts["cap_pounds"] * 100,
                    floor_share=opts["floor_percent"] / 100 if opts["floor_percent"] else None,
                )
                self.stdout.write(
                    f"{s.status}: benefit {s.objective:.3f} (greedy {s.greedy_objective or 0:.3f}), gap "
                    f"{(s.gap or 0):.3%}, spend £{s.spend_pence / 100:,.0f}, {s.hours_used:,.0f} coach hours, "
                    f"{s.practices_funded:,} practices, {len(s.binding)} binding constraints, {s.solve_seconds:.1f} s"
                )
                if opts["dry_run"]:
                    transaction.set_rollback(True)
                    self.stdout.write("dry run: nothing saved")
                else:
                    self.stdout.write(f"saved scenario {s.ref}")
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
