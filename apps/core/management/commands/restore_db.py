"""Replace the whole database with a backup made by ``backup_db``: SQLite through its online backup API, PostgreSQL
with ``pg_restore --clean --single-transaction`` (all or nothing).

    manage.py restore_db /var/backups/gp-resilience/2026-11-23.sqlite3 --force
    manage.py restore_db nightly.dump --force --database-url postgres://user@host/scratch   # inspect a backup

Everything written since the backup is lost, so --force is required. Stop the web server and the worker first (on
SQLite the restore waits for their writes; on PostgreSQL their open connections can block it), then run
``manage.py migrate`` if the backup is older than the code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from apps.core.backup import BackupError, check_backup_file, restore_database
from apps.core.management.commands.backup_db import target_database


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="the backup file to restore")
        parser.add_argument("--force", action="store_true", help="yes, replace the whole database")
        parser.add_argument("--database-url", help="restore into this database instead of the configured one")

    def handle(self, *args: Any, **opts: Any) -> None:
        db = target_database(opts["database_url"])
        try:
            check_backup_file(db, opts["path"])
            if not opts["force"]:
                raise CommandError(
                    f"this replaces the whole database {db['NAME']} with {opts['path']}: pass --force to go ahead"
                )
            connections.close_all()
            restore_database(db, opts["path"])
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Restored {db['NAME']} from {opts['path']}")
