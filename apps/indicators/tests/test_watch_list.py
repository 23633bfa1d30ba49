"""Watch-list decisions: attributed, with a rationale, kept in immutable history, and only by the ICB's own team."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from apps.indicators import services
from apps.indicators.models import PracticeScore, WatchChange, WatchEntry
from apps.pages.testing import ICB_A
from apps.practices.models import Practice

pytestmark = pytest.mark.django_db


@pytest.fixture
def practice(personas):
    return personas["practice_x"].practice


def test_a_current_scoring_run_covers_the_open_practices():
    run = services.current_run()
    assert run is not None and run.practice_count > 6000
    assert PracticeScore.objects.filter(run=run, composite__isnull=False).count() > 6000
    s = PracticeScore.objects.filter(run=run).exclude(explanation=[]).first()
    assert {"title", "value_text", "national_pct", "contribution", "period", "sentence"} <= set(s.explanation[0])


def test_icb_user_adds_a_practice_with_a_rationale_and_it_is_attributed(personas, practice):
    before = date.today()  # a run passing midnight during the call gives either day (docs/testing.md, "Flakes fixed")
    entry = services.add_to_watch_list(personas["icb_a"], practice, "Two partners retiring in March; LMC concerned")
    after = date.today()
    assert entry.status == WatchEntry.Status.ADDED
    change = entry.changes.get()
    assert change.by == personas["icb_a"] and change.action == "add" and "partners retiring" in change.rationale
    assert entry.review_due in {before + timedelta(days=182), after + timedelta(days=182)}


def test_a_decision_without_a_rationale_is_refused_and_nothing_is_saved(personas, practice):
    with pytest.raises(ValidationError, match="rationale"):
        services.add_to_watch_list(personas["icb_a"], practice, "   ")
    assert not WatchEntry.objects.filter(practice=practice).exists()


def test_another_icbs_team_cannot_change_the_entry(personas, practice):
    with pytest.raises(PermissionDenied):
        services.add_to_watch_list(personas["icb_b"], practice, "Not our practice but trying anyway")
    for persona in ("national", "lmc", "provider", "practice_x"):
        with pytest.raises(PermissionDenied):
            services.set_local_rating(personas[persona], practice, "high", "Trying to rate from outside the ICB")


def test_remove_rate_and_review_all_land_in_history_newest_first(personas, practice):
    icb = personas["icb_a"]
    services.add_to_watch_list(icb, practice, "Local intelligence: sudden vacancies")
    services.set_local_rating(icb, practice, "high", "Vacancies unfilled after two months")
    services.record_review(icb, practice, "Six-monthly review: still high, support under way")
    services.remove_from_watch_list(icb, practice, "New partner joined; list stable")
    entry = WatchEntry.objects.get(practice=practice)
    assert entry.status == WatchEntry.Status.REMOVED and entry.local_rating == "high"
    assert [c.action for c in entry.changes.all()] == ["remove", "review", "rate", "add"]
    with pytest.raises(ValidationError, match="already removed"):
        services.remove_from_watch_list(icb, practice, "Removing it a second time")


def test_history_rows_cannot_be_edited_or_deleted(personas, practice):
    entry = services.add_to_watch_list(personas["icb_a"], practice, "Concern raised by the LMC")
    change = entry.changes.get()
    change.rationale = "rewritten"
    with pytest.raises(ValueError, match="immutable"):
        change.save()
    with pytest.raises(ValueError, match="immutable"):
        change.delete()


def test_watch_list_page_ranks_practices_and_gives_reasons(client_for):
    page = client_for("icb_a").get(reverse("indicators:watch_list", args=[ICB_A]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Watch list" in html and "nationally" in html
    run = services.current_run()
    rows = [r for r in services.watch_rows(run.scores.first().icb or Practice.objects.get(code="A81001").icb, run)]
    assert rows == sorted(
        rows, key=lambda r: (r.score is None or r.score.composite is None, -(r.score.composite or 0) if r.score else 0)
    )


def test_the_narrow_read_gives_exactly_the_listed_and_removed_rows_of_the_full_one(personas):
    """The page reads only practices listed by score or decided on; the rows it shows must not change."""
    from apps.practices.models import ICB

    icb = ICB.objects.get(code=ICB_A)
    run = services.current_run()
    open_practices = Practice.objects.filter(icb=icb, status="active").order_by("code")
    by_score = next(r for r in services.watch_rows(icb, run) if r.by_score)
    quiet = [r for r in services.watch_rows(icb, run) if not r.by_score]
    services.remove_from_watch_list(personas["icb_a"], by_score.practice, "Support already in place via the PCN")
    services.add_to_watch_list(personas["icb_a"], quiet[0].practice, "Partner retiring, list closing soon")
    services.set_local_rating(personas["icb_a"], quiet[1].practice, "high", "Rated high after a visit")
    assert open_practices.count() > len(services.watch_rows(icb, run, listed_or_decided=True))

    def shown(rows, which):
        return [(r.practice.code, r.on_list, r.by_score, r.entry and r.entry.status) for r in rows if which(r)]

    full = services.watch_rows(icb, run)
    narrow = services.watch_rows(icb, run, listed_or_decided=True)
    for which in (lambda r: r.on_list, lambda r: r.entry is not None and r.entry.status == "removed"):
        assert shown(narrow, which) == shown(full, which) and shown(full, which)
    assert services.flags_met_in(icb, run) == sorted({f for r in full if r.score for f in r.score.flags})


def test_watch_list_downloads_as_csv_with_reasons(client_for):
    response = client_for("icb_a").get(
        reverse("indicators:watch_list", args=[ICB_A]), {"show": "all", "download": "csv"}
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) > 300
    assert {"ods_code", "score", "reasons", "decision", "review_due"} <= set(rows[0])
    assert all(r["reasons"] for r in rows[:20])


def test_overdue_reviews_stand_out(client_for, personas, practice):
    entry = services.add_to_watch_list(personas["icb_a"], practice, "Concern raised by the LMC")
    WatchEntry.objects.filter(pk=entry.pk).update(review_due=date.today() - timedelta(days=3))
    html = client_for("icb_a").get(reverse("indicators:watch_list", args=[ICB_A]), {"overdue": "1"}).content.decode()
    assert "Overdue" in html and practice.code in html


def test_decision_form_saves_and_redirects(client_for, practice):
    url = reverse("indicators:watch_practice", args=[ICB_A, practice.code])
    response = client_for("icb_a").post(url, {"action": "add", "rationale": "Partner on long-term sick leave"})
    assert response.status_code == 302
    html = client_for("icb_a").get(url).content.decode()
    assert "Partner on long-term sick leave" in html and "Added to the watch list" in html


def test_decision_form_with_no_rationale_shows_the_error_and_keeps_input(client_for, practice):
    url = reverse("indicators:watch_practice", args=[ICB_A, practice.code])
    response = client_for("icb_a").post(url, {"action": "rate", "rating": "high", "rationale": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is a problem" in html and "rationale of at least" in html
    assert not WatchChange.objects.exists()


def test_practice_from_another_icb_is_404_on_the_watch_page(client_for, personas):
    other = personas["practice_y"].practice
    url = reverse("indicators:watch_practice", args=[ICB_A, other.code])
    assert client_for("icb_a").get(url).status_code == 404


@pytest.mark.parametrize(
    ("persona", "sees"),
    [
        ("icb_a", True),
        ("practice_x", True),
        ("icb_b", False),
        ("national", False),
        ("lmc", False),
        ("provider", False),
        ("practice_y", False),
    ],
)
def test_a_practice_score_is_shown_only_to_its_icb_and_itself(client_for, practice, persona, sees):
    html = client_for(persona).get(reverse("practices:detail", args=[practice.code])).content.decode()
    assert ("Pressure index" in html) is sees
    assert ("What drives the score" in html) is sees


def test_national_summary_names_no_practice(client_for, personas, practice):
    services.add_to_watch_list(personas["icb_a"], practice, "Concern raised by the LMC")
    html = client_for("national").get(reverse("indicators:watch_home")).content.decode()
    assert "North East and North Cumbria" in html
    assert practice.code not in html and practice.display_name not in html
    # ordered by region, as on the ICB list
    assert html.index("East of England") < html.index("London") < html.index("South West")


def test_definitions_page_lists_every_indicator(client_for):
    from analytics.indicators.definition import load_definitions

    html = client_for("practice_x").get(reverse("indicators:definitions")).content.decode()
    for d in load_definitions():
        assert d.title in html


def test_each_score_carries_a_trend_across_the_years_with_data():
    run = services.current_run()
    s = PracticeScore.objects.filter(run=run, practice__code="A81001").get()
    # every financial-year end with workforce data, from the FY 2015/16 history on, each scored as published then
    assert sorted(s.trend)[-3:] == ["2023-04-01", "2024-04-01", "2025-04-01"]
    assert sorted(s.trend) == [f"{y}-04-01" for y in range(2016, 2026)]
    assert all(v is None or 0 <= v <= 100 for v in s.trend.values())


@pytest.mark.parametrize("run", ["²", "٣", "-1", "1.5", "99999999999999999999999"])
def test_a_run_id_that_is_no_id_shows_the_current_run(client_for, run):
    page = client_for("icb_a").get(reverse("indicators:watch_list", args=[ICB_A]), {"run": run})
    assert page.status_code == 200 and "see the current one" not in page.content.decode()


def test_an_earlier_run_can_still_be_read_on_the_watch_list(client_for):
    from django.core.management import call_command

    old = services.current_run()
    call_command("score_practices", as_of=date(2024, 4, 1), stdout=io.StringIO())
    html = client_for("icb_a").get(reverse("indicators:watch_list", args=[ICB_A]), {"run": old.pk}).content.decode()
    assert "an earlier run" in html


def test_backtest_page_shows_auc_and_precision_against_both_baselines(client_for):
    html = client_for("national").get(reverse("indicators:backtest")).content.decode()
    for text in ("Clean cohort", "composite", "list size", "flag count", "AUC", "Precision top 5%", "95% CI"):
        assert text.lower() in html.lower(), text
    run = services.current_run()
    clean = run.backtest["cohorts"][0]
    assert 6290 <= clean["n"] <= 6490 and 70 <= clean["closures"] <= 120
    methods = {m["method"]: m["auc"] for m in clean["methods"]}
    assert methods["composite"] > methods["list size (smaller = riskier)"] + 0.05
    assert methods["composite"] > methods["flag count (2015 criteria)"] + 0.05
