"""The day-one import of an ICB's existing caseload: each uploaded file (kept, with its SHA-256, who, when and how
it ended) and the link from the ICB's own case reference to the case it became (the natural key that makes a
second import of the same rows create nothing new)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.cases.models import Case
from apps.practices.models import ICB


class CaseloadUpload(models.Model):
    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded, not imported"
        COMMITTING = "committing", "Importing"  # a big file's commit, queued for or running in the worker
        COMMITTED = "committed", "Imported"
        FAILED = "failed", "Import refused"

    icb = models.ForeignKey(ICB, on_delete=models.PROTECT, related_name="caseload_uploads")
    filename = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.PositiveIntegerField()
    rows = models.PositiveIntegerField(default=0)
    mapping = models.JSONField(default=dict, help_text="column key → the file's header that holds it")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED)
    outcome = models.JSONField(default=dict, help_text="Counts by action, and the reason a commit was refused")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)
    committed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    committed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.sha256[:12]}) for {self.icb_id}"


class StoredFile(models.Model):
    """The uploaded bytes, apart from the upload row so the audit trail records the upload without its content."""

    upload = models.OneToOneField(CaseloadUpload, on_delete=models.CASCADE, related_name="file")
    content = models.BinaryField()
    plan = models.JSONField(
        default=dict,
        help_text="A big file's preview, worked out in the background: the mapping it used, rows done and total, and "
        "each row's outcome once finished",
    )

    def __str__(self) -> str:
        return f"File of upload {self.upload_id}"


class ImportedCase(models.Model):
    """An ICB's own case reference and the case an import made of it; ``fingerprint`` is the row as last imported."""

    icb = models.ForeignKey(ICB, on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=40)
    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="imported_as")
    upload = models.ForeignKey(CaseloadUpload, on_delete=models.PROTECT, related_name="cases")
    fingerprint = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["icb", "reference"], name="uniq_imported_case_reference")]

    def __str__(self) -> str:
        return f"{self.reference} → case {self.case_id}"
