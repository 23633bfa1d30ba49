"""The ledger is immutable in the database: raw SQL, ORM bulk updates and deletes of ledger rows all fail, on SQLite
and PostgreSQL (run this module with DATABASE_URL=postgres://… for the latter); new entries are still written."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import QuerySet

from apps.core import dbimmutable
from apps.funding.models import LedgerEntry

pytestmark = pytest.mark.django_db

TABLE = LedgerEntry._meta.db_table


@pytest.fixture
def entry(line) -> LedgerEntry:
    return LedgerEntry.objects.filter(budget__line=line).order_by("pk").first()


def _refused(sql: str, params: list[object]) -> str:
    with pytest.raises(DatabaseError) as refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(refused.value)


def test_the_migrated_database_protects_the_ledger_table():
    assert TABLE in dbimmutable.protected_tables(connection)


def test_raw_sql_update_of_a_ledger_row_is_refused(entry):
    message = _refused(f"UPDATE {TABLE} SET amount_pence = amount_pence + 1 WHERE id = %s", [entry.pk])
    assert "immutable" in message and "UPDATE" in message
    assert LedgerEntry.objects.get(pk=entry.pk).amount_pence == entry.amount_pence


def test_raw_sql_delete_of_a_ledger_row_is_refused(entry):
    message = _refused(f"DELETE FROM {TABLE} WHERE id = %s", [entry.pk])
    assert "immutable" in message and "DELETE" in message
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()


def test_orm_bulk_update_and_delete_are_refused_by_the_database(entry):
    """A plain QuerySet skips the ledger manager's update/delete guard (as code written against another manager
    would); the trigger still stops it."""
    rows = QuerySet(model=LedgerEntry).filter(pk=entry.pk)
    with pytest.raises(DatabaseError), transaction.atomic():
        rows.update(memo="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        rows.delete()
    assert LedgerEntry.objects.get(pk=entry.pk).memo == entry.memo


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE is PostgreSQL's")
def test_truncating_the_ledger_is_refused(entry):
    assert "TRUNCATE" in _refused(f"TRUNCATE {TABLE} CASCADE", [])
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()


def test_new_entries_are_still_written(line, personas):
    from apps.funding import services

    before = LedgerEntry.objects.count()
    services.release_tranche(
        user=personas["national"], line=line, fy=line.years.get().fy, amount_pence=1_000_00, note="Second"
    )
    assert LedgerEntry.objects.count() == before + 1


def test_a_flush_lifts_the_triggers_and_puts_them_back(entry):
    """What the test runner's flush runs (the backend's sql_flush), inside one transaction: the ledger empties and the
    triggers are back before it commits."""
    from django.core.management.color import no_style

    statements = connection.ops.sql_flush(no_style(), [TABLE])
    assert any("DROP TRIGGER" in s for s in statements) and "CREATE TRIGGER" in statements[-1]

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # the test's own inserts leave deferred foreign-key checks pending, which TRUNCATE refuses; a real flush
            # runs after they committed
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for sql in statements:
            cursor.execute(sql)
        assert not LedgerEntry.objects.exists()
        assert TABLE in dbimmutable.protected_tables(connection)
        raise Undo  # roll the flush back: the rest of the session's tests share this database
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()
    assert "immutable" in _refused(f"DELETE FROM {TABLE} WHERE id = %s", [entry.pk])
