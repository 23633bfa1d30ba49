"""PostgreSQL, whose flush lifts the immutable tables' triggers (see ``apps.core.backends``)."""

from typing import Any

from django.db.backends.postgresql import base

from apps.core import dbimmutable


class DatabaseOperations(base.DatabaseOperations):
    def sql_flush(self, style: Any, tables: Any, *, reset_sequences: bool = False, allow_cascade: bool = False) -> Any:
        sql = super().sql_flush(style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        return dbimmutable.around_flush(self.connection, sql)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
