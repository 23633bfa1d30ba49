"""Background task: work out a queued optimiser scenario (seconds to a quarter of a minute; too long for a request).

Queued by ``apps.targeting.scenarios.queue_scenario`` with the scenario's ID; idempotent (a scenario already worked
out is left alone), so a retried or recovered run does no harm.
"""

from __future__ import annotations

from django.tasks import task

from apps.targeting import scenarios


@task
def solve_scenario(scenario_id: int) -> str:
    """Solve scenario ``scenario_id`` and store the result; returns its final state."""
    return scenarios.solve_queued(scenario_id)
