"""The narrowed foreign-key check at the end of a test (fkcheck.py) still catches a row that points nowhere, in a
small table and in a large one, and reads a large table only when the test may have changed it."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from apps.core.tests import fkcheck

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL checks only the rows written, and whole"),
]


def _cursor():  # type: ignore[no-untyped-def]
    connection.ensure_connection()
    return connection.connection.cursor()


MISSING = -424242  # no row has this key


def _orphan_a_row(table: str, column: str = "") -> None:
    """Copy one row of ``table`` with a foreign key (``column``, or its first) pointing at a key that does not exist
    (inside a savepoint the test rolls back, so that its own end-of-test check passes)."""
    cur = _cursor()
    keys = [fk[3] for fk in cur.execute(f'PRAGMA foreign_key_list("{table}")').fetchall()]
    assert not column or column in keys, keys
    column = column or keys[0]
    columns = [r[1] for r in cur.execute(f'PRAGMA table_info("{table}")').fetchall() if not r[5]]  # not the key
    chosen = ", ".join(f'"{c}"' for c in columns)
    values = ", ".join(str(MISSING) if c == column else f'"{c}"' for c in columns)
    cur.execute(f'INSERT INTO "{table}" ({chosen}) SELECT {values} FROM "{table}" LIMIT 1')


def _check_fails_with_an_orphan_in(table: str, column: str = "") -> None:
    with transaction.atomic():
        _orphan_a_row(table, column)
        with pytest.raises(IntegrityError):
            connection.check_constraints()
        transaction.set_rollback(True)
    connection.check_constraints()  # and passes again once the row is gone


def _large_table_with_a_foreign_key() -> str:
    cur = _cursor()
    for table in sorted(fkcheck._Baseline.large):
        if cur.execute(f'PRAGMA foreign_key_list("{table}")').fetchall():
            return table
    raise AssertionError("the national test database has no large table with a foreign key")


def test_an_untouched_large_table_is_not_read_and_a_changed_one_is() -> None:
    table = _large_table_with_a_foreign_key()
    assert table not in fkcheck.tables_to_check(_cursor())
    with transaction.atomic():
        _orphan_a_row(table)
        assert table in fkcheck.tables_to_check(_cursor())
        transaction.set_rollback(True)
    assert table not in fkcheck.tables_to_check(_cursor())


def test_a_row_pointing_nowhere_in_a_large_table_fails_the_check() -> None:
    _check_fails_with_an_orphan_in(_large_table_with_a_foreign_key())


def test_a_row_pointing_nowhere_in_a_small_table_fails_the_check() -> None:
    table = "funding_ledgerentry"  # small (the demo money), with foreign keys and no unique column to copy
    assert table not in fkcheck._Baseline.large
    # its author: a trigger already refuses an entry whose budget (or ICB) is not there to agree with it
    _check_fails_with_an_orphan_in(table, "created_by_id")
