"""Targeting pages: content, bad input (form errors, nothing saved), downloads, and the service others call."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.pages.testing import ICB_A
from apps.targeting import services
from apps.targeting.models import RippleScore, Scenario

pytestmark = pytest.mark.django_db

PRACTICE = "A81001"  # The Densham Surgery, Stockton-on-Tees (ICB A)


def test_dispersal_page_shows_the_map_and_the_neighbours_table(client_for):
    response = client_for("icb_a").get(reverse("targeting:dispersal", args=[PRACTICE]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "If The Densham Surgery closed" in html
    assert "app-map" in html and "Pressure score" in html  # the map with its legend
    assert "Who would absorb the patients, nearest first" in html
    assert "THE DOVECOT SURGERY" in html  # the nearest neighbour
    assert "Crosses threshold" in html


def test_dispersal_parameters_change_the_result(client_for):
    url = reverse("targeting:dispersal", args=[PRACTICE])
    wide = client_for("icb_a").get(url, {"max_distance_km": "8", "cap_percent": "20"}).content.decode()
    near = client_for("icb_a").get(url, {"max_distance_km": "0.5", "cap_percent": "20"}).content.decode()
    row_link = reverse("practices:detail", args=["A81006"])  # Tennant Street, 0.9 km away: a row in the table
    assert row_link in wide
    assert row_link not in near


def test_bad_dispersal_parameters_are_refused_with_errors(client_for):
    url = reverse("targeting:dispersal", args=[PRACTICE])
    response = client_for("icb_a").get(url, {"max_distance_km": "abc", "cap_percent": "500", "gp_threshold": "-3"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "There is a problem" in html
    assert "Enter maximum distance (km) as a number" in html
    assert "Enter a cap between 1% and 200%" in html
    assert "Enter a threshold between" in html
    assert "app-map" not in html


def test_dispersal_download_lists_every_neighbour(client_for):
    response = client_for("icb_a").get(reverse("targeting:dispersal", args=[PRACTICE]), {"download": "csv"})
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("ods_code,name,distance_km,patients_received,new_list")
    assert len(lines) > 5


def test_ripple_page_ranks_the_icbs_practices(client_for):
    response = client_for("icb_a").get(reverse("targeting:icb_ripple", args=[ICB_A]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Practices by ripple score" in html
    top = RippleScore.objects.filter(icb__code=ICB_A, run__is_current=True).order_by("icb_rank").first()
    assert top is not None and top.practice.display_name in html


def test_group_suggestion_names_the_practices_and_prices_the_lines(client_for):
    response = client_for("icb_a").get(reverse("targeting:icb_ripple", args=[ICB_A]), {"practice": PRACTICE})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Practices in the proposed group" in html and "Struggling practice" in html
    assert "Priced lines (shared by the group)" in html
    assert "Open a support case for" in html or "Build this group package on" in html


def test_group_suggestion_refuses_a_practice_of_another_icb(client_for):
    response = client_for("icb_a").get(reverse("targeting:icb_ripple", args=[ICB_A]), {"practice": "H85001"})
    assert response.status_code == 400
    assert "Choose a practice of this ICB" in response.content.decode()


def test_suggest_group_package_service_returns_a_priced_proposal():
    from analytics.menu.offers import load_menu

    package = services.suggest_group_package(PRACTICE.lower())
    assert package.practice_code == PRACTICE
    assert package.members[0].code == PRACTICE and len(package.members) >= 2
    group_codes = {o.code for o in load_menu() if o.group}
    assert package.lines and all(line.offer_code in group_codes for line in package.lines)
    assert package.total_pence == sum(line.cost_pence for line in package.lines)


def _post(client, **overrides):
    data = {"name": "Spring plan", "scope": "icb", "budget": "300000", "coach_hours": "1500", "practice_cap": "25000"}
    data.update(overrides)
    return client.post(reverse("targeting:scenarios"), data)


def test_icb_scenario_is_run_saved_and_explained(client_for, personas):
    response = _post(client_for("icb_a"))
    assert response.status_code == 302
    s = Scenario.objects.get(name="Spring plan")
    assert s.created_by == personas["icb_a"] and s.icb.code == ICB_A
    assert s.feasible and s.spend_pence <= 300_000_00 and s.hours_used <= 1500
    assert s.objective >= (s.greedy_objective or 0) - 1e-9
    assert s.gap is not None and s.gap <= 0.001 + 1e-12
    page = client_for("icb_a").get(reverse("targeting:scenario", args=[s.ref])).content.decode()
    assert "Optimised plan against the greedy baseline" in page
    assert "Funded: need" in page
    everyone = client_for("icb_a").get(reverse("targeting:scenario", args=[s.ref]), {"show": "all"}).content.decode()
    assert "Not funded" in everyone
    csv = client_for("icb_a").get(reverse("targeting:scenario", args=[s.ref]), {"download": "csv"}).content.decode()
    assert csv.splitlines()[0].startswith("ods_code,name,need,pressure")


@pytest.mark.parametrize(
    ("overrides", "field_error"),
    [
        ({"budget": "lots"}, "Enter the budget in pounds as a number"),
        ({"budget": "-5"}, "Enter the budget in pounds between"),
        ({"coach_hours": ""}, "Enter coach hours as a number"),
        ({"name": "  "}, "Give the scenario a name"),
        ({"practice_cap": "10"}, "Enter the per-practice cap in pounds between"),
        ({"floor_on": "1", "floor": "250"}, "Enter the floor as a percentage between"),
        ({"scope": "national"}, "ICB teams run scenarios for their own ICB"),
    ],
)
def test_bad_scenario_input_is_refused_and_nothing_is_saved(client_for, overrides, field_error):
    response = _post(client_for("icb_a"), **overrides)
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is a problem" in html and field_error in html
    assert not Scenario.objects.exists()


def test_unreachable_fairness_floor_is_saved_as_no_plan_with_the_reason(client_for):
    # A £50m budget cannot be 90% spent on one ICB's practices under a £1,000 cap.
    response = _post(client_for("icb_a"), budget="50000000", practice_cap="1000", floor_on="1", floor="90")
    assert response.status_code == 302
    s = Scenario.objects.get()
    assert not s.feasible
    page = client_for("icb_a").get(reverse("targeting:scenario", args=[s.ref])).content.decode()
    assert "No plan meets every constraint" in page


def test_variants_and_side_by_side_comparison(client_for):
    client = client_for("icb_a")
    _post(client)
    s = Scenario.objects.get()
    response = client.post(reverse("targeting:variants", args=[s.ref]))
    assert response.status_code == 302 and "/targeting/scenarios/compare/?" in response["Location"]
    variants = list(Scenario.objects.filter(parent=s).order_by("variant"))
    assert [v.variant for v in variants] == ["budget +20%", "budget −20%", "coach hours +20%", "coach hours −20%"]
    budget_up = next(v for v in variants if v.variant == "budget +20%")
    assert budget_up.budget_pence == round(s.budget_pence * 1.2)
    page = client.get(response["Location"]).content.decode()
    assert "Gain over greedy" in page and "Spring plan (budget +20%)" in page


def test_national_scenario_shows_icb_totals_and_no_practice_names(client_for):
    client = client_for("national")
    # A small national budget: the same 42 ICBs and 6,000-odd practices, solved in ~3 s (the £8.5m programme takes
    # 10–20 s; bench/optimise.py measures it)
    response = _post(client, scope="national", budget="100000", coach_hours="1000", practice_cap="25000")
    assert response.status_code == 302
    s = Scenario.objects.get()
    assert s.scope == "national" and len(s.icb_results) == 42
    assert s.gap is not None and s.gap <= 0.001 + 1e-12
    page = client.get(reverse("targeting:scenario", args=[s.ref])).content.decode()
    assert "By ICB" in page
    assert "THE DENSHAM SURGERY" not in page and "Funded: need" not in page
    csv = client.get(reverse("targeting:scenario", args=[s.ref]), {"download": "csv"}).content.decode()
    assert csv.splitlines()[0].startswith("icb_code,budget_pounds")
    # ICB users cannot open a national scenario
    assert client_for("icb_a").get(reverse("targeting:scenario", args=[s.ref])).status_code == 404


def test_compute_ripple_stores_a_score_per_open_practice_and_skips_when_up_to_date():
    out = io.StringIO()
    call_command("compute_ripple", if_stale=True, stdout=out)
    assert "up to date" in out.getvalue()
    run = services.current_run()
    assert RippleScore.objects.filter(run=run).count() > 6000
    call_command("compute_ripple", stdout=io.StringIO())
    assert RippleScore.objects.filter(run=run).count() > 6000


def test_run_scenario_command_saves_or_dry_runs(personas):
    out = io.StringIO()
    args = ["--name", "CLI", "--scope", "icb", "--icb", ICB_A, "--budget-pounds", "100000", "--coach-hours", "500"]
    call_command("run_scenario", *args, "--user", personas["icb_a"].username, "--dry-run", stdout=out)
    assert "dry run" in out.getvalue() and not Scenario.objects.exists()
    call_command("run_scenario", *args, "--user", personas["icb_a"].username, stdout=out)
    assert Scenario.objects.get().name == "CLI"
