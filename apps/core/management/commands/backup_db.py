"""Back up the whole database to one file: SQLite with its online backup API (safe while the service runs), PostgreSQL
with pg_dump's custom format (``pg_dump -Fc``).

    manage.py backup_db /var/backups/gp-resilience/2026-11-23.sqlite3
    manage.py backup_db /var/backups/gp-resilience/2026-11-23.dump --force        # replace an existing file
    manage.py backup_db copy.dump --database-url postgres://user@host/other       # another database

Restore with ``manage.py restore_db``. PostgreSQL tools are found in PG_BIN_DIR, then /usr/lib/postgresql/*/bin
(newest), then the PATH.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from apps.core.backup import BackupError, backup_database
from gpsupport.env import ConfigError, database_from_url


def target_database(url: str | None) -> dict[str, Any]:
    if not url:
        return dict(connections["default"].settings_dict)
    try:
        return database_from_url(url, str(settings.BASE_DIR))
    except ConfigError as exc:
        raise CommandError(str(exc)) from None


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="the backup file to write")
        parser.add_argument("--force", action="store_true", help="replace the file if it exists")
        parser.add_argument("--database-url", help="back up this database instead of the configured one")

    def handle(self, *args: Any, **opts: Any) -> None:
        path: Path = opts["path"]
        if path.exists() and not opts["force"]:
            raise CommandError(f"{path} exists: choose another name, or pass --force to replace it")
        db = target_database(opts["database_url"])
        try:
            written = backup_database(db, path)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        size_mb = written.stat().st_size / 1e6
        self.stdout.write(f"Backed up {db['NAME']} to {written} ({size_mb:.1f} MB)")
