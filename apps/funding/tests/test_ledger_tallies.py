"""The ledger's running monthly totals (apps.funding.ledger_writes) equal the sums of the entries after every kind of
entry: allocation, release, commitment, variation up and down, de-commitment, payment, virement, an ICB's own budget
and a commitment to a payee; at the edges of months and of the financial year in local time; and the pages that
read them show what the entries say."""

from __future__ import annotations

import importlib
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from django.db import connection
from django.db.models import Sum

from analytics import money
from apps.funding import ledger_writes, lists, reports, services
from apps.funding.ledger_writes import LedgerMonth
from apps.funding.models import Budget, Commitment, LedgerEntry, PayeeKind
from apps.funding.services.ledger import tallied_balances
from apps.funding.services.local import record_local_budget
from apps.funding.tests.conftest import POUND, allocate_to, commit, make_line
from apps.pages.testing import ICB_A, ICB_B

pytestmark = pytest.mark.django_db


def test_every_kind_of_entry_keeps_the_totals_equal_to_the_entries(personas, budget, practices_a, colleague_a):
    assert ledger_writes.mismatches() == []  # allocation and release (the fixture)
    icb_a = personas["icb_a"]
    commit(budget, icb_a, practices_a, 10_000 * POUND, "TALLY/PKG-1")
    commit(budget, icb_a, practices_a, 3_000 * POUND, "TALLY/PKG-2")
    assert ledger_writes.mismatches() == []
    services.vary_commitment(
        reference="TALLY/PKG-1", new_amount_pence=12_000 * POUND, user=icb_a, reason="Two more coaching days"
    )
    services.vary_commitment(
        reference="TALLY/PKG-1", new_amount_pence=9_000 * POUND, user=icb_a, reason="Three coaching days fewer"
    )
    services.decommit(reference="TALLY/PKG-2", user=icb_a, reason="Practice merged, package withdrawn")
    assert ledger_writes.mismatches() == []
    payment = services.record_payment(
        reference="TALLY/PKG-1",
        amount_pence=4_000 * POUND,
        kind="invoice",
        payee="Coaching Co",
        invoice_number="T-1",
        offer_code="gprp-diagnostic",
        session_refs=[],
        user=icb_a,
    )
    services.approve_payment(payment=payment, user=colleague_a)
    assert ledger_writes.mismatches() == []
    other = make_line(personas["national"], code="TALLY2")
    allocate_to(personas["national"], other, {ICB_A: 0.5, ICB_B: 0.5})
    services.release_tranche(
        user=personas["national"], line=other, fy=other.years.get().fy, amount_pence=20_000 * POUND, note="All"
    )
    source = Budget.objects.get(line=other, icb__code=ICB_A)
    target = Budget.objects.get(line=other, icb__code=ICB_B)
    virement = services.request_virement(
        from_budget=source, to_budget=target, amount_pence=1_000 * POUND, reason="B has more demand", user=icb_a
    )
    services.approve_virement(virement=virement, user=personas["national"])
    services.commit_to_payee(
        budget=budget,
        user=icb_a,
        kind=PayeeKind.LMC_TEAM,
        name="An LMC support team",
        purpose="Support to practices in difficulty",
        amount_pence=2_000 * POUND,
        tranches=[(date(budget.fy, 6, 30), 1_000 * POUND), (date(budget.fy, 12, 31), 1_000 * POUND)],
    )
    record_local_budget(
        user=icb_a,
        icb=icb_a.icb,
        code="LOCAL-T",
        name="Local resilience",
        menu="GPRP",
        line_name="Local core",
        fy=budget.fy,
        amount_pence=5_000 * POUND,
        source="ICB board paper",
    )
    assert ledger_writes.mismatches() == []
    ids = list(Budget.objects.values_list("pk", flat=True))
    # what the pages read (the totals) is what the entries say
    assert tallied_balances(ids) == services.balances(ids)


