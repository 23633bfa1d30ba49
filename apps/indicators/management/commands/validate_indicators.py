"""Check every indicator definition file (analytics/indicators/definitions/*.toml); exit non-zero naming problems."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from analytics.indicators.definition import DEFINITIONS_DIR, validate_definitions


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args: Any, **opts: Any) -> None:
        problems = validate_definitions()
        if problems:
            raise CommandError("indicator definitions have problems:\n  " + "\n  ".join(problems))
        n = len(list(DEFINITIONS_DIR.glob("*.toml")))
        self.stdout.write(f"{n} indicator definitions OK")
