"""Changes made outside a request are attributed to someone real: a management command to its name and the OS user
who ran it, the national data refresh task to itself; scoring runs, scenario runs and data loads are audited."""

from __future__ import annotations

import getpass
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.core import audit
from apps.core.models import AuditRecord

pytestmark = pytest.mark.django_db

OPERATOR = getpass.getuser()


def _since(pk: int, model: str) -> list[AuditRecord]:
    return list(AuditRecord.objects.filter(pk__gt=pk, model=model).order_by("pk"))


def _last() -> int:
    return AuditRecord.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_a_management_command_is_audited_as_its_name_and_os_user(personas):
    start = _last()
    call_command("create_api_token", personas["icb_a"].username, "--name", "nightly export", stdout=io.StringIO())
    (record,) = _since(start, "api.ApiToken")
    assert record.actor == f"command:create_api_token by {OPERATOR}" and record.actor_id is None


def test_scoring_runs_scenarios_and_data_loads_are_hooked_to_the_trail():
    from apps.datasets.models import ImportLog
    from apps.indicators.models import ScoringRun
    from apps.targeting.models import Scenario

    for model in (ScoringRun, Scenario, ImportLog):
        assert audit.is_audited(model) and audit.is_connected(model), model


def test_making_a_scoring_run_current_is_recorded_with_its_actor():
    from apps.indicators.scoring_runs import current_run, make_run_current

    run = current_run()
    assert run is not None
    start = _last()
    with audit.acting_as(audit.command_actor("score_practices")):
        make_run_current(run)
    records = _since(start, "indicators.ScoringRun")
    assert [r.actor for r in records] == [f"command:score_practices by {OPERATOR}"] * len(records) and records
    assert any(r.object_pk == str(run.pk) and "made the current" in str(r.changes) for r in records)


def test_a_refused_data_load_is_recorded_with_the_command_and_operator(tmp_path: Path):
    bad = tmp_path / "cqc.csv"
    bad.write_text("not,the,right,columns\n1,2,3,4\n")
    start = _last()
    with pytest.raises((CommandError, SystemExit)):
        call_command("import_national", "cqc", "--path", str(bad), stdout=io.StringIO(), stderr=io.StringIO())
    records = _since(start, "datasets.ImportLog")
    assert records and {r.actor for r in records} == {f"command:import_national by {OPERATOR}"}


def test_the_refresh_task_names_itself_as_the_actor(monkeypatch):
    from apps.datasets import tasks

    seen = []

    def refresh(triggered_by: str) -> None:
        seen.append(audit._actor.get()[1])
        raise RuntimeError("stop here: only the actor is under test")

    monkeypatch.setattr(tasks, "run_refresh", refresh)
    with pytest.raises(RuntimeError):
        tasks.refresh_national_data.call()
    assert seen == [f"task:refresh_national_data by {OPERATOR}"]