def test_months_are_local_calendar_months_at_the_edges_of_the_year(personas, budget):
    """23:30 UTC on 31 March 2027 is 00:30 on 1 April in summer time: April's, and outside 2026-27's months;
    00:30 UTC on 1 November 2026 is 00:30 GMT, November's."""
    user = personas["national"]
    before = {d.month: c for d, c, _ in reports.monthly(budget.fy, budget.icb)}
    at = [
        (datetime(2027, 3, 31, 23, 30, tzinfo=UTC), 7),
        (datetime(2027, 3, 31, 22, 30, tzinfo=UTC), 11),
        (datetime(2026, 11, 1, 0, 30, tzinfo=UTC), 13),
        (datetime(2026, 10, 31, 23, 30, tzinfo=UTC), 17),
    ]
    LedgerEntry.objects.bulk_create(
        LedgerEntry(budget=budget, kind=money.Kind.VARIATION, amount_pence=p, created_by=user, created_at=t)
        for t, p in at
    )
    months = dict(
        LedgerMonth.objects.filter(budget=budget, kind=money.Kind.VARIATION).values_list("month", "amount_pence")
    )
    assert months == {date(2027, 4, 1): 7, date(2027, 3, 1): 11, date(2026, 11, 1): 13, date(2026, 10, 1): 17}
    assert ledger_writes.mismatches() == []
    if budget.fy == 2026:  # the year the entries' dates were chosen for
        after = {d.month: c for d, c, _ in reports.monthly(budget.fy, budget.icb)}
        assert {m: after[m] - before[m] for m in after if after[m] != before[m]} == {3: 11, 11: 13, 10: 17}


def test_an_entry_saved_one_at_a_time_is_counted_too(personas, budget):
    before = LedgerMonth.objects.filter(budget=budget).aggregate(n=Sum("entries"))["n"]
    LedgerEntry.objects.create(
        budget=budget, kind=money.Kind.RELEASE, amount_pence=5 * POUND, created_by=personas["national"]
    )
    assert LedgerMonth.objects.filter(budget=budget).aggregate(n=Sum("entries"))["n"] == before + 1
    assert ledger_writes.mismatches() == []


def test_the_monthly_chart_equals_the_entries_summed_by_month(personas, budget, practices_a):
    commit(budget, personas["icb_a"], practices_a, 2_500 * POUND, "TALLY/CHART")
    tz_months = {}
    for e in LedgerEntry.objects.filter(budget__fy=budget.fy, icb=budget.icb, kind__in=reports.COMMITTING):
        key = ledger_writes.month_of(e.created_at)
        tz_months[key] = tz_months.get(key, 0) + e.amount_pence
    shown = {d.replace(day=1): c for d, c, _ in reports.monthly(budget.fy, budget.icb)}
    assert {m: c for m, c in shown.items() if c} == {m: c for m, c in tz_months.items() if m in shown and c}


def test_the_migration_that_starts_the_totals_recounts_every_entry(personas, budget, practices_a):
    from django.apps import apps

    commit(budget, personas["icb_a"], practices_a, 1_000 * POUND, "TALLY/MIGRATE")
    want = {(t.budget_id, t.kind, t.month): (t.amount_pence, t.entries) for t in LedgerMonth.objects.all()}
    LedgerMonth.objects.all().delete()
    migration = importlib.import_module("apps.funding.migrations.0013_ledger_month_tallies")
    migration.start_tallies(apps, SimpleNamespace(connection=connection))
    have = {(t.budget_id, t.kind, t.month): (t.amount_pence, t.entries) for t in LedgerMonth.objects.all()}
    assert have == want and ledger_writes.mismatches() == []


def test_paid_by_commitment_status_equals_the_payment_entries(personas, budget, practices_a, colleague_a):
    """The budget page's paid-to-date per status, from the totals and the cancelled commitments' amounts, is what
    the payment entries say: a commitment paid in part and then cancelled, and an open one paid in part."""
    icb_a = personas["icb_a"]
    for ref in ("TALLY/PAID-1", "TALLY/PAID-2"):
        commit(budget, icb_a, practices_a, 5_000 * POUND, ref)
        payment = services.record_payment(
            reference=ref,
            amount_pence=1_234 * POUND,
            kind="invoice",
            payee="Coaching Co",
            invoice_number=f"{ref}-INV",
            offer_code="gprp-diagnostic",
            session_refs=[],
            user=icb_a,
        )
        services.approve_payment(payment=payment, user=colleague_a)
    services.decommit(reference="TALLY/PAID-1", user=icb_a, reason="Practice closed before the work finished")
    shown = {t.status: t.paid_pence for t in lists.commitment_totals(budget.icb, budget.fy)}
    entries = (
        LedgerEntry.objects.filter(
            commitment__budget__icb=budget.icb, commitment__budget__fy=budget.fy, kind=money.Kind.PAYMENT
        )
        .order_by()
        .values_list("commitment__status")
        .annotate(t=Sum("amount_pence"))
    )
    assert {s: shown[s] for s in shown if shown[s]} == dict(entries)
    assert shown[Commitment.Status.CANCELLED] >= 1_234 * POUND
