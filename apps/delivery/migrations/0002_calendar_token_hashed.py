"""Calendar feed tokens are stored as a SHA-256 fingerprint, like API tokens, instead of in clear.

Existing tokens are revoked, not hashed in place: until now the clear value was also written to the audit trail
(AuditRecord.changes, immutable by design) whenever a token was made, so every existing address must be assumed to
be readable by anyone with a copy of the database or a backup. Hashing them would keep those addresses working;
revoking them makes the copies worthless. Users make a new address on the Calendar page (one click), which is shown
once; calendar apps subscribed to an old address get "not found" until it is replaced.
"""

from typing import Any

from django.db import migrations, models


def revoke_clear_tokens(apps: Any, schema_editor: Any) -> None:
    apps.get_model("delivery", "CalendarToken").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("delivery", "0001_initial")]

    operations = [
        migrations.RunPython(revoke_clear_tokens, migrations.RunPython.noop, elidable=False),
        migrations.RemoveField(model_name="calendartoken", name="token"),
        migrations.AddField(
            model_name="calendartoken",
            name="token_sha256",
            field=models.CharField(default="", max_length=64, unique=True),
            preserve_default=False,
        ),
    ]
