"""Load the menu of support (analytics/menu/offers.toml) into the database; offers removed from the file are retired.

Run after editing the menu file. Approved packages keep the prices they were approved at.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from analytics.menu.offers import MenuError
from apps.cases.services import sync_menu


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            created, updated, retired = sync_menu()
        except MenuError as e:
            raise CommandError("the menu file has problems:\n  " + "\n  ".join(e.problems)) from e
        self.stdout.write(f"Menu of support: {created} created, {updated} updated, {retired} retired")
