"""Each ICB's payments counted and summed by status (``apps.funding.payment_totals``), started from the payments there
are; from here on ``Payment.save`` keeps them."""

import django.db.models.deletion
from django.db import migrations, models


def start_totals(apps, schema_editor):
    Payment = apps.get_model("funding", "Payment")
    PaymentTotal = apps.get_model("funding", "PaymentTotal")
    db = schema_editor.connection.alias
    rows = (
        Payment.objects.using(db)
        .order_by()
        .values_list("icb_id", "status")
        .annotate(n=models.Count("pk"), t=models.Sum("amount_pence"))
    )
    PaymentTotal.objects.using(db).bulk_create(
        [PaymentTotal(icb_id=i, status=s, payments=n, amount_pence=t) for i, s, n, t in rows]
    )


class Migration(migrations.Migration):
    dependencies = [
        ("funding", "0013_ledger_month_tallies"),
        ("practices", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="PaymentTotal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("status", models.CharField(max_length=10)),
                ("payments", models.IntegerField()),
                ("amount_pence", models.BigIntegerField()),
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
                "constraints": [models.UniqueConstraint(fields=("icb", "status"), name="uniq_payment_total")],
            },
        ),
        migrations.RunPython(start_totals, migrations.RunPython.noop, elidable=False),
    ]
