"""Background task: bring the audit tallies up to date (``apps.pages.audit_totals.refresh_tallies``), so the national
audit page groups only the records since the last run. Queued every few minutes by ``enqueue_scheduled audit``;
idempotent (the tallies' mark says what is counted), so an extra or repeated run counts nothing twice."""

from __future__ import annotations

from django.tasks import task

from apps.pages.audit_totals import refresh_tallies


@task
def refresh_audit_tallies() -> str:
    return f"audit tallies up to {refresh_tallies():%Y-%m-%d %H:%M:%S}"
