"""The ledger is immutable in the database too: triggers refuse UPDATE and DELETE of ledger rows (and TRUNCATE on
PostgreSQL) whoever sends the SQL, not only through the ORM's save/delete guard."""

from django.db import migrations

from apps.core.dbimmutable import protect, unprotect

TABLE = "funding_ledgerentry"


class Migration(migrations.Migration):
    dependencies = [("funding", "0001_initial")]

    operations = [migrations.RunPython(protect(TABLE), unprotect(TABLE), elidable=False)]
