"""One ImportLog row per load of a national file: what was read, created, updated and skipped, and why."""

from __future__ import annotations

from django.db import models


class ImportLog(models.Model):
    class Status(models.TextChoices):
        SUCCESS = "success", "Loaded"
        UNCHANGED = "unchanged", "Already loaded (file unchanged)"
        FAILED = "failed", "Failed, nothing changed"
        DRY_RUN = "dry_run", "Dry run, nothing saved"
        # Written when a load starts, so an attempt cut short (killed, out of memory) still leaves a row; the next
        # import marks it interrupted (services.mark_interrupted_imports). Its transaction was never committed.
        RUNNING = "running", "Running"
        INTERRUPTED = "interrupted", "Interrupted, nothing changed"

    dataset = models.CharField(max_length=40, db_index=True)
    file_name = models.CharField(max_length=300)
    sha256 = models.CharField(max_length=64)
    layout = models.CharField(max_length=40, blank=True)
    period = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    rows_read = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    skip_reasons = models.JSONField(default=dict, help_text="reason → count")
    skip_examples = models.JSONField(default=list, help_text="first skipped rows, e.g. 'row 12, column X: …'")
    message = models.TextField(blank=True)
    triggered_by = models.CharField(max_length=150, blank=True)
    # When the file was published, read by the as-of gate (analytics.publications.dated): for a registry file, the
    # registry's date, recorded at import; for a file fetched by manage.py fetch_national, where it came from and
    # its HTTP Last-Modified header, else the day it was fetched, as published_basis says.
    source_url = models.URLField(max_length=500, blank=True)
    published = models.DateField(null=True, blank=True)
    published_basis = models.CharField(max_length=400, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["dataset", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.dataset} {self.period} {self.status}"

    @property
    def duration_ms(self) -> int:
        return int((self.finished_at - self.started_at).total_seconds() * 1000)
