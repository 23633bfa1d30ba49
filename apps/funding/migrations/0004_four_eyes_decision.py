"""Payments and virements share one four-eyes decision (``FourEyesDecision``): the fields stay where they were (same
names, same columns, so every row keeps its data); the database now refuses a decision by the person who asked.

The services have always refused that, so no row should break the new check; if one does (a row edited by hand),
the migration stops naming it instead of failing on an anonymous constraint error.
"""

from django.conf import settings
from django.db import migrations, models


def refuse_self_decided_rows(apps, schema_editor):  # noqa: ANN001, ANN201 - the migration-operation signature
    for name in ("Payment", "Virement"):
        model = apps.get_model("funding", name)
        bad = list(
            model.objects.filter(decided_by__isnull=False, decided_by=models.F("requested_by")).values_list(
                "pk", flat=True
            )
        )
        if bad:
            raise RuntimeError(
                f"{name} rows {bad} were decided by the person who requested them: correct them before migrating"
            )


class Migration(migrations.Migration):
    dependencies = [
        ("funding", "0003_merge_ledger_triggers_and_invoice_rule"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(refuse_self_decided_rows, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="payment",
            name="decision_note",
            field=models.TextField(blank=True, help_text="The decider's reason (needed to reject)"),
        ),
        migrations.AlterField(
            model_name="virement",
            name="decision_note",
            field=models.TextField(blank=True, help_text="The decider's reason (needed to reject)"),
        ),
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("decided_by__isnull", True),
                    models.Q(("decided_by", models.F("requested_by")), _negated=True),
                    _connector="OR",
                ),
                name="funding_payment_four_eyes",
            ),
        ),
        migrations.AddConstraint(
            model_name="virement",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("decided_by__isnull", True),
                    models.Q(("decided_by", models.F("requested_by")), _negated=True),
                    _connector="OR",
                ),
                name="funding_virement_four_eyes",
            ),
        ),
    ]
