"""Create the demo cohort: an open cohort of practice-manager development in the demo ICB (icb-a's), run on a
universal line of the Time for Care development offers, delivered by a practice-manager development faculty led by
the demo provider, with expressions of interest from four of the ICB's practices (allocated by priority to higher
pressure once interest closes). Practice X's login can express interest itself.

Idempotent: skipped when the demo cohort exists. Run after create_demo_users and create_demo_funding. Demo and test
databases only: refuses unless DEBUG is on or --i-know-this-is-not-production is given.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from apps.accounts.models import User
from apps.cohorts.demo import demo_cohort


class _DryRun(Exception):
    pass


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Do everything, then roll it back")
        parser.add_argument("--i-know-this-is-not-production", action="store_true", dest="force")

    def handle(self, *args: Any, **opts: Any) -> None:
        if not settings.DEBUG and not opts["force"]:
            raise CommandError("demo cohorts are for demo and test databases only (DEBUG is off)")
        national = User.objects.filter(username="national").first()
        icb_user = User.objects.filter(username="icb-a").first()
        if national is None or icb_user is None:
            raise CommandError("run create_demo_users first: the national and icb-a demo accounts are needed")
        try:
            with transaction.atomic():
                cohort = demo_cohort(icb_user, national, User.objects.filter(username="provider").first())
                if opts["dry_run"]:
                    raise _DryRun
        except _DryRun:
            self.stdout.write("dry run: rolled back")
            return
        if cohort is None:
            self.stdout.write("demo cohorts: the demo cohort exists already")
        else:
            self.stdout.write(f"demo cohorts: {cohort.title}, {cohort.interests.count()} expressions of interest")
