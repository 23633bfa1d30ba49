"""Concurrent approvals can never overdraw a budget (PostgreSQL: real connections, real commits, real row locks).

Several threads, each with its own database connection, approve packages against the same budget at the same
moment. The budget has room for only some of them: exactly those that fit succeed, the others get
InsufficientFunds saying how much is missing, and the balance never goes negative. A delay between reading the
balance and writing the commitment widens the race window, so without the row lock this test would overdraw.

The PostgreSQL test is skipped on SQLite, which has no row locks: there every transaction is IMMEDIATE (one
writer at a time), and a second test checks that the same race is serialised that way. The tests commit for real
(``transaction=True``); ``available_apps`` limits the flush after each to the funding tables, and the module
teardown restores the demo money and removes the users it made.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction

from analytics import money
from apps.accounts.models import Role, User
from apps.funding import services
from apps.funding.models import Budget, LedgerEntry
from apps.funding.services import ledger
from apps.funding.tests.conftest import POUND, allocate_to, make_line
from apps.pages.testing import ICB_A
from apps.practices.models import ICB, Practice, PracticeStatus

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL row locks; SQLite serialises writers (IMMEDIATE transactions), so there is no race",
)
sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite equivalent of the row lock")
USERS = ("t-conc-national", "t-conc-icb-a")


@pytest.fixture(scope="module")
def restore_demo_money(django_db_blocker: Any) -> Iterator[None]:
    """After the module (and so after the post-test flush of the funding tables): put the demo money back."""
    yield
    with django_db_blocker.unblock():
        User.objects.filter(username__in=USERS).delete()
        call_command("create_demo_funding", force=True, stdout=io.StringIO())
        connections.close_all()  # leave no session open on the test database (it is dropped at the end)


def _budget() -> tuple[Budget, User, str]:
    # Plain saves: with available_apps limited to funding, create_user cannot look the user model up by label.
    User.objects.filter(username__in=USERS).delete()  # an earlier test's (its funding rows are flushed already)
    national = User(username=USERS[0], role=Role.NATIONAL)
    icb_user = User(username=USERS[1], role=Role.ICB, icb=ICB.objects.get(code=ICB_A))
    for u in (national, icb_user):
        u.set_unusable_password()
        u.save()
    line = make_line(national, code="CONC", total=50_000 * POUND)
    allocate_to(national, line, {ICB_A: 1})
    services.release_tranche(
        user=national, line=line, fy=line.years.get().fy, amount_pence=10_000 * POUND, note="Room for two"
    )
    practice = Practice.objects.filter(icb__code=ICB_A, status=PracticeStatus.ACTIVE).order_by("code").first()
    assert practice is not None
    return Budget.objects.select_related("icb", "line__programme").get(line=line), icb_user, practice.code


def _race(budget: Budget, user: User, practice: str, n: int, amount: int) -> list[object]:
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def approve(i: int) -> None:
        try:
            barrier.wait()
            with transaction.atomic():  # as the case workflow calls it: inside its own transaction
                results[i] = services.commit_funds(
                    budget=budget,
                    amount_pence=amount,
                    reference=f"CONC-{n}-{i}",
                    user=user,
                    recipients=[(practice, amount)],
                    offers={"gprp-diagnostic": amount},
                )
        except Exception as e:  # the result under test: a commitment or InsufficientFunds
            results[i] = e
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def _slowed(monkeypatch: Any) -> Any:
    real_balances = ledger.balances

    def slow_balances(ids: Any) -> dict[int, money.Balance]:
        found = real_balances(ids)
        time.sleep(0.2)  # between reading the balance and writing the commitment: a wide race window
        return found

    monkeypatch.setattr(ledger, "balances", slow_balances)  # what _check reads, under the lock
    return real_balances


@postgresql_only
@pytest.mark.django_db(transaction=True, available_apps=["apps.funding"])
def test_concurrent_approvals_never_overdraw_a_budget(restore_demo_money: None, monkeypatch: Any) -> None:
    budget, user, practice = _budget()
    real_balances = _slowed(monkeypatch)
    started = time.monotonic()
    results = _race(budget, user, practice, n=5, amount=4_000 * POUND)
    elapsed = time.monotonic() - started

    won = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, services.InsufficientFunds)]
    assert len(won) == 2, results  # £10,000 released: two £4,000 approvals fit, a third would not
    assert len(refused) == 3, results
    assert {r.missing_pence for r in refused} == {2_000 * POUND}
    assert {r.available_pence for r in refused} == {2_000 * POUND}
    b = real_balances([budget.pk])[budget.pk]
    assert b.committed == 8_000 * POUND and b.headroom == 2_000 * POUND >= 0
    assert LedgerEntry.objects.filter(budget=budget, kind=money.Kind.COMMITMENT).count() == 2
    # The approvals queued on the lock: five slowed checks took at least five delays, not one.
    assert elapsed >= 5 * 0.2


@sqlite_only
@pytest.mark.django_db(transaction=True, available_apps=["apps.funding"])
def test_concurrent_approvals_queue_on_sqlite_too(restore_demo_money: None, monkeypatch: Any) -> None:
    """SQLite has no row locks: IMMEDIATE transactions take the write lock at BEGIN, so approvals queue the same."""
    budget, user, practice = _budget()
    real_balances = _slowed(monkeypatch)
    results = _race(budget, user, practice, n=4, amount=4_000 * POUND)
    assert sum(not isinstance(r, Exception) for r in results) == 2, results
    assert sum(isinstance(r, services.InsufficientFunds) for r in results) == 2, results
    assert real_balances([budget.pk])[budget.pk].committed == 8_000 * POUND


# Two budgets: one decision across both (issue 17 §2) ----------------------------------------------------------


def _second_budget(national_name: str = USERS[0], released: int = 6_000 * POUND) -> Budget:
    national = User.objects.get(username=national_name)
    line = make_line(national, code="CONC2", total=50_000 * POUND)
    allocate_to(national, line, {ICB_A: 1})
    services.release_tranche(user=national, line=line, fy=line.years.get().fy, amount_pence=released, note="Room: one")
    return Budget.objects.select_related("icb", "line__programme").get(line=line)


def _race_across(budgets: list[Budget], user: User, practice: str, n: int, amount: int) -> list[object]:
    """``n`` decisions at once, each committing ``amount`` on every budget; half list the budgets the other way
    round (the service locks in id order whatever the caller's order, so they queue instead of deadlocking)."""
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def decide(i: int) -> None:
        order = budgets if i % 2 else list(reversed(budgets))
        parts = [
            services.CommitPart(b, amount, f"CONC-X-{i}/{b.pk}", [(practice, amount)], {"gprp-diagnostic": amount})
            for b in order
        ]
        try:
            barrier.wait()
            with transaction.atomic():
                results[i] = services.commit_funds_together(parts, user=user)
        except Exception as e:  # the result under test: the commitments or a shortfall
            results[i] = e
        finally:
            connections.close_all()

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def _check_across(results: list[object], first: Budget, second: Budget, real_balances: Any) -> None:
    won = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, services.PartShortfall)]
    # £10,000 on the first budget would take two £4,000 decisions, £6,000 on the second only one: one decision
    # wins, and the losers' first-budget parts are not kept even though that budget had room for them.
    assert len(won) == 1 and len(refused) == len(results) - 1, results
    assert {r.budget.pk for r in refused} == {second.pk}
    assert {r.missing_pence for r in refused} == {2_000 * POUND}
    found = real_balances([first.pk, second.pk])
    assert found[first.pk].committed == 4_000 * POUND and found[first.pk].headroom == 6_000 * POUND
    assert found[second.pk].committed == 4_000 * POUND and found[second.pk].headroom == 2_000 * POUND
    assert LedgerEntry.objects.filter(kind=money.Kind.COMMITMENT, budget__in=[first, second]).count() == 2


@postgresql_only
@pytest.mark.django_db(transaction=True, available_apps=["apps.funding"])
def test_decisions_racing_over_two_shared_budgets_commit_all_or_nothing(
    restore_demo_money: None, monkeypatch: Any
) -> None:
    first, user, practice = _budget()
    second = _second_budget()
    real_balances = _slowed(monkeypatch)
    started = time.monotonic()
    results = _race_across([first, second], user, practice, n=4, amount=4_000 * POUND)
    _check_across(results, first, second, real_balances)
    assert time.monotonic() - started >= 4 * 0.2  # they queued on the locks


@sqlite_only
@pytest.mark.django_db(transaction=True, available_apps=["apps.funding"])
def test_decisions_over_two_budgets_queue_on_sqlite_too(restore_demo_money: None, monkeypatch: Any) -> None:
    first, user, practice = _budget()
    second = _second_budget()
    real_balances = _slowed(monkeypatch)
    results = _race_across([first, second], user, practice, n=3, amount=4_000 * POUND)
    _check_across(results, first, second, real_balances)
