"""The foreign-key check at the end of each test, narrowed on SQLite to the tables the test can have touched.

Django's ``TestCase`` checks every foreign key before it rolls a test back, so that a row pointing nowhere fails the
test instead of vanishing with the rollback. PostgreSQL does this by checking only the rows the transaction wrote
(``SET CONSTRAINTS ALL IMMEDIATE``), which costs nothing. SQLite has no such list: ``PRAGMA foreign_key_check`` reads
every row of every table, and the national register's ten large tables (scores, payments, QOF, workforce...) made
it 40-48 ms a test, about 100 s of every SQLite run. The other tables together take about 1 ms.

So on SQLite the check reads every small table as before, and a large table only when the test changed it or a table
it refers to: a table's signature is its row count and its largest rowid, taken when this process's copy of the
database is made (and again whenever the copy is put back from the template), and a few milliseconds to read. An
insert or a delete changes the signature; the one change it cannot see, an update of a foreign-key column of an
existing row of a large table to a missing key, is caught by the PostgreSQL run, whose check is whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.db import connections
from django.db.backends.sqlite3.base import DatabaseWrapper

LARGE_ROWS = 2_000  # a table with at least this many rows in the copy is read only when it may have changed

Signature = tuple[int, int]


class _Baseline:
    """What the copy held when it was made: each table's signature, the large tables and whom each refers to."""

    name: str = ""
    signatures: dict[str, Signature] = {}
    large: frozenset[str] = frozenset()
    parents: dict[str, frozenset[str]] = {}


def _tables(cursor: Any) -> list[str]:
    rows = cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return [r[0] for r in rows.fetchall()]


def _signatures(cursor: Any, tables: list[str]) -> dict[str, Signature]:
    """Every table's signature in one statement (a statement per table cost more than the reading)."""
    # Two subqueries, not count(*) and max(rowid) in one: together they scan the table, apart each is quick
    sql = " UNION ALL ".join(
        f'SELECT \'{t}\', (SELECT count(*) FROM "{t}"), (SELECT coalesce(max(rowid), 0) FROM "{t}")' for t in tables
    )
    return {name: (int(count), int(top)) for name, count, top in cursor.execute(sql).fetchall()}


def record_baseline() -> None:
    """Take the signatures of this process's SQLite copy as it is now (call it after the copy is made or restored)."""
    connection = connections["default"]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        tables = _tables(cursor)
        signatures = _signatures(cursor, tables)
        parents = {
            t: frozenset(row[2] for row in cursor.execute(f'PRAGMA foreign_key_list("{t}")').fetchall()) for t in tables
        }
    _Baseline.name = str(connection.settings_dict["NAME"])
    _Baseline.signatures = signatures
    _Baseline.large = frozenset(t for t, (count, _) in signatures.items() if count >= LARGE_ROWS)
    _Baseline.parents = parents


def tables_to_check(cursor: Any) -> list[str]:
    """Every small table, and each large one that changed or refers to a table that changed."""
    tables = _tables(cursor)
    changed = {t for t, signature in _signatures(cursor, tables).items() if _Baseline.signatures.get(t) != signature}
    return [
        t for t in tables if t not in _Baseline.large or t in changed or _Baseline.parents.get(t, frozenset()) & changed
    ]


def _narrowed(check: Callable[..., None]) -> Callable[..., None]:
    @wraps(check)
    def check_constraints(self: DatabaseWrapper, table_names: Iterable[str] | None = None) -> None:
        if table_names is None and _Baseline.name and self.settings_dict["NAME"] == _Baseline.name:
            self.ensure_connection()
            table_names = tables_to_check(self.connection.cursor())  # the driver's own cursor: no wrappers to pay
        check(self, table_names)

    check_constraints.narrowed = True  # type: ignore[attr-defined]
    return check_constraints


def install() -> None:
    """Narrow SQLite's whole-database check (the conftest calls this once per process)."""
    if not getattr(DatabaseWrapper.check_constraints, "narrowed", False):
        DatabaseWrapper.check_constraints = _narrowed(DatabaseWrapper.check_constraints)  # type: ignore[method-assign]
