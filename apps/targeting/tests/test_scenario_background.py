"""Optimiser scenarios run off the request (issue 19 §5): the page saves the inputs and queues the solve, shows the
progress and reloads itself; the worker works it out and stores a result equal to a direct solve."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import pytest
from django.tasks import TaskResultStatus
from django.urls import reverse
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from apps.targeting import scenarios
from apps.targeting.models import Scenario

pytestmark = pytest.mark.django_db

TASK_PATH = "apps.targeting.tasks.solve_scenario"
FORM = {"name": "Spring plan", "scope": "icb", "budget": "300000", "coach_hours": "1500", "practice_cap": "25000"}


@pytest.fixture
def solves(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts every optimiser solve (the real one still runs); reading the register for one fails the test unless a
    solve follows, so a request that only queues must do neither."""
    calls: list[int] = []
    real_optimise, real_candidates = scenarios.optimise, scenarios.scenario_candidates
    reads: list[int] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real_optimise(*args, **kwargs)

    def reading(*args: Any, **kwargs: Any) -> Any:
        reads.append(1)
        return real_candidates(*args, **kwargs)

    monkeypatch.setattr(scenarios, "optimise", counting)
    monkeypatch.setattr(scenarios, "scenario_candidates", reading)
    yield calls
    assert len(reads) == len(calls), "the register was read for a solve that did not happen"


@pytest.fixture
def run_worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Run the database worker in this process until the queue is empty (its batch mode), as production runs it.
    Its between-tasks connection check would close the test's transaction, so that one step is skipped."""
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    kinds = [signal.SIGINT, signal.SIGTERM, signal.SIGQUIT]
    saved = {k: signal.getsignal(k) for k in kinds}

    def run() -> None:
        db_worker.Worker(
            queue_names=["default"],
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="test-worker",
            excluded_queue_names=[],
        ).run()

    yield run
    for k, handler in saved.items():
        signal.signal(k, handler)


def test_the_page_queues_the_scenario_and_the_worker_stores_what_a_direct_solve_gives(
    client_for, personas, database_tasks, solves, run_worker
):
    client = client_for("icb_a")
    response = client.post(reverse("targeting:scenarios"), FORM)
    assert response.status_code == 302
    s = Scenario.objects.get()
    assert solves == [] and s.state == Scenario.State.QUEUED and not s.practice_results
    queued = DBTaskResult.objects.get(task_path=TASK_PATH)
    assert queued.status == TaskResultStatus.READY and queued.args_kwargs["args"] == [s.pk]

    page = client.get(response["Location"]).content.decode()
    assert "Waiting for the background worker" in page and 'http-equiv="refresh"' in page and "Reload now" in page
    assert "Optimised plan against the greedy baseline" not in page
    # nothing to download until it is worked out
    assert client.get(response["Location"], {"download": "csv"})["Content-Type"].startswith("text/html")

    run_worker()
    assert len(solves) == 1
    assert DBTaskResult.objects.get(pk=queued.pk).status == TaskResultStatus.SUCCESSFUL
    s.refresh_from_db()
    assert s.state == Scenario.State.DONE and s.started_at and s.finished_at and s.progress == ""

    direct = scenarios.run_scenario(
        personas["icb_a"],
        name="direct",
        scope=s.scope,
        icb=s.icb,
        budget_pence=s.budget_pence,
        coach_hours=s.coach_hours,
        practice_cap_pence=s.practice_cap_pence,
    )
    for field in ("feasible", "status", "spend_pence", "practices_funded", "packages", "greedy_objective", "binding"):
        assert getattr(s, field) == getattr(direct, field), field
    assert s.objective == pytest.approx(direct.objective)
    assert [r["code"] for r in s.funded_results] == [r["code"] for r in direct.funded_results]

    page = client.get(response["Location"]).content.decode()
    assert "Optimised plan against the greedy baseline" in page and 'http-equiv="refresh"' not in page


def test_variants_are_queued_and_the_comparison_fills_in_as_the_worker_solves_them(
    client_for, database_tasks, solves, run_worker
):
    client = client_for("icb_a")
    client.post(reverse("targeting:scenarios"), FORM)
    run_worker()
    s = Scenario.objects.get()
    response = client.post(reverse("targeting:variants", args=[s.ref]))
    assert response.status_code == 302 and len(solves) == 1  # only the first scenario's, in the worker
    assert DBTaskResult.objects.filter(task_path=TASK_PATH, status=TaskResultStatus.READY).count() == 4
    assert set(Scenario.objects.filter(parent=s).values_list("state", flat=True)) == {Scenario.State.QUEUED}

    page = client.get(response["Location"]).content.decode()
    assert "4 of 5 scenarios are still being worked out" in page and 'http-equiv="refresh"' in page
    assert "Waiting for the background worker" in page

    run_worker()
    assert len(solves) == 5
    page = client.get(response["Location"]).content.decode()
    assert "still being worked out" not in page and 'http-equiv="refresh"' not in page
    assert "Spring plan (budget +20%)" in page and "Waiting for the background worker" not in page


def test_a_scenario_that_cannot_be_solved_is_marked_failed_with_the_reason(client_for, database_tasks, run_worker):
    client = client_for("icb_a")
    client.post(reverse("targeting:scenarios"), FORM)
    s = Scenario.objects.get()
    # the register changed under it: the ICB scenario lost its ICB before the worker got to it
    Scenario.objects.filter(pk=s.pk).update(icb=None)
    run_worker()
    s.refresh_from_db()
    assert s.state == Scenario.State.FAILED and s.message == "An ICB scenario needs an ICB"


def test_an_optimiser_crash_fails_the_task_run_and_says_so_on_the_scenario(
    client_for, database_tasks, run_worker, monkeypatch
):
    def crash(*args: Any, **kwargs: Any) -> Any:
        raise MemoryError("solver ran out of memory")

    monkeypatch.setattr(scenarios, "optimise", crash)
    client = client_for("icb_a")
    response = client.post(reverse("targeting:scenarios"), FORM)
    run_worker()
    s = Scenario.objects.get()
    assert s.state == Scenario.State.FAILED and "stopped with an error" in s.message
    run = DBTaskResult.objects.get(task_path=TASK_PATH)
    assert run.status == TaskResultStatus.FAILED and "MemoryError" in run.traceback
    page = client.get(response["Location"]).content.decode()
    assert "This scenario could not be worked out" in page and 'http-equiv="refresh"' not in page


def test_solving_again_leaves_a_worked_out_scenario_alone(client_for, solves):
    # the immediate backend (the test default) solves at once; a retried or recovered run must not solve again
    client_for("icb_a").post(reverse("targeting:scenarios"), FORM)
    s = Scenario.objects.get()
    assert s.state == Scenario.State.DONE and len(solves) == 1
    assert scenarios.solve_queued(s.pk) == Scenario.State.DONE and len(solves) == 1
