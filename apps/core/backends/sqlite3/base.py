"""SQLite as Django ships it, with three changes.

* A flush lifts the immutable tables' triggers (see ``apps.core.backends``) and puts them back.
* A database whose settings say ``MUST_EXIST`` is opened read-write only.
* Truncating a time to its local year, month or day (``TruncMonth`` and friends) is SQLite's own ``strftime`` with
  the ``localtime`` modifier, not Django's Python function called once per row (see ``local_trunc_format``).

Plain SQLite creates an empty file when the one named is missing, so a moved or deleted production database would
come back as an empty one: pages fail in odd ways and ``/health/`` used to answer "ok". With ``MUST_EXIST`` (set in
production by ``gpsupport.env.database_from_url``) the file is opened with ``mode=rw`` and a missing file is an
error ("unable to open database file"). Only ``manage.py migrate`` may create it (``apps.core``'s ``migrate``
command clears the flag for its own process).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db.backends.sqlite3 import base, features

from apps.core import dbimmutable


class DatabaseFeatures(features.DatabaseFeatures):
    if base.Database.sqlite_version_info >= (3, 38):
        # JSON is built into SQLite from 3.38; answering without a query lets `manage.py check` (which asks) run
        # before the production database file exists, instead of failing to open it.
        supports_json_field = True


# Django's truncation of a stored time to its local year, month or day, as SQLite's own format strings: the same text
# ``django_datetime_trunc`` returns, which Django then reads as a time in the current zone.
_LOCAL_TRUNC = {"year": "%Y-01-01 00:00:00", "month": "%Y-%m-01 00:00:00", "day": "%Y-%m-%d 00:00:00"}


def local_trunc_format(lookup_type: str, tzname: str | None, connection_tz: str) -> str | None:
    """The ``strftime`` format that truncates a stored (UTC) time to its year, month or day in the zone ``tzname``
    with SQLite's own functions; None when SQLite cannot say it and Django's Python function must.

    SQLite's ``localtime`` modifier turns UTC into the *process's* local time (the C library's, from ``TZ``), with
    its summer-time rules: 23:30 UTC on 31 May is 00:30 on 1 June in London. Django sets ``TZ`` to ``TIME_ZONE`` and
    calls ``tzset`` when it loads its settings (and again when a test overrides ``TIME_ZONE``), so the process's
    local time is the project's zone. The native form is used only when the zone asked for is that one (not one
    activated for a request) and times are stored in UTC; otherwise Django's function converts each row in Python.
    That function was the one cost of the national ledger that grew with its entries on SQLite (141 ms at 10x)."""
    fmt = _LOCAL_TRUNC.get(lookup_type.lower())
    if fmt is None or not settings.USE_TZ or not tzname or tzname != os.environ.get("TZ") or connection_tz != "UTC":
        return None
    return fmt


class DatabaseOperations(base.DatabaseOperations):
    def datetime_trunc_sql(self, lookup_type: str, sql: str, params: Any, tzname: str | None) -> Any:
        fmt = local_trunc_format(lookup_type, tzname, self.connection.timezone_name)
        if fmt is None:
            return super().datetime_trunc_sql(lookup_type, sql, params, tzname)
        # Only the whole seconds of the stored text ('YYYY-MM-DD HH:MM:SS.ffffff'): SQLite keeps times in whole
        # milliseconds and rounds, which would put 23:59:59.9996 on the last day of a month into the next one.
        return f"strftime(%s, substr({sql}, 1, 19), 'localtime')", (fmt, *params)

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
