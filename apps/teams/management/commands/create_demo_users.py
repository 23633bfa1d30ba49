"""Create (or reset) one demo account per role, scoped to real practices and ICBs from the loaded register.

Idempotent: re-running updates the same accounts. Prints the logins. Never run this on a production database:
it refuses unless DEBUG is on or --i-know-this-is-not-production is given.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from apps.accounts.demo import DEMO_PASSWORD
from apps.accounts.models import Role, TeamRole, User
from apps.practices.models import ICB, Practice, PracticeStatus

# Two ICBs and two practices in each, so the personas can prove ICB A cannot see ICB B.
ICB_A, ICB_B = "QHM", "QWE"  # North East and North Cumbria; South West London


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--i-know-this-is-not-production", action="store_true", dest="force")

    def handle(self, *args: Any, **opts: Any) -> None:
        if not settings.DEBUG and not opts["force"]:
            raise CommandError("demo accounts are for demo and test databases only (DEBUG is off)")
        icb_a = ICB.objects.filter(code=ICB_A).first() or ICB.objects.order_by("code").first()
        icb_b = ICB.objects.exclude(pk=getattr(icb_a, "pk", None)).filter(code=ICB_B).first() or (
            ICB.objects.exclude(pk=getattr(icb_a, "pk", None)).order_by("code").first()
        )
        if icb_a is None or icb_b is None:
            raise CommandError("load the national data first (manage.py import_national): no ICBs yet")
        practice_x = Practice.objects.filter(icb=icb_a, status=PracticeStatus.ACTIVE).order_by("code").first()
        practice_y = Practice.objects.filter(icb=icb_b, status=PracticeStatus.ACTIVE).order_by("code").first()
        if practice_x is None or practice_y is None:
            raise CommandError("no open practices in the demo ICBs; load the national data first")
        personas = [
            ("national", "Nadia", "Okafor", Role.NATIONAL, None, None, "NHS England primary care"),
            ("icb-a", "Imran", "Shah", Role.ICB, icb_a, None, ""),
            ("icb-b", "Beth", "Morgan", Role.ICB, icb_b, None, ""),
            ("practice-x", "Priya", "Patel", Role.PRACTICE, None, practice_x, ""),
            ("practice-y", "Yusuf", "Ali", Role.PRACTICE, None, practice_y, ""),
            ("provider", "Chris", "Evans", Role.PROVIDER, None, None, "Improvement faculty (demo)"),
            ("lmc", "Lena", "Novak", Role.LMC, icb_a, None, f"{icb_a.short_name} LMC"),
        ]
        rows = []
        with transaction.atomic():
            for username, first, last, role, icb, practice, org in personas:
                user = User.objects.filter(username=username).first() or User(username=username)
                user.first_name, user.last_name = first, last
                user.email = f"{username}@example.org"
                user.role, user.icb, user.practice, user.organisation = role, icb, practice, org
                user.is_staff = user.is_superuser = False
                user.team_role = TeamRole.LEAD  # each demo team's first account runs its membership
                user.set_password(DEMO_PASSWORD)
                user.save()
                rows.append((username, user.role_label, user.scope_label))
        self.stdout.write(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
        for username, role, scope in rows:
            self.stdout.write(f"  {username:<11} {role} — {scope}")
