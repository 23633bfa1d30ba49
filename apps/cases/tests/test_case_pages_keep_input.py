"""The case pages show refused input again from their forms (``typed``): what was typed stays in its box."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from apps.cases.models import Package, Triage

from .conftest import this_year

pytestmark = pytest.mark.django_db


def _textarea(html: str, name: str) -> str:
    found = re.search(rf'<textarea[^>]*name="{name}"[^>]*>\s*([^<]*)</textarea>', html)
    assert found, f"no box named {name}"
    return found.group(1).strip()


def test_a_refused_triage_keeps_its_rationale(client_for, case_x):
    data = {"scope": "huge", "rationale": "Two partners leave in spring."}
    response = client_for("icb_a").post(reverse("cases:triage", args=[case_x.pk]), data)
    assert response.status_code == 400
    assert _textarea(response.content.decode(), "rationale") == "Two partners leave in spring."
    assert not Triage.objects.filter(case=case_x).exists()


def test_a_refused_decision_keeps_the_note_and_the_choice(client_for, personas, agreed_x):
    from apps.cases import services

    starts, ends = this_year()
    pkg = services.build_package(
        personas["icb_a"], agreed_x, [services.LineInput("gprp-coaching", 3)], [], starts, ends
    )
    services.submit_package(personas["icb_a"], pkg)
    url = reverse("cases:decide", args=[agreed_x.pk, pkg.number])
    response = client_for("icb_a").post(url, {"decision": "approve", "budget": "999999", "note": "Good plan"})
    html = response.content.decode()
    assert response.status_code == 400
    assert _textarea(html, "note") == "Good plan"
    assert re.search(r'<input[^>]*name="decision"[^>]*value="approve"[^>]*checked', html)
    pkg.refresh_from_db()
    assert pkg.state == Package.State.SUBMITTED


def test_a_refused_health_check_keeps_the_answers_given(client_for, triaged_x):
    from apps.cases.config import questionnaire

    questions = list(questionnaire().questions)
    data = {questions[0]: "4", questions[1]: "9", "action": "submit"}
    response = client_for("practice_x").post(reverse("cases:health_check", args=[triaged_x.pk]), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert re.search(rf'<input[^>]*name="{questions[0]}"[^>]*value="4"[^>]*checked', html)
    assert not re.search(rf'<input[^>]*name="{questions[1]}"[^>]*checked', html)
