"""Background task: send the delivery reminders that are due (sessions and meetings tomorrow, overdue session logs).

Scheduled daily by ``manage.py enqueue_scheduled reminders`` (docs/runbook.md). Idempotent: a ``ReminderSent`` row
per (kind, person, session or meeting) makes a second run send nothing new; the emails themselves go through
``notify`` and so through the notification-email task, enqueued when the reminders' transaction commits.
"""

from __future__ import annotations

from dataclasses import asdict

from django.tasks import task

from apps.delivery.reminders import send_reminders


@task
def send_due_reminders(overdue_days: int = 3) -> dict[str, int]:
    """Send every reminder due now. Returns the counts sent of each kind."""
    return asdict(send_reminders(overdue_days=overdue_days))
