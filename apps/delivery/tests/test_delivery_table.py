"""The ICB's delivery list is a table: searchable by practice, filtered by provider, downloaded with the page's
columns and its session counts as numbers (issue 16 §6)."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from apps.cases.models import Package
from apps.delivery import services
from apps.delivery.tests.test_home_counts import add_sessions

pytestmark = pytest.mark.django_db


@pytest.fixture
def assigned(personas, approved_x, coach):
    line = approved_x.packages.get(state=Package.State.APPROVED).lines.get(offer__code="gprp-coaching")
    a = services.assign_work(personas["icb_a"], line, member=coach)
    add_sessions(personas, a, 6)
    return a


def test_the_delivery_list_is_searched_by_practice_and_filtered_by_provider(client_for, assigned):
    client = client_for("icb_a")
    practice = assigned.case.practice
    url = reverse("delivery:home")
    row = f'<a href="{reverse("delivery:case", args=[assigned.case_id])}">{assigned.case.ref}</a></td>'
    assert row in client.get(url, {"q": practice.code.lower()}).content.decode()
    assert row not in client.get(url, {"q": "no practice is called this"}).content.decode()
    assert row in client.get(url, {"provider": assigned.organisation_id}).content.decode()


def test_the_delivery_download_has_the_pages_headings_and_counts_as_numbers(client_for, assigned):
    response = client_for("icb_a").get(reverse("delivery:home"), {"download": "csv"})
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))  # getvalue: the download streams
    mine = next(r for r in rows if r["Case"] == assigned.case.ref)
    assert list(mine)[:4] == ["Case", "Practice", "ODS code", "Support"]
    assert (mine["Sessions planned"], mine["Sessions delivered"], mine["Sessions confirmed"]) == ("2", "4", "2")
    assert mine["ODS code"] == assigned.case.practice.code
