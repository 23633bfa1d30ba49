"""Diff-first bulk upsert on natural keys, for the national importers.

Reads the existing rows once, compares them with the incoming ones, and writes only rows that are new or
changed, with one ``executemany`` each for inserts and updates. That is what makes a re-run change nothing (and
cost little), and what makes the first load fast: no model instances are built for 100,000-row files. Plain
parameterised SQL that SQLite and PostgreSQL both accept; the caller wraps it in ``transaction.atomic()``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, models

BATCH = 5000


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    not_found: int = 0

    def __iadd__(self, other: Counts) -> Counts:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.not_found += other.not_found
        return self


def _columns(model: type[models.Model], names: Sequence[str]) -> list[models.Field[Any, Any]]:
    out = []
    for name in names:
        f = model._meta.get_field(name.removesuffix("_id"))
        assert isinstance(f, models.Field)
        out.append(f)
    return out


def _prep(fields: Sequence[models.Field[Any, Any]], row: Sequence[Any]) -> list[Any]:
    """Adapt values the database driver cannot take as they are (JSON)."""
    return [
        f.get_db_prep_save(v, connection) if isinstance(f, models.JSONField) else v
        for f, v in zip(fields, row, strict=True)
    ]


def upsert(
    model: type[models.Model],
    keys: Sequence[str],
    fields: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    create_fields: Sequence[str] = (),
    update_only: bool = False,
    scope: dict[str, Any] | None = None,
) -> Counts:
    """Insert or update ``rows`` (tuples of ``keys + fields + create_fields`` values, in that order).

    ``fields`` are compared and written on create and update; ``create_fields`` are written only when a row is
    created (so another source can own them). ``update_only`` never creates: unknown keys are counted in
    ``not_found`` (the caller reports them as skipped). ``scope`` narrows the existing rows read for comparison.
    Foreign keys are given by attname (``practice_id``).
    """
    nk, nf = len(keys), len(fields)
    qs = model.objects.all()
    if scope:
        qs = qs.filter(**scope)
    existing: dict[tuple[Any, ...], tuple[Any, ...]] = {
        tuple(r[:nk]): tuple(r[nk:]) for r in qs.values_list(*keys, *fields).iterator(chunk_size=20000)
    }
    inserts: list[Sequence[Any]] = []
    updates: list[Sequence[Any]] = []
    counts = Counts()
    for row in rows:
        key = tuple(row[:nk])
        old = existing.get(key)
        if old is None:
            if update_only:
                counts.not_found += 1
            else:
                inserts.append(row)
                existing[key] = tuple(row[nk : nk + nf])  # a duplicate later in the input is then a no-op
        elif old != tuple(row[nk : nk + nf]):
            updates.append(row)
            existing[key] = tuple(row[nk : nk + nf])
        else:
            counts.unchanged += 1
    table = connection.ops.quote_name(model._meta.db_table)
    q = connection.ops.quote_name
    key_cols = _columns(model, keys)
    val_cols = _columns(model, fields)
    create_cols = _columns(model, create_fields)
    with connection.cursor() as cur:
        if inserts:
            own = key_cols + val_cols + create_cols
            # Columns this source does not own get the model's defaults ("" for text), as the ORM would set.
            rest = [f for f in model._meta.concrete_fields if not f.primary_key and f not in own]
            defaults = _prep(rest, [f.get_default() for f in rest])
            cols = own + rest
            # Table and column names come from the model's _meta and are quoted; values are parameters.
            names, marks = ", ".join(q(c.column) for c in cols), ", ".join(["%s"] * len(cols))
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608
            has_json = any(isinstance(f, models.JSONField) for f in own)
            for i in range(0, len(inserts), BATCH):
                batch = inserts[i : i + BATCH]
                if has_json:
                    batch = [_prep(own, r) for r in batch]
                cur.executemany(sql, [(*r, *defaults) for r in batch] if defaults else batch)
            counts.created = len(inserts)
        if updates and val_cols:
            sets = ", ".join(f"{q(c.column)} = %s" for c in val_cols)
            where = " AND ".join(f"{q(c.column)} = %s" for c in key_cols)
            sql = f"UPDATE {table} SET {sets} WHERE {where}"  # noqa: S608
            params = [(*_prep(val_cols, r[nk : nk + nf]), *r[:nk]) for r in updates]
            for i in range(0, len(params), BATCH):
                cur.executemany(sql, params[i : i + BATCH])
            counts.updated = len(updates)
    return counts
