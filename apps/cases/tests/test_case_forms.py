"""The case pages read input through apps.cases.forms: every error is shown at once in the NHS.UK error summary, each
linking to its field, and a service's refusal reaches the user at the field at fault. The API's self-referral reads
its body through the same form."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from apps.cases.config import questionnaire
from apps.cases.models import HealthCheck, Package, Triage

from .conftest import this_year

pytestmark = pytest.mark.django_db

SUMMARY = re.compile(r'class="nhsuk-error-summary".*?</ul>', re.S)


def summary_links(page: str) -> list[str]:
    found = SUMMARY.search(page)
    assert found, "no error summary"
    return re.findall(r'href="#([^"]+)"', found.group(0))


def test_a_refusal_from_the_package_service_now_reaches_the_user_at_its_field(client_for, triaged_x):
    """The old view caught CaseError inside ``except ValueError`` where it could never run; the refusal must reach
    the page, at the units box of the offer at fault, and nothing is priced."""
    starts, ends = this_year()
    url = reverse("cases:package", args=[triaged_x.pk])
    data = {"starts": starts.isoformat(), "ends": ends.isoformat(), "units-gprp-coaching": "13", "action": "price"}
    response = client_for("icb_a").post(url, data)
    page = response.content.decode()
    assert response.status_code == 400
    assert "between 1 and 12" in page
    assert summary_links(page) == ["units-gprp-coaching"]
    assert 'id="units-gprp-coaching"' in page
    assert not Package.objects.filter(case=triaged_x).exists()


def test_every_bad_box_of_the_package_builder_is_named_at_once(client_for, triaged_x):
    url = reverse("cases:package", args=[triaged_x.pk])
    data = {"starts": "soon", "ends": "", "units-gprp-coaching": "two", "group": "A81002 150", "action": "price"}
    response = client_for("icb_a").post(url, data)
    page = response.content.decode()
    assert response.status_code == 400
    assert summary_links(page) == ["starts", "ends", "units-gprp-coaching", "group"]
    assert "enter a whole number" in page and "below 100" in page
    assert 'value="two"' in page  # what was typed is shown again
    assert not Package.objects.filter(case=triaged_x).exists()


def test_a_triage_with_nothing_chosen_names_all_three_fields(client_for, case_x):
    response = client_for("icb_a").post(reverse("cases:triage", args=[case_x.pk]), {"scope": "huge"})
    assert response.status_code == 400
    assert summary_links(response.content.decode()) == ["scope", "impact", "rationale"]
    assert not Triage.objects.filter(case=case_x).exists()


def test_a_referral_form_names_every_bad_field(client_for, personas):
    response = client_for("practice_x").post(reverse("cases:refer"), {"concerns": "help", "tried": ["magic"]})
    assert response.status_code == 400
    assert summary_links(response.content.decode()) == ["concerns", "tried", "urgency"]


def test_a_half_done_health_check_names_each_unanswered_question(client_for, triaged_x):
    questions = list(questionnaire().questions)
    data = {questions[0]: "4", questions[1]: "9", "action": "submit"}
    response = client_for("practice_x").post(reverse("cases:health_check", args=[triaged_x.pk]), data)
    page = response.content.decode()
    assert response.status_code == 400
    assert summary_links(page) == questions[1:]
    assert "1–5 scale" in page and "every question is needed" in page
    assert not HealthCheck.objects.filter(case=triaged_x).exists()


def test_each_bad_row_of_the_plan_is_named_at_its_cell(client_for, triaged_x):
    data = {
        "rows": "8",
        "goal-0": "Fill the vacancy",
        "area-0": "workforce",
        "action-0": "Recruit",
        "owner-0": "PM",
        "due-0": "next week",
        "goal-3": "Steady the rota",
        "area-3": "workforce",
        "due-3": "2027-01-31",
    }
    response = client_for("practice_x").post(reverse("cases:plan", args=[triaged_x.pk]), data)
    page = response.content.decode()
    assert response.status_code == 400
    assert summary_links(page) == ["due-0", "action-1"]  # blank rows dropped: the second filled row is shown second
    assert 'id="action-1"' in page and "Row 2: fill in" in page


def test_refusing_a_package_without_a_note_points_at_the_note(client_for, personas, agreed_x):
    from apps.cases import services

    starts, ends = this_year()
    pkg = services.build_package(
        personas["icb_a"], agreed_x, [services.LineInput("gprp-coaching", 3)], [], starts, ends
    )
    services.submit_package(personas["icb_a"], pkg)
    url = reverse("cases:decide", args=[agreed_x.pk, pkg.number])
    empty = client_for("icb_a").post(url, {})
    assert empty.status_code == 400 and summary_links(empty.content.decode()) == ["decision"]
    refused = client_for("icb_a").post(url, {"decision": "refuse", "note": " "})
    assert refused.status_code == 400 and summary_links(refused.content.decode()) == ["note"]
    pkg.refresh_from_db()
    assert pkg.state == Package.State.SUBMITTED
