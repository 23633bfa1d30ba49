"""One place assigns a provider: who delivers is assigned per package line (delivery's assignments, the source of
truth), and the case's lead provider (``Case.provider``, which the case pages show and ``cases_visible_to`` reads)
is derived from those assignments. Named by hand only before any line is assigned."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import Role, User
from apps.cases import services as cs
from apps.cases.models import Package
from apps.delivery import policy as access
from apps.delivery import services
from apps.delivery.tests.conftest import make_member

pytestmark = pytest.mark.django_db


def line_of(case):
    return case.packages.get(state=Package.State.APPROVED).lines.get(offer__code="gprp-coaching")


def test_once_a_line_is_assigned_the_lead_follows_the_lines_and_cannot_be_set_by_hand(personas, approved_x, coach):
    icb, prov, prov_b = personas["icb_a"], personas["provider"], personas["provider_b"]
    cs.assign_provider(icb, approved_x, prov_b)  # before any line is assigned: a provider named to prepare with
    services.assign_work(icb, line_of(approved_x), member=coach)
    approved_x.refresh_from_db()
    assert approved_x.provider == prov  # the lead named by hand had no line: the line's deliverer leads
    assert not access.cases_visible_to(prov_b).filter(pk=approved_x.pk).exists()
    with pytest.raises(cs.CaseError, match="per package line"):
        cs.assign_provider(icb, approved_x, prov_b)
    approved_x.refresh_from_db()
    assert approved_x.provider == prov


def test_reassigning_the_line_moves_the_lead_and_the_sight_of_the_case(personas, approved_x, coach, org):
    icb, prov = personas["icb_a"], personas["provider"]
    other = User.objects.create_user("t-coach-lead", password="x-test-password-1", role=Role.PROVIDER)
    services.assign_work(icb, line_of(approved_x), member=coach)
    services.assign_work(icb, line_of(approved_x), member=make_member(org, personas, user=other, name="Second Coach"))
    approved_x.refresh_from_db()
    assert approved_x.provider == other
    assert access.cases_visible_to(other).filter(pk=approved_x.pk).exists()
    assert not access.cases_visible_to(prov).filter(pk=approved_x.pk).exists()  # no line, not the lead


def test_ending_the_last_line_keeps_the_lead_and_frees_the_case_page_to_name_one(personas, approved_x, coach):
    icb, prov = personas["icb_a"], personas["provider"]
    a = services.assign_work(icb, line_of(approved_x), member=coach)
    services.end_assignment(icb, a, "The coach is on leave.")
    approved_x.refresh_from_db()
    assert approved_x.provider == prov  # keeps sight of the history it delivered
    assert access.cases_visible_to(prov).filter(pk=approved_x.pk).exists()
    cs.assign_provider(icb, approved_x, personas["provider_b"])  # no live line: named by hand again
    approved_x.refresh_from_db()
    assert approved_x.provider == personas["provider_b"]


def test_the_case_page_sends_the_team_to_the_delivery_page_once_lines_are_assigned(
    client_for, personas, approved_x, coach
):
    url = reverse("cases:detail", args=[approved_x.pk])
    assert reverse("cases:assign", args=[approved_x.pk]) in client_for("icb_a").get(url).content.decode()
    services.assign_work(personas["icb_a"], line_of(approved_x), member=coach)
    page = client_for("icb_a").get(url).content.decode()
    assert reverse("cases:assign", args=[approved_x.pk]) not in page
    assert reverse("delivery:case", args=[approved_x.pk]) in page and "per package line" in page
