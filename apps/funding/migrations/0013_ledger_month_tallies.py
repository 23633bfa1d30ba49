"""The ledger's running monthly totals (``apps.funding.ledger_writes.LedgerMonth``), started from the entries there
are. From here on the ledger's manager adds each new entry to them in its own transaction."""

import django.db.models.deletion
from django.db import migrations, models

from apps.funding.ledger_writes import sums_of


def start_tallies(apps, schema_editor):
    LedgerEntry = apps.get_model("funding", "LedgerEntry")
    LedgerMonth = apps.get_model("funding", "LedgerMonth")
    db = schema_editor.connection.alias
    rows = (
        LedgerEntry.objects.using(db)
        .order_by()
        .only("budget_id", "icb_id", "kind", "created_at", "amount_pence")
        .iterator(chunk_size=5000)
    )
    LedgerMonth.objects.using(db).bulk_create(
        [
            LedgerMonth(budget_id=b, icb_id=i, kind=k, month=m, amount_pence=a, entries=n)
            for (b, i, k, m), (a, n) in sums_of(rows).items()
        ],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("funding", "0012_icb_on_ledger_entries_and_payments"),
        ("practices", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="LedgerMonth",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(max_length=14)),
                ("month", models.DateField(help_text="The month's first day (Europe/London)")),
                ("amount_pence", models.BigIntegerField()),
                ("entries", models.PositiveIntegerField()),
                (
                    "budget",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="funding.budget",
                    ),
                ),
                (
                    "icb",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="practices.icb",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["icb", "month"], name="ledger_month_icb")],
                "constraints": [models.UniqueConstraint(fields=("budget", "kind", "month"), name="uniq_ledger_month")],
            },
        ),
        migrations.RunPython(start_tallies, migrations.RunPython.noop, elidable=False),
    ]
