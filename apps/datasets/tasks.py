"""Background task: the monthly national data refresh (import every file, then score and compute ripple).

Scheduled monthly by ``manage.py enqueue_scheduled refresh`` (docs/runbook.md); see
:func:`apps.datasets.refresh.refresh_national_data` for what it does and how a failed file is handled. It is not
retried automatically: a file that fails to import fails the same way until someone replaces it, and the failed run
on the national "Background tasks" page names the file and the reason.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.tasks import task

from apps.core import audit
from apps.datasets.refresh import refresh_national_data as run_refresh

# Its own queue, so a refresh that takes minutes never holds up notification emails behind it: production runs one
# worker per queue (docs/runbook.md); bin/serve runs one worker for all queues.
NATIONAL_QUEUE = "national"


@task(queue_name=NATIONAL_QUEUE)
def refresh_national_data() -> dict[str, Any]:
    """Run the national data refresh. Returns what each import did and the scoring and ripple outcome."""
    # The worker runs as `command:db_worker`; the refresh's changes are attributed to the task itself.
    with audit.acting_as(audit.command_actor("task:refresh_national_data")):
        return asdict(run_refresh(triggered_by="background task"))
