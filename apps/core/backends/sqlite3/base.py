"""SQLite as Django ships it, with two changes.

* A flush lifts the immutable tables' triggers (see ``apps.core.backends``) and puts them back.
* A database whose settings say ``MUST_EXIST`` is opened read-write only.

Plain SQLite creates an empty file when the one named is missing, so a moved or deleted production database would
come back as an empty one: pages fail in odd ways and ``/health/`` used to answer "ok". With ``MUST_EXIST`` (set in
production by ``gpsupport.env.database_from_url``) the file is opened with ``mode=rw`` and a missing file is an
error ("unable to open database file"). Only ``manage.py migrate`` may create it (``apps.core``'s ``migrate``
command clears the flag for its own process).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.db.backends.sqlite3 import base, features

from apps.core import dbimmutable


class DatabaseFeatures(features.DatabaseFeatures):
    if base.Database.sqlite_version_info >= (3, 38):
        # JSON is built into SQLite from 3.38; answering without a query lets `manage.py check` (which asks) run
        # before the production database file exists, instead of failing to open it.
        supports_json_field = True


class DatabaseOperations(base.DatabaseOperations):
    def sql_flush(self, style: Any, tables: Any, *, reset_sequences: bool = False, allow_cascade: bool = False) -> Any:
        sql = super().sql_flush(style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        return dbimmutable.around_flush(self.connection, sql)


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
    ops_class = DatabaseOperations

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        name = str(params["database"])
        if self.settings_dict.get("MUST_EXIST") and not self.is_in_memory_db() and not name.startswith("file:"):
            # Django opens SQLite with uri=True, so a file: URI with mode=rw is honoured.
            params["database"] = f"file:{quote(str(Path(name).resolve()))}?mode=rw"
        return params
