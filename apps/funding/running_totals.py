"""Adding to running totals kept beside the records they count (``ledger_writes.LedgerMonth``,
``payment_totals.PaymentTotal``): one statement, atomic on both databases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection, models


def add_to(
    model: type[models.Model],
    keys: Sequence[str],
    sums: Sequence[str],
    rows: Sequence[Sequence[Any]],
    fixed: Sequence[str] = (),
) -> None:
    """Add each row's ``sums`` columns to ``model``'s total for its ``keys`` columns (the model's unique constraint),
    creating the total when there is none (with the ``fixed`` columns, which follow from the keys).
    ``INSERT … ON CONFLICT DO UPDATE`` adds atomically on SQLite and PostgreSQL, so two transactions adding to one
    total never lose an addition; give ``rows`` in one order (sorted by key) so that two of them never deadlock on
    PostgreSQL. Each row is ``keys``, ``fixed`` then ``sums``, as database values."""
    if not rows:
        return
    table = model._meta.db_table
    columns = [*keys, *fixed, *sums]
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    added = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in sums)
    sql = (  # the table's and columns' own names and placeholders only; every value is a parameter
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([one] * len(rows))} "  # noqa: S608
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {added}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [v for row in rows for v in row])


def differences(want: Mapping[Any, Any], have: Mapping[Any, Any], records: str) -> list[str]:
    """Every key whose running total (``have``) differs from its recount from the records (``want``), in words: none
    when the totals are right."""
    return [f"{k}: {records} say {want.get(k)}, total says {have.get(k)}" for k in sorted(want.keys() | have.keys())
            if want.get(k) != have.get(k)]  # fmt: skip
