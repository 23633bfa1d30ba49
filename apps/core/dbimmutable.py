"""Tables the database itself keeps immutable: triggers that refuse UPDATE and DELETE (and, on PostgreSQL, TRUNCATE)
on every row, whoever sends the SQL — the ORM, a raw query, a console session or another program.

A feature app protects a table from a migration (``RunPython(protect(table), unprotect(table))``); the triggers are
named ``immutable_<table>_…`` so that they can be found again. One thing legitimately empties a protected table: a
flush (the test runner's between transactional tests, or ``manage.py flush`` on a development database). The
project's database backends (``apps.core.backends``) lift the triggers inside the flush's own transaction and put
them back; "immutable" therefore means "until someone changes the schema", which needs the schema owner's rights.

SQLite caveat: Django alters a SQLite table by re-creating it, which drops its triggers. A later migration that
alters a protected table must call ``protect`` again; ``apps/funding/tests/test_ledger_immutable.py`` fails if the
triggers are missing after all migrations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

PREFIX = "immutable_"

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION refuse_immutable_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are immutable: % refused (corrections are new entries)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$
"""


def create_sql(vendor: str, table: str) -> list[str]:
    """The statements that make ``table`` immutable on this database."""
    if vendor == "postgresql":
        return [
            PG_FUNCTION,
            f'CREATE TRIGGER {PREFIX}{table}_rows BEFORE UPDATE OR DELETE ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION refuse_immutable_change()",
            f'CREATE TRIGGER {PREFIX}{table}_truncate BEFORE TRUNCATE ON "{table}" '
            "FOR EACH STATEMENT EXECUTE FUNCTION refuse_immutable_change()",
        ]
    if vendor == "sqlite":
        return [
            f'CREATE TRIGGER {PREFIX}{table}_{op.lower()} BEFORE {op} ON "{table}" '
            f"BEGIN SELECT RAISE(ABORT, '{table} rows are immutable: {op} refused (corrections are new entries)'); END"
            for op in ("UPDATE", "DELETE")
        ]
    raise NotImplementedError(f"immutable tables need triggers written for {vendor}")


def drop_sql(vendor: str, table: str) -> list[str]:
    if vendor == "postgresql":
        return [f'DROP TRIGGER IF EXISTS {PREFIX}{table}_{s} ON "{table}"' for s in ("rows", "truncate")]
    return [f"DROP TRIGGER IF EXISTS {PREFIX}{table}_{op}" for op in ("update", "delete")]


def protect(table: str) -> Callable[[Any, Any], None]:
    """A ``RunPython`` forward function that makes ``table`` immutable."""

    def run(apps: Any, schema_editor: Any) -> None:
        for sql in create_sql(schema_editor.connection.vendor, table):
            schema_editor.execute(sql, params=None)

    return run


def unprotect(table: str) -> Callable[[Any, Any], None]:
    """The ``RunPython`` reverse of :func:`protect`."""

    def run(apps: Any, schema_editor: Any) -> None:
        for sql in drop_sql(schema_editor.connection.vendor, table):
            schema_editor.execute(sql, params=None)

    return run


def protected_tables(connection: BaseDatabaseWrapper) -> set[str]:
    """The tables that carry this module's triggers in the connected database."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE t.tgname LIKE %s AND NOT t.tgisinternal",
                [PREFIX + "%"],
            )
        else:
            cursor.execute(
                "SELECT DISTINCT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s", [PREFIX + "%"]
            )
        return {row[0] for row in cursor.fetchall()}


def around_flush(connection: BaseDatabaseWrapper, sql: list[str]) -> list[str]:
    """The flush statements with the triggers of the protected tables they empty dropped first and re-created last.

    The backend runs the list in one transaction (both databases roll DDL back), so no other connection ever sees
    the tables unprotected, and a failed flush leaves the triggers in place.
    """
    if not sql:
        return sql
    emptied = sorted(t for t in protected_tables(connection) if any(f'"{t}"' in s for s in sql))
    drops = [d for t in emptied for d in drop_sql(connection.vendor, t)]
    creates = [c for t in emptied for c in create_sql(connection.vendor, t)]
    return [*drops, *sql, *creates]
