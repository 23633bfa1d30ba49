"""How ledger entries are written: the manager that refuses updates and deletes, the ICB copied from each entry's
budget (``apps.funding.icb_rule``), and the running totals per budget, kind and month that the money pages sum, so
that a budget page, the dashboard and the ledger's counts read a few hundred rows however many entries there are
(issue 19).

The entries stay the record; a :class:`LedgerMonth` is derived from them and kept in the same transaction as each
entry it counts (``LedgerEntry.save`` and :meth:`LedgerQuerySet.bulk_create` call :func:`add`). The ledger is
append-only, so a running total is exact: an entry is added once and never changes or goes (corrections are new
entries, added like any other). :func:`mismatches` recomputes every total from the entries;
``apps/funding/tests/test_ledger_tallies.py`` holds them equal after every kind of entry. Checks that decide whether
money may move (``apps.funding.services.ledger.balances``) still read the entries themselves.

Months are Europe/London calendar months, as the pages show them (an entry at 23:30 UTC on 31 March in summer time
is April's). The models here are registered by their import in ``apps.funding.models``, which re-exports them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Sum
from django.utils import timezone

from apps.funding.running_totals import add_to, differences


class LedgerQuerySet(models.QuerySet[Any]):
    """The ledger's manager: entries are written with their ICB and their months' totals; never updated or deleted."""

    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        with transaction.atomic():  # the entries and their months' totals together, or neither
            made = super().bulk_create(with_icb(objs), *args, **kwargs)
            add(made)
        return made

    def update(self, **kwargs: Any) -> int:
        raise ValueError("ledger entries are immutable")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ValueError("ledger entries are immutable")


def with_icb(entries: Iterable[Any]) -> list[Any]:
    """The entries, each with its budget's ICB: set here, whoever writes them (the database checks it too)."""
    out = list(entries)
    for e in out:
        e.icb_id = e.icb_id or e.budget.icb_id
    return out


class LedgerMonth(models.Model):
    """The sum and number of one budget's entries of one kind in one month (never the record: see the module)."""

    budget = models.ForeignKey("funding.Budget", on_delete=models.PROTECT, related_name="+", db_index=False)
    icb = models.ForeignKey("practices.ICB", on_delete=models.PROTECT, related_name="+", db_index=False)
    kind = models.CharField(max_length=14)
    month = models.DateField(help_text="The month's first day (Europe/London)")
    amount_pence = models.BigIntegerField()
    entries = models.PositiveIntegerField()

    class Meta:
        app_label = "funding"
        constraints = [models.UniqueConstraint(fields=["budget", "kind", "month"], name="uniq_ledger_month")]
        indexes = [models.Index(fields=["icb", "month"], name="ledger_month_icb")]

    def __str__(self) -> str:
        return f"{self.kind} {self.month:%Y-%m} on budget {self.budget_id}: {self.amount_pence}p"


def month_of(at: datetime) -> date:
    return timezone.localtime(at).date().replace(day=1)


Key = tuple[int, int, str, date]  # budget, ICB, kind, month


def sums_of(entries: Iterable[Any]) -> dict[Key, tuple[int, int]]:
    """(amount, count) per budget, ICB, kind and month of ``entries`` (ledger entries, or rows with their fields)."""
    acc: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
    for e in entries:
        s = acc[(e.budget_id, e.icb_id, str(e.kind), month_of(e.created_at))]
        s[0] += e.amount_pence
        s[1] += 1
    return {k: (a, n) for k, (a, n) in acc.items()}


def add(entries: Sequence[Any]) -> None:
    """Add entries just written (in the caller's transaction) to their months' totals, in one statement
    (:func:`apps.funding.running_totals.add_to`: atomic, keys in one order)."""
    rows = [
        (budget, kind, connection.ops.adapt_datefield_value(month), icb, amount, count)
        for (budget, icb, kind, month), (amount, count) in sorted(sums_of(entries).items())
    ]
    add_to(LedgerMonth, ["budget_id", "kind", "month"], ["amount_pence", "entries"], rows, fixed=["icb_id"])


def recount(entries: Iterable[Any]) -> list[LedgerMonth]:
    """The totals of ``entries`` as (unsaved) rows: the migration that starts the tallies, and :func:`mismatches`."""
    return [
        LedgerMonth(budget_id=b, icb_id=i, kind=k, month=m, amount_pence=a, entries=n)
        for (b, i, k, m), (a, n) in sums_of(entries).items()
    ]


def mismatches() -> list[str]:
    """Every total that differs from the sum of its entries, in words (none, when the tallies are right)."""
    from apps.funding.models import LedgerEntry

    fields = ("budget_id", "icb_id", "kind", "created_at", "amount_pence")
    rows = LedgerEntry.objects.order_by().only(*fields).iterator(chunk_size=5000)
    want = {(t.budget_id, t.icb_id, t.kind, t.month): (t.amount_pence, t.entries) for t in recount(rows)}
    have = {(t.budget_id, t.icb_id, t.kind, t.month): (t.amount_pence, t.entries) for t in LedgerMonth.objects.all()}
    return differences(want, have, "entries")


def totals(tallies: models.QuerySet[LedgerMonth]) -> dict[str, int]:
    """Entries and their net amount over the tallies (what ``ledger_list.totals`` gives over the entries)."""
    found = tallies.order_by().aggregate(entries=Sum("entries"), net=Sum("amount_pence"))
    return {"entries": int(found["entries"] or 0), "net": int(found["net"] or 0)}
