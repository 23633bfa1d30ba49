"""Django's ``migrate``, which alone may create a missing SQLite database file (the first install).

In production every other process opens SQLite without creating it (``apps/core/backends/sqlite3/base.py``), so a
moved or deleted database is an error, not a new empty one; migrating is the one deliberate act that makes the file.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import migrate
from django.db import connections


class Command(migrate.Command):
    def execute(self, *args: Any, **options: Any) -> str | None:
        # Before the system checks, which already connect (to ask SQLite whether it supports JSON).
        connection = connections[options.get("database") or "default"]
        if connection.settings_dict.get("MUST_EXIST"):
            connection.close()
            connection.settings_dict["MUST_EXIST"] = False
        return super().execute(*args, **options)
