"""Diff-first bulk upsert on natural keys, for the national importers.

The incoming rows arrive as a polars frame. The existing rows are read once and compared with them in polars (a join
on the keys, not a Python loop over rows); only rows that are new or changed are written, with one ``executemany``
each for inserts and updates (``COPY`` for the inserts on PostgreSQL). That is what makes a re-run change nothing
(and cost little). On a first load the table (or the scoped slice of it) is empty, there is nothing to compare, and
the rows go straight to the inserts. No model instances are built. Parameterised SQL that SQLite and PostgreSQL both
accept; the caller wraps it in ``transaction.atomic()``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from django.db import connection, models

BATCH = 5000
_OLD = "old:"
_FOUND = "_found"


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


def _dtype(f: models.Field[Any, Any]) -> pl.DataType:
    """The polars type a column is compared in. JSON is compared as canonical text (sorted keys, the separators of
    ``json.dumps``), which is also what is written."""
    if isinstance(f, models.ForeignKey):
        return pl.Int64()
    if isinstance(f, models.BooleanField):
        return pl.Boolean()
    if isinstance(f, models.FloatField):
        return pl.Float64()
    if isinstance(f, models.IntegerField):  # every integer field, positive, small and big ones included
        return pl.Int64()
    if isinstance(f, models.DateField) and not isinstance(f, models.DateTimeField):
        return pl.Date()
    if isinstance(f, models.CharField | models.TextField | models.JSONField):
        return pl.String()
    raise TypeError(f"upsert cannot compare {type(f).__name__} {f.name!r}")  # pragma: no cover - programming error


def canonical_json(value: Any) -> str:
    """The text a JSON value is stored and compared as; a loader that builds JSON in polars must match it."""
    return json.dumps(value, sort_keys=True)


def _existing(
    model: type[models.Model], keys: Sequence[str], fields: Sequence[str], schema: dict[str, pl.DataType], scope: Any
) -> pl.DataFrame:
    """The rows already stored (keys + fields), read once, in the comparison types."""
    qs = model.objects.all()
    if scope:
        qs = qs.filter(**scope)
    json_at = [i for i, f in enumerate(_columns(model, [*keys, *fields])) if isinstance(f, models.JSONField)]
    rows: Any = qs.values_list(*keys, *fields).iterator(chunk_size=20000)
    if json_at:
        rows = ([canonical_json(v) if i in json_at else v for i, v in enumerate(r)] for r in rows)
    return pl.DataFrame(list(rows), schema=schema, orient="row")


def _changed(fields: Sequence[str], other: str = _OLD) -> pl.Expr:
    """True where any field differs from its ``other``-prefixed twin (null equals null, as in Python)."""
    if not fields:
        return pl.lit(False)
    return pl.any_horizontal([pl.col(f).ne_missing(pl.col(other + f)) for f in fields])


def upsert(
    model: type[models.Model],
    keys: Sequence[str],
    fields: Sequence[str],
    frame: pl.DataFrame,
    *,
    create_fields: Sequence[str] = (),
    update_only: bool = False,
    scope: dict[str, Any] | None = None,
) -> Counts:
    """Insert or update the rows of ``frame``, whose columns are, in order, ``keys + fields + create_fields``
    (matched by position, so a loader's own column names can stay).

    ``fields`` are compared and written on create and update; ``create_fields`` are written only when a row is
    created (so another source can own them). ``update_only`` never creates: unknown keys are counted in
    ``not_found`` (the caller reports them as skipped). ``scope`` narrows the existing rows read for comparison.
    Foreign keys are given by attname (``practice_id``). JSON columns come as canonical text
    (:func:`canonical_json`). A key repeated in ``frame`` behaves as a row-by-row upsert would: the first occurrence
    creates (or updates) the row, each later one updates it when its fields differ from the previous occurrence's.
    """
    names = [*keys, *fields, *create_fields]
    if frame.width != len(names):
        raise ValueError(f"upsert into {model.__name__}: {frame.width} columns given for {len(names)}: {names}")
    nk = len(keys)
    cols = _columns(model, names)
    schema = {n: _dtype(c) for n, c in zip(names, cols, strict=True)}
    # Positional: the caller's column names may collide with the model's (a "name" beside an "lsoa_name").
    df = frame.select(pl.nth(i).cast(schema[n], strict=True).alias(n) for i, n in enumerate(names))
    counts = Counts()
    key_expr = pl.struct(list(keys)) if nk > 1 else pl.col(keys[0])
    first = df.select(key_expr.is_first_distinct()).to_series()
    later: pl.DataFrame | None = None
    if not first.all():
        # Later occurrences of a key are compared with the previous occurrence (as a row loop would); the rows are
        # then folded into one per key holding the last fields and the first create-only fields.
        later = df.with_columns(pl.col(f).shift(1).over(list(keys)).alias(_OLD + f) for f in fields).filter(~first)
        df = df.group_by(list(keys), maintain_order=True).agg(
            *[pl.col(f).last() for f in fields], *[pl.col(f).first() for f in create_fields]
        )
    existing = _existing(model, keys, fields, {n: schema[n] for n in names[: nk + len(fields)]}, scope)
    if existing.height == 0:  # a first load: nothing to compare with
        new, changed = df, df.head(0)
    else:
        joined = df.join(
            existing.rename({f: _OLD + f for f in fields}).with_columns(pl.lit(True).alias(_FOUND)),
            on=list(keys),
            how="left",
            nulls_equal=True,
        )
        found = pl.col(_FOUND).fill_null(False)
        new = joined.filter(~found).select(names)
        same = joined.filter(found).with_columns(_changed(fields).alias("_changed"))
        changed = same.filter(pl.col("_changed")).select(names)
        counts.unchanged = same.height - changed.height
    if update_only:
        counts.not_found, new = new.height, new.head(0)
    if later is not None:
        # A repeated key is known when it was stored already or created by its first occurrence.
        known = later.join(existing.select(keys), on=list(keys), how="semi", nulls_equal=True) if update_only else later
        n_changed = int(known.select(_changed(fields).sum()).item()) if known.height else 0
        counts.updated += n_changed
        counts.unchanged += known.height - n_changed
        counts.not_found += later.height - known.height
    _write(model, keys, fields, create_fields, cols, new, changed, counts)
    return counts


def _write(
    model: type[models.Model],
    keys: Sequence[str],
    fields: Sequence[str],
    create_fields: Sequence[str],
    cols: Sequence[models.Field[Any, Any]],
    new: pl.DataFrame,
    changed: pl.DataFrame,
    counts: Counts,
) -> None:
    table = connection.ops.quote_name(model._meta.db_table)
    q = connection.ops.quote_name
    nk, nf = len(keys), len(fields)
    with connection.cursor() as cur:
        if new.height:
            # Columns this source does not own get the model's defaults ("" for text), as the ORM would set.
            rest = [f for f in model._meta.concrete_fields if not f.primary_key and f not in cols]
            defaults = [
                canonical_json(f.get_default()) if isinstance(f, models.JSONField) else f.get_default() for f in rest
            ]
            inserts = new.with_columns(
                pl.lit(v, dtype=_dtype(f)).alias(f"_default:{f.attname}") for f, v in zip(rest, defaults, strict=True)
            )
            # Table and column names come from the model's _meta and are quoted; values are parameters.
            all_cols = [*cols, *rest]
            names, marks = ", ".join(q(c.column) for c in all_cols), ", ".join(["%s"] * len(all_cols))
            if connection.vendor == "postgresql":
                # COPY: an INSERT per row costs PostgreSQL a parse and a plan each (about 30 us), COPY streams them.
                with cur.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in inserts.iter_rows():
                        copy.write_row(row)
            else:
                sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608
                for i in range(0, inserts.height, BATCH):
                    cur.executemany(sql, inserts.slice(i, BATCH).rows())
            counts.created += new.height
        if changed.height and fields:
            sets = ", ".join(f"{q(c.column)} = %s" for c in cols[nk : nk + nf])
            where = " AND ".join(f"{q(c.column)} = %s" for c in cols[:nk])
            sql = f"UPDATE {table} SET {sets} WHERE {where}"  # noqa: S608
            params = changed.select(*fields, *keys)
            for i in range(0, params.height, BATCH):
                cur.executemany(sql, params.slice(i, BATCH).rows())
            counts.updated += changed.height
