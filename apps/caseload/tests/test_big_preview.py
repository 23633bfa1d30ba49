"""A big file's preview is worked out by the worker; the page shows how far it has got, then the result."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from analytics.money import financial_year_of
from apps.caseload import sample, services
from apps.caseload.models import CaseloadUpload, StoredFile
from apps.caseload.tasks import plan_upload
from apps.caseload.tests.conftest import OFFER, PROGRAMME

pytestmark = pytest.mark.django_db
ROWS = services.BACKGROUND_ROWS + 200


def _big(free: list[str], today: date) -> bytes:
    rows = sample.caseload(
        free[:100], free, cases=ROWS, packages=10, programme=PROGRAMME, fy=financial_year_of(today), offer=OFFER,
        today=today,
    )  # fmt: skip
    rows[700]["practice"] = "Z99999"
    return sample.as_csv(rows)


def test_a_big_upload_is_previewed_by_the_worker_and_the_page_shows_its_progress(
    database_tasks: None, client_for: Any, budget: Any, free_practices: list[str], today: date
) -> None:
    client = client_for("icb_a")
    big = SimpleUploadedFile("big.csv", _big(free_practices, today))
    response = client.post(reverse("caseload:home"), {"file": big})
    assert response.status_code == 302
    upload = CaseloadUpload.objects.get()
    page = client.get(reverse("caseload:upload", args=[upload.pk])).content.decode()
    assert f"0 of {ROWS:,} rows checked" in page and 'http-equiv="refresh"' in page
    assert "Import " not in page

    plan_upload.call(upload.pk)  # what the worker does with the queued task
    stored = StoredFile.objects.get(upload=upload).plan
    assert stored["done"] == ROWS and len(stored["rows"]) == ROWS
    page = client.get(reverse("caseload:upload", args=[upload.pk]) + "?show=errors").content.decode()
    assert "1 in error" in page and "Unknown ODS code Z99999" in page and "http-equiv" not in page
    seen = services.shown_preview(upload)
    assert seen.plan is not None and seen.plan.counts == services.preview(upload).plan.counts  # type: ignore[union-attr]


def test_a_big_upload_previews_at_once_when_tasks_run_immediately(
    personas: dict[str, Any], budget: Any, free_practices: list[str], today: date
) -> None:
    icb_user = personas["icb_a"]
    upload = services.upload_file(icb=icb_user.icb, user=icb_user, filename="big.csv", data=_big(free_practices, today))
    seen = services.shown_preview(upload)
    assert seen.pending is None and seen.plan is not None and len(seen.plan.errors) == 1
