"""Pages of the apps below cases show a practice's open case through the case chokepoint.

The watch list's practice page (indicators) and the ripple page (targeting) link to the practice's open case; they
ask ``apps.cases.policy.open_case_of`` through the template function of that name, so the case rule is the one
``cases_visible_to`` states (docs/architecture.md, "Layers")."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from apps.cases.models import Case, Status
from apps.cases.policy import open_case_of
from apps.pages.testing import ICB_A

pytestmark = pytest.mark.django_db


def test_the_case_team_and_the_practice_get_the_open_case(personas: dict[str, Any], case_x: Case) -> None:
    practice = case_x.practice
    assert open_case_of(personas["icb_a"], practice) == case_x
    assert open_case_of(personas["practice_x"], practice) == case_x


@pytest.mark.parametrize("persona", ["icb_b", "practice_y", "national", "provider_b", "lmc"])
def test_nobody_else_gets_it(personas: dict[str, Any], case_x: Case, persona: str) -> None:
    assert open_case_of(personas[persona], case_x.practice) is None


def test_the_watch_list_practice_page_links_to_the_open_case(client_for: Any, case_x: Case) -> None:
    url = reverse("indicators:watch_practice", args=[ICB_A, case_x.practice.code])
    html = client_for("icb_a").get(url).content.decode()
    assert f'href="{reverse("cases:detail", args=[case_x.pk])}"' in html and case_x.ref in html


def test_a_closed_case_is_not_linked(personas: dict[str, Any], case_x: Case) -> None:
    Case.objects.filter(pk=case_x.pk).update(status=Status.WITHDRAWN)  # not audited: a test's set-up, not a service
    assert open_case_of(personas["icb_a"], case_x.practice) is None
