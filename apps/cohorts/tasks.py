"""Background task: allocate the places of every cohort whose closing date for interest has passed.

Scheduled daily by ``manage.py enqueue_scheduled cohorts`` (docs/runbook.md). Idempotent: a cohort is allocated once
(its status moves from open to allocated in the same transaction), so a second run finds nothing to do.
"""

from __future__ import annotations

from django.tasks import task

from apps.cohorts.services import allocate_due
from apps.core import audit


@task
def allocate_closed_cohorts() -> dict[str, int]:
    """Allocate every open cohort past its closing date that has interest. Returns how many were allocated."""
    with audit.acting_as(audit.command_actor("task:allocate_closed_cohorts")):
        return {"allocated": allocate_due()}
