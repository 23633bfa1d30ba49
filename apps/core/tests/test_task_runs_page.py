"""The national team's Background tasks page lists task runs, newest first, with status, times and the error."""

from __future__ import annotations

import pytest
from django.tasks import TaskResultStatus
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from apps.cases.tasks import send_notification_emails
from apps.core import background
from apps.datasets.tasks import refresh_national_data
from apps.delivery.tasks import send_due_reminders

pytestmark = pytest.mark.django_db
URL = reverse("core:task_runs")


def _rows(client, **query) -> str:
    """The table body only (the intro names every task too)."""
    page = client.get(URL, query).content.decode()
    return page[page.index("<tbody") : page.index("</tbody>")]


@pytest.fixture
def runs(database_tasks):
    ok = DBTaskResult.objects.get(pk=send_due_reminders.enqueue().id)
    ok.claim("worker-1")
    ok.set_successful({"sessions_tomorrow": 0})
    bad = DBTaskResult.objects.get(pk=refresh_national_data.enqueue().id)
    bad.claim("worker-1")
    try:
        raise RuntimeError("registrations: the file has no NUMBER_OF_PATIENTS column")
    except RuntimeError as exc:
        bad.set_failed(exc)
    waiting = send_notification_emails.enqueue([1, 2], attempt=3)
    return ok, bad, waiting


def test_the_national_team_sees_each_run_with_its_status_and_error(client_for, runs):
    page = _rows(client_for("national"))
    assert "Delivery reminders" in page and "Succeeded" in page
    assert "National data refresh" in page and "Failed" in page
    assert "RuntimeError: registrations: the file has no NUMBER_OF_PATIENTS column" in page
    assert "Traceback" not in page  # the error's last line, not the traceback
    assert "Notification emails" in page and "Queued" in page and "attempt 3 of 5" in page


def test_the_page_filters_by_status(client_for, runs):
    page = _rows(client_for("national"), status="FAILED")
    assert "National data refresh" in page
    assert "Delivery reminders" not in page and "Notification emails" not in page
    # An unknown status shows everything rather than an empty list.
    assert "Delivery reminders" in _rows(client_for("national"), status="nope")


def test_counts_and_listing_come_from_the_stored_runs(runs):
    assert background.task_run_counts() == {"READY": 1, "RUNNING": 0, "SUCCESSFUL": 1, "FAILED": 1}
    listed = background.recent_task_runs()
    assert [r.task for r in listed] == ["Notification emails", "National data refresh", "Delivery reminders"]
    assert listed[0].attempt == 3 and listed[0].max_attempts == background.MAX_ATTEMPTS
    assert listed[1].max_attempts == 1 and listed[1].duration is not None
    assert background.recent_task_runs(status=TaskResultStatus.READY)[0].task == "Notification emails"


def test_with_a_backend_that_stores_nothing_the_page_says_so(client_for):
    page = client_for("national").get(URL).content.decode()
    assert "keeps no record of them" in page
    assert background.recent_task_runs() == [] and not background.stores_task_runs()


@pytest.mark.parametrize("persona", ["icb_a", "practice_x", "provider", "lmc"])
def test_nobody_but_the_national_team_sees_task_runs(client_for, persona, runs):
    assert client_for(persona).get(URL).status_code == 403
