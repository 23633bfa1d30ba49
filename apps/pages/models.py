"""The audit trail's totals, kept as they grow (``apps.pages.audit_totals``): the national audit page reads these
instead of grouping every case-level audit record on each request (issue 19: hundreds of thousands of records)."""

from __future__ import annotations

from django.db import models


class AuditTally(models.Model):
    """How many records of one kind were created, changed or deleted in one month by people of one ICB, and the
    union of the fields they changed. Only ever added to: audit records are never rewritten or removed."""

    month = models.DateField()
    icb = models.CharField(max_length=200)
    model = models.CharField(max_length=100)
    action = models.CharField(max_length=6)
    count = models.BigIntegerField(default=0)
    fields = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "icb", "model", "action"], name="one_audit_tally_per_group")
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.icb} {self.action} {self.model}: {self.count}"


class AuditTallyMark(models.Model):
    """How far the tallies reach: every audit record stamped at or before ``upto`` is counted in them (one row)."""

    upto = models.DateTimeField()

    def __str__(self) -> str:
        return f"audit tallies up to {self.upto:%Y-%m-%d %H:%M:%S}"
