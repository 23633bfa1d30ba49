"""The ICB stored on each ledger entry and payment always agrees with its budget's, in the database itself.

Why it is stored at all: an ICB's ledger and payments pages show its newest rows first, and with the ICB only on the
budget the database had to join all of the ICB's rows (31,000 at 70x the demo) and sort them to find the newest 100;
with the ICB on the row, an ``(icb, time desc)`` index hands them over in order (docs/money.md, bench/README.md).

The models copy it on creation (``LedgerEntry.save``, ``LedgerQuerySet.bulk_create``, ``Payment.save``): no caller
passes it. These triggers refuse a row whose ICB is not its budget's, whoever sends the SQL, and refuse the two
changes that would make stored copies disagree later: a budget moved to another ICB, or a commitment (with its
payments) moved to another budget. Neither is something the service does; money moves between ICBs as virements.

SQLite caveat (as for ``apps.core.dbimmutable``): Django alters a SQLite table by re-creating it, which drops its
triggers; a later migration that alters one of these tables must call :func:`create` again.
``apps/funding/tests/test_icb_on_rows.py`` fails if any trigger is missing after all migrations.
"""

from __future__ import annotations

from typing import Any

PREFIX = "icb_agrees_"

# (trigger, table, event, SQLite "WHEN" condition under which the row is refused, message)
RULES = [
    (
        "ledger",
        "funding_ledgerentry",
        "INSERT",
        "NEW.icb_id IS NOT (SELECT b.icb_id FROM funding_budget b WHERE b.id = NEW.budget_id)",
        "a ledger entry's ICB must be its budget's",
    ),
    (
        "payment",
        "funding_payment",
        "INSERT OR UPDATE OF icb_id, commitment_id",
        "NEW.icb_id IS NOT (SELECT b.icb_id FROM funding_commitment c JOIN funding_budget b ON b.id = c.budget_id "
        "WHERE c.id = NEW.commitment_id)",
        "a payment's ICB must be its commitment's budget's",
    ),
    (
        "budget",
        "funding_budget",
        "UPDATE OF icb_id",
        "NEW.icb_id IS NOT OLD.icb_id",
        "a budget stays with its ICB (money moves between ICBs as virements)",
    ),
    (
        "commitment",
        "funding_commitment",
        "UPDATE OF budget_id",
        "NEW.budget_id IS NOT OLD.budget_id",
        "a commitment stays on its budget",
    ),
]


def _pg(name: str, table: str, event: str, when: str, message: str) -> list[str]:
    function = f"{PREFIX}{name}_check"
    # SQLite's null-safe IS NOT is PostgreSQL's IS DISTINCT FROM
    condition = when.replace(" IS NOT ", " IS DISTINCT FROM ")
    quoted = message.replace("'", "''")
    return [
        f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF {condition} THEN RAISE EXCEPTION '{quoted}' USING ERRCODE = 'check_violation'; "
        "END IF; RETURN NEW; END $$",
        f'CREATE TRIGGER {PREFIX}{name} BEFORE {event} ON "{table}" FOR EACH ROW EXECUTE FUNCTION {function}()',
    ]


def _sqlite(name: str, table: str, event: str, when: str, message: str) -> list[str]:
    # SQLite takes one event per trigger: "INSERT OR UPDATE OF …" becomes two triggers
    events = [e.strip() for e in event.split(" OR ")]
    quoted = message.replace("'", "''")
    return [
        f'CREATE TRIGGER {PREFIX}{name}_{i} BEFORE {e} ON "{table}" WHEN {when} '
        f"BEGIN SELECT RAISE(ABORT, '{quoted}'); END"
        for i, e in enumerate(events)
    ]


def create_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [sql for rule in RULES for sql in _pg(*rule)]
    if vendor == "sqlite":
        return [sql for rule in RULES for sql in _sqlite(*rule)]
    raise NotImplementedError(f"the ICB agreement triggers need writing for {vendor}")


def drop_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [f'DROP TRIGGER IF EXISTS {PREFIX}{name} ON "{table}"' for name, table, *_ in RULES]
    return [f"DROP TRIGGER IF EXISTS {PREFIX}{name}_{i}" for name, *_ in RULES for i in (0, 1)]


def create(apps: Any, schema_editor: Any) -> None:
    """A ``RunPython`` forward function: the triggers, (re-)created."""
    for sql in [*drop_sql(schema_editor.connection.vendor), *create_sql(schema_editor.connection.vendor)]:
        schema_editor.execute(sql, params=None)


def drop(apps: Any, schema_editor: Any) -> None:
    for sql in drop_sql(schema_editor.connection.vendor):
        schema_editor.execute(sql, params=None)


def triggers(connection: Any) -> set[str]:
    """The names of this module's triggers in the connected database."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname LIKE %s AND NOT tgisinternal", [PREFIX + "%"])
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s", [PREFIX + "%"])
        return {row[0] for row in cursor.fetchall()}


def expected(vendor: str) -> set[str]:
    if vendor == "postgresql":
        return {f"{PREFIX}{name}" for name, *_ in RULES}
    return {f"{PREFIX}{name}_{i}" for name, _, event, *_ in RULES for i in range(len(event.split(" OR ")))}
