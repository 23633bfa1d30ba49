"""The ICB on each ledger entry and payment (its budget's), backfilled, indexed for the newest-first lists, and kept
in agreement with the budget by the database (``apps.funding.icb_rule``).

The ledger refuses every UPDATE in the database (``apps.core.dbimmutable``), and the backfill is one. The immutability
triggers are dropped for the backfill and put back, unchanged, by this migration, inside its one transaction (both
databases roll DDL back): no other connection sees the ledger unprotected, and a failed backfill leaves the triggers
as they were. A trigger that let a NULL ICB be set once was the other way; it would leave an exception to "never
updated" in the ledger's triggers for ever, for the sake of one migration, so it was not taken. SQLite re-creates the
table for the ``NOT NULL`` change, which drops every trigger on it: both sets are created again at the end.
"""

import django.db.models.deletion
from django.db import migrations, models

from apps.core.dbimmutable import protect, unprotect
from apps.funding import icb_rule

LEDGER = "funding_ledgerentry"


def backfill(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {LEDGER} SET icb_id = (SELECT b.icb_id FROM funding_budget b WHERE b.id = {LEDGER}.budget_id)"  # noqa: S608
        )
        cursor.execute(
            "UPDATE funding_payment SET icb_id = (SELECT b.icb_id FROM funding_commitment c "
            "JOIN funding_budget b ON b.id = c.budget_id WHERE c.id = funding_payment.commitment_id)"
        )
        if schema_editor.connection.vendor == "postgresql":
            # the foreign keys' deferred checks of the updated rows now, or PostgreSQL refuses the ALTER TABLE below
            # ("pending trigger events")
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _icb(null):
    return models.ForeignKey(
        db_index=False,
        editable=False,
        null=null,
        on_delete=django.db.models.deletion.PROTECT,
        related_name="+",
        to="practices.icb",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("funding", "0011_merge_publish_recipients"),
        ("practices", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(unprotect(LEDGER), protect(LEDGER), elidable=False),
        migrations.AddField(model_name="ledgerentry", name="icb", field=_icb(True)),
        migrations.AddField(model_name="payment", name="icb", field=_icb(True)),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(model_name="ledgerentry", name="icb", field=_icb(False)),
        migrations.AlterField(model_name="payment", name="icb", field=_icb(False)),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(fields=["icb", "-created_at", "-id"], name="ledger_icb_newest"),
        ),
        migrations.AddIndex(
            model_name="payment",
            index=models.Index(fields=["icb", "-requested_at", "-id"], name="payment_icb_newest"),
        ),
        migrations.AddIndex(
            model_name="payment",
            index=models.Index(fields=["icb", "status", "-requested_at", "-id"], name="payment_icb_status_newest"),
        ),
        migrations.RunPython(protect(LEDGER), unprotect(LEDGER), elidable=False),
        migrations.RunPython(icb_rule.create, icb_rule.drop, elidable=False),
    ]
