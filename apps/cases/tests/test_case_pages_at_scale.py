"""The case page and the notifications page at scale (issue 19 §3): as a case gathers notes and events, and a user
notifications, each page makes the same number of queries (nothing is loaded row by row)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.cases import notify, services
from apps.cases.models import Case, NotificationKind
from apps.pages.testing import ICB_A

pytestmark = pytest.mark.django_db


def queries(client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


@pytest.fixture
def case(personas) -> Case:
    mine = Case.objects.filter(icb__code=ICB_A).exclude(practice=personas["practice_x"].practice)
    found = mine.order_by("pk").first()
    assert found is not None, "the test database has demo cases in ICB A"
    return found


def test_the_case_page_makes_the_same_queries_with_ten_times_the_notes(client_for, personas, case):
    client = client_for("icb_a")
    url = reverse("cases:detail", args=[case.pk])
    client.get(url)  # warm per-process caches so both measured requests start alike
    for i in range(2):
        services.add_note(personas["icb_a"], case, f"Call with the practice manager, number {i}.")
    few, _ = queries(client, url)
    for i in range(2, 20):
        services.add_note(personas["icb_a"], case, f"Call with the practice manager, number {i}.")
    many, html = queries(client, url)
    assert many == few, f"{few} queries with 2 notes, {many} with 20"
    assert "number 19." in html and "number 0." in html


def test_the_notifications_page_makes_the_same_queries_with_ten_times_the_notifications(client_for, personas, case):
    client = client_for("icb_a")
    url = reverse("cases:notifications")
    client.get(url)

    def tell(n: int) -> None:
        for i in range(n):
            notify.notify([personas["icb_a"]], NotificationKind.STATUS, case, f"Note {i} on {case.ref}")

    tell(3)
    few, _ = queries(client, url)
    tell(30)
    many, _ = queries(client, url)
    assert many == few, f"{few} queries with 3 notifications, {many} with 33"
