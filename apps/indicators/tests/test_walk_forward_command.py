"""``backtest --walk-forward`` stores historical runs that never become current; ``export_scores`` writes any run."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from apps.indicators.history_runs import WALK_FORWARD_BY
from apps.indicators.models import ScoringRun
from conftest import kept_for_the_module

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def walk_forward(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """Run once for the module (7 s): its tests only read the runs it stores."""
    with kept_for_the_module(django_db_blocker):
        out = io.StringIO()
        call_command("backtest", walk_forward=True, as_of=[date(2023, 4, 1), date(2021, 4, 1)], boot=50, stdout=out)
        yield out.getvalue()


def test_walk_forward_stores_one_run_per_year_and_leaves_the_current_run_alone(walk_forward: str) -> None:
    current = ScoringRun.objects.get(is_current=True)
    runs = ScoringRun.objects.filter(created_by=WALK_FORWARD_BY).order_by("as_of")
    assert [r.as_of for r in runs] == [date(2021, 4, 1), date(2023, 4, 1)]
    assert not any(r.is_current for r in runs)
    assert ScoringRun.objects.get(is_current=True).pk == current.pk
    assert "2023-04-01 closure" in walk_forward and "none made current" in walk_forward
    year = runs[1].backtest
    assert year["training_dates"] == ["2017-04-01", "2018-04-01", "2019-04-01", "2020-04-01", "2021-04-01"]
    # the 2023 run used only files published by then (payments 2021-22, not 2022-23)
    assert "2022-23" not in runs[1].data_periods["payments_per_weighted_patient"]
    methods = {(r["outcome"], r["method"]) for r in year["walk_forward"]}
    assert ("closure", "list size alone") in methods and ("merger", "model (logistic, earlier years)") in methods


def test_the_back_test_page_shows_the_walk_forward_table(walk_forward: str, client_for) -> None:  # type: ignore[no-untyped-def]
    html = client_for("national").get(reverse("indicators:backtest")).content.decode()
    assert "Out of time: the walk-forward back-test" in html
    assert "2021-04-01" in html and "How it was computed" in html
    assert "inputs chosen on those years: " in html  # the 2023 model chose its inputs on 2017-2021
    assert html.count("old rule count (flags)") == 6  # two years x three outcomes


def test_export_scores_by_as_of_date_writes_every_component(walk_forward: str, tmp_path: Path) -> None:
    target = tmp_path / "scores.csv"
    call_command("export_scores", "2023-04-01", str(target), stdout=io.StringIO())
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert len(rows) > 6000
    header = list(rows[0])
    assert header[:5] == ["ods_code", "score", "rank", "coverage", "flag_count"]
    assert "list_size_contribution" in header and "model_probability" in header
    assert any(h.startswith("model_log_list") for h in header)
    ranked = [int(r["rank"]) for r in rows if r["rank"]]
    assert ranked == sorted(ranked) and ranked[0] == 1


def test_export_of_a_date_without_a_run_scores_and_stores_a_historical_run(tmp_path: Path) -> None:
    current = ScoringRun.objects.get(is_current=True).pk
    target = tmp_path / "scores.csv"
    call_command("export_scores", "2022-04-01", str(target), stdout=io.StringIO())
    run = ScoringRun.objects.filter(as_of=date(2022, 4, 1)).get()
    assert not run.is_current and ScoringRun.objects.get(is_current=True).pk == current
    assert target.read_text().count("\n") == run.practice_count + 1


@pytest.mark.parametrize("ref", ["999999", "yesterday", "2023-02-30"])
def test_export_of_an_unknown_run_is_refused(ref: str, tmp_path: Path) -> None:
    with pytest.raises(CommandError):
        call_command("export_scores", ref, str(tmp_path / "x.csv"), stdout=io.StringIO())
    assert not (tmp_path / "x.csv").exists()


def test_backtest_without_walk_forward_says_what_to_do() -> None:
    with pytest.raises(CommandError, match="--walk-forward"):
        call_command("backtest", stdout=io.StringIO())


def test_the_api_gives_an_icb_its_practices_in_a_historical_run(walk_forward: str, client_for) -> None:  # type: ignore[no-untyped-def]
    from apps.pages.testing import ICB_A

    run = ScoringRun.objects.get(created_by=WALK_FORWARD_BY, as_of=date(2023, 4, 1))
    url = f"/api/v1/icbs/{ICB_A}/scoring-runs/2023-04-01/scores"
    body = client_for("icb_a").get(url).json()
    assert (body["run_id"], body["is_current"]) == (run.pk, False)
    assert "model_probability" in body["columns"] and body["scores"]
    codes = {r["ods_code"] for r in body["scores"]}
    assert codes and codes <= set(run.scores.filter(icb__code=ICB_A).values_list("practice__code", flat=True))
    csv_text = client_for("icb_a").get(url, {"format": "csv"}).content.decode()
    assert csv_text.splitlines()[0].startswith("ods_code,score,rank")
    assert client_for("icb_b").get(url).status_code == 403
    assert client_for("icb_a").get(f"/api/v1/icbs/{ICB_A}/scoring-runs/1999-04-01/scores").status_code == 404


def test_the_domino_check_prints_the_three_methods_per_year() -> None:
    out = io.StringIO()
    call_command("backtest", domino=True, stdout=out)
    text = out.getvalue()
    assert "simulator (calibrated on earlier closures)" in text and "naive: 5 nearest" in text
    assert "2020/21" in text


def test_support_evaluation_page_and_command_say_not_enough_data_yet(client_for) -> None:  # type: ignore[no-untyped-def]
    from apps.cases.support_evaluation import supported_practices

    supported = supported_practices()
    assert supported.height >= 1  # the demo cases include approved packages, approved recently
    html = client_for("national").get(reverse("cases:support_evaluation")).content.decode()
    assert "How it is computed" in html and "not enough data yet" in html
    out = io.StringIO()
    call_command("evaluate_support", stdout=out)
    assert "not enough data yet" in out.getvalue()
    assert client_for("practice_x").get(reverse("cases:support_evaluation")).status_code == 403
