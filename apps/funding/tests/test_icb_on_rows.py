"""The ICB on each ledger entry and payment is its budget's: filled by the models whoever writes, refused by the
database when it disagrees (run with DATABASE_URL=postgres://… for PostgreSQL), kept by the backfill migration."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import F

from analytics import money
from apps.core.dbimmutable import protect, unprotect
from apps.funding import icb_rule, services
from apps.funding.models import Budget, Commitment, LedgerEntry, Payment
from apps.funding.tests.conftest import POUND, commit
from apps.pages.testing import ICB_B
from apps.practices.models import ICB

pytestmark = pytest.mark.django_db


class Undo(Exception):
    pass


@pytest.fixture
def paid(personas, budget, practices_a, colleague_a) -> Payment:
    commit(budget, personas["icb_a"], practices_a, 4_000 * POUND, "ICB/PKG-1")
    payment = services.record_payment(
        reference="ICB/PKG-1",
        amount_pence=1_000 * POUND,
        kind="invoice",
        payee="Coaching Co",
        invoice_number="ICB-1",
        offer_code="gprp-diagnostic",
        session_refs=[],
        user=personas["icb_a"],
    )
    return services.approve_payment(payment=payment, user=colleague_a)


def test_the_migrated_database_has_every_agreement_trigger():
    assert icb_rule.triggers(connection) == icb_rule.expected(connection.vendor)


def test_the_services_fill_the_icb_and_every_row_agrees_with_its_budget(paid, budget):
    assert LedgerEntry.objects.filter(payment=paid).get().icb_id == budget.icb_id
    assert paid.icb_id == budget.icb_id
    assert not LedgerEntry.objects.exclude(icb_id=F("budget__icb_id")).exists()
    assert not Payment.objects.exclude(icb_id=F("commitment__budget__icb_id")).exists()


def test_an_entry_naming_another_icb_is_refused_by_the_database(personas, budget):
    other = ICB.objects.get(code=ICB_B)
    entry = LedgerEntry(
        budget=budget, icb=other, kind=money.Kind.RELEASE, amount_pence=1, created_by=personas["national"]
    )
    with pytest.raises(DatabaseError, match="budget's"), transaction.atomic():
        entry.save()
    with pytest.raises(DatabaseError, match="budget's"), transaction.atomic():
        LedgerEntry.objects.bulk_create([entry])
    assert not LedgerEntry.objects.filter(budget=budget, icb=other).exists()


def test_a_payment_cannot_be_moved_to_another_icb_nor_its_budget_or_commitment_moved(paid, budget):
    other = ICB.objects.get(code=ICB_B)
    with pytest.raises(DatabaseError), transaction.atomic():
        Payment.objects.filter(pk=paid.pk).update(icb=other)
    with pytest.raises(DatabaseError, match="stays with its ICB"), transaction.atomic():
        Budget.objects.filter(pk=budget.pk).update(icb=other)
    elsewhere = Budget.objects.exclude(icb=budget.icb).first()
    with pytest.raises(DatabaseError, match="stays on its budget"), transaction.atomic():
        Commitment.objects.filter(pk=paid.commitment_id).update(budget=elsewhere)
    paid.refresh_from_db()
    assert paid.icb_id == budget.icb_id


def test_the_backfill_sets_every_row_to_its_budgets_icb(paid, budget):
    """What migration 0012 runs, on rows whose ICB is wrong (a NULL cannot be stored any more): inside one
    transaction, rolled back, with the ledger's triggers lifted and put back as the migration does."""
    migration = importlib.import_module("apps.funding.migrations.0012_icb_on_ledger_entries_and_payments")
    other = ICB.objects.get(code=ICB_B)

    def run(sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql)

    editor = SimpleNamespace(connection=connection, execute=lambda sql, params=None: run(sql))
    with pytest.raises(Undo), transaction.atomic():
        unprotect(migration.LEDGER)(None, editor)
        icb_rule.drop(None, editor)
        run(f"UPDATE funding_ledgerentry SET icb_id = {other.pk}")
        run(f"UPDATE funding_payment SET icb_id = {other.pk}")
        assert LedgerEntry.objects.exclude(icb_id=F("budget__icb_id")).exists()
        migration.backfill(None, editor)
        assert not LedgerEntry.objects.exclude(icb_id=F("budget__icb_id")).exists()
        assert not Payment.objects.exclude(icb_id=F("commitment__budget__icb_id")).exists()
        protect(migration.LEDGER)(None, editor)
        icb_rule.create(None, editor)
        raise Undo
    assert icb_rule.triggers(connection) == icb_rule.expected(connection.vendor)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE funding_ledgerentry SET memo = 'x' WHERE id = %s", [LedgerEntry.objects.first().pk])
