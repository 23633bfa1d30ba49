"""The home pages (issue 16 §4): an ICB team sees its own work (cases by stage and clock, watch list without a case,
budgets per programme and line, reviews due) in a query count that does not grow with its cases; the national team
sees England's counts and no case; the watch list shows each practice's open case to who may see it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.cases import services
from apps.cases.models import OPEN, Case, Route
from apps.pages.home import icb_home, national_home
from apps.practices.models import Practice, PracticeStatus

pytestmark = pytest.mark.django_db


def open_cases(icb_user, n: int, *, late: bool) -> list[Case]:
    free = (
        Practice.objects.filter(icb=icb_user.icb, status=PracticeStatus.ACTIVE)
        .exclude(support_cases__status__in=OPEN)
        .order_by("-code")[:n]
    )
    made = []
    for practice in free:
        case, _ = services.refer(icb_user, practice, Route.ICB, services.ReferralInput("Two partners are leaving."))
        if late:
            Case.objects.filter(pk=case.pk).update(opened_at=timezone.now() - timedelta(days=60))
        made.append(case)
    assert len(made) == n
    return made


def get_home(client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("core:home"))
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def test_the_icb_home_shows_late_cases_in_a_flat_number_of_queries(client_for, personas):
    client = client_for("icb_a")
    get_home(client)  # warm per-process caches
    open_cases(personas["icb_a"], 2, late=True)
    few, _ = get_home(client)
    cases = open_cases(personas["icb_a"], 25, late=True)
    many, html = get_home(client)
    assert many == few, f"{few} queries with few cases, {many} with many"
    assert "Past their stage clock" in html and "Budgets" in html and "Open cases by stage" in html
    home = icb_home(personas["icb_a"], personas["icb_a"].icb)
    assert cases[-1].ref in html or home.late_total > len(home.late)  # listed, or counted beyond the page
    assert home.late_total >= 27
    referred = next(s for s in home.states if s.status == "referred")
    assert referred.late >= 27 and referred.open >= referred.late
    assert "Open practices in England" not in html  # national counts belong on national's home


def test_the_icb_home_lists_watch_list_practices_without_a_case(personas):
    from apps.indicators import services as watch

    icb = personas["icb_a"].icb
    on_list = [r.practice for r in watch.watch_rows(icb, watch.current_run(), listed_or_decided=True) if r.on_list]
    if not on_list:
        pytest.skip("the test database has no scored watch list for ICB A")
    before = icb_home(personas["icb_a"], icb)
    target = before.watch_without_case[0]
    services.refer(personas["icb_a"], target, Route.WATCH_LIST, services.ReferralInput("On our watch list for a year."))
    after = icb_home(personas["icb_a"], icb)
    assert after.watch_without_case_total == before.watch_without_case_total - 1
    assert target not in after.watch_without_case


def test_another_icbs_home_shows_none_of_these_cases(client_for, personas):
    cases = open_cases(personas["icb_a"], 2, late=True)
    _, html = get_home(client_for("icb_b"))
    assert not any(c.ref in html for c in cases)


def test_the_national_home_has_counts_and_no_case(client_for, personas):
    cases = open_cases(personas["icb_a"], 3, late=True)
    _, html = get_home(client_for("national"))
    assert "Support cases in England" in html
    assert not any(c.ref in html or c.practice.display_name in html for c in cases)
    n = national_home()
    assert n.late_total >= 3 and n.icbs_with_late >= 1


def test_the_watch_list_shows_the_open_case_and_its_state_to_the_icb_only(client_for, personas):
    from apps.indicators import services as watch

    icb = personas["icb_a"].icb
    rows = watch.shown_watch_rows(icb, watch.current_run())
    if not rows:
        pytest.skip("the test database has no scored watch list for ICB A")
    practice = next(r.practice for r in rows if not Case.objects.open().filter(practice=r.practice).exists())
    case, _ = services.refer(personas["icb_a"], practice, Route.WATCH_LIST, services.ReferralInput("Watched a year."))
    url = reverse("indicators:watch_list", args=[icb.code])
    html = client_for("icb_a").get(url).content.decode()
    assert f'href="/cases/{case.pk}/">{case.ref}</a><br>Referred' in html
    csv = client_for("icb_a").get(url, {"download": "csv"}).content.decode()
    assert "open_case,case_state" in csv.splitlines()[0] and f"{case.ref},Referred" in csv
    api = client_for("icb_a").get(f"/api/v1/icbs/{icb.code}/watch-list", {"page_size": 500}).json()
    row = next(r for r in api["results"] if r["practice_code"] == practice.code)
    assert (row["open_case"], row["case_state"]) == (case.ref, "Referred")
    assert client_for("national").get(url).status_code == 403  # national sees counts, never the list
