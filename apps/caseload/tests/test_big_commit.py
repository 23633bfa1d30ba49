"""A big file's commit runs in the worker (issue 19: 5,000 rows took 19 s inside the request): the page answers at
once and shows the import under way, and the import is still all rows or none."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.urls import reverse

from analytics.money import financial_year_of
from apps.caseload import sample, services
from apps.caseload.models import CaseloadUpload, ImportedCase
from apps.caseload.tasks import commit_upload_in_background, plan_upload
from apps.caseload.tests.conftest import OFFER, PROGRAMME
from apps.cases.models import Case
from apps.funding.models import LedgerEntry

pytestmark = pytest.mark.django_db
ROWS = services.BACKGROUND_ROWS + 100


@pytest.fixture
def big_upload(database_tasks: None, client_for: Any, budget: Any, free_practices: list[str], today: date) -> Any:
    rows = sample.caseload(
        free_practices[:100], free_practices, cases=ROWS, packages=10, programme=PROGRAMME,
        fy=financial_year_of(today), offer=OFFER, today=today,
    )  # fmt: skip
    client = client_for("icb_a")
    response = client.post(reverse("caseload:home"), {"file": _file(sample.as_csv(rows))})
    assert response.status_code == 302
    upload = CaseloadUpload.objects.get()
    plan_upload.call(upload.pk)  # the worker works the preview out
    return client, upload


def _file(data: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("big.csv", data, content_type="text/csv")


def test_a_big_commit_is_queued_shown_under_way_then_imported_by_the_worker(big_upload: Any, personas: Any) -> None:
    client, upload = big_upload
    cases_before = Case.objects.count()
    page_url = reverse("caseload:upload", args=[upload.pk])
    assert f"Import {ROWS} rows" in client.get(page_url).content.decode()

    response = client.post(reverse("caseload:commit", args=[upload.pk]), follow=True)
    page = response.content.decode()
    assert "Importing big.csv in the background" in page and 'http-equiv="refresh"' in page
    assert f"Importing {ROWS:,} rows" in page and "waiting for the background worker" in page
    assert f"Import {ROWS} rows" not in page  # no second commit button while it runs
    upload.refresh_from_db()
    assert upload.status == CaseloadUpload.Status.COMMITTING and upload.committed_by == personas["icb_a"]
    assert Case.objects.count() == cases_before  # nothing is written until the worker runs it

    again = client.post(reverse("caseload:commit", args=[upload.pk]), follow=True).content.decode()
    assert "already being imported" in again

    commit_upload_in_background.call(upload.pk, personas["icb_a"].pk)  # what the worker does with the task
    upload.refresh_from_db()
    assert upload.status == CaseloadUpload.Status.COMMITTED and upload.outcome["create"] == ROWS
    assert Case.objects.count() == cases_before + ROWS and ImportedCase.objects.filter(upload=upload).count() == ROWS
    page = client.get(page_url).content.decode()
    assert f"{ROWS} created" in page and "http-equiv" not in page

    commit_upload_in_background.call(upload.pk, personas["icb_a"].pk)  # a repeated run changes nothing
    assert Case.objects.count() == cases_before + ROWS


def test_a_queued_commit_refused_on_the_way_imports_nothing_and_says_why(
    big_upload: Any, personas: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, upload = big_upload
    cases_before, entries_before = Case.objects.count(), LedgerEntry.objects.count()
    client.post(reverse("caseload:commit", args=[upload.pk]))
    calls = []

    def refuse_the_third(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise services.ImportRefused("The budget has no headroom left")
        real_package(*args, **kwargs)

    real_package = services._package
    monkeypatch.setattr(services, "_package", refuse_the_third)
    commit_upload_in_background.call(upload.pk, personas["icb_a"].pk)
    upload.refresh_from_db()
    assert upload.status == CaseloadUpload.Status.FAILED and "no headroom" in upload.outcome["refused"]
    assert Case.objects.count() == cases_before and LedgerEntry.objects.count() == entries_before
    assert not ImportedCase.objects.exists()
    page = client.get(reverse("caseload:upload", args=[upload.pk])).content.decode()
    assert "Import refused" in page and "no headroom" in page


def test_a_queued_commit_that_crashes_imports_nothing_and_marks_the_upload(
    big_upload: Any, personas: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, upload = big_upload
    cases_before = Case.objects.count()
    client.post(reverse("caseload:commit", args=[upload.pk]))

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_package", crash)
    with pytest.raises(RuntimeError):
        commit_upload_in_background.call(upload.pk, personas["icb_a"].pk)
    upload.refresh_from_db()
    assert upload.status == CaseloadUpload.Status.FAILED and "Nothing was imported" in upload.outcome["refused"]
    assert Case.objects.count() == cases_before


def test_the_api_answers_202_for_a_big_commit_and_the_upload_tells_when_it_is_done(
    big_upload: Any, personas: Any
) -> None:
    from apps.api.testing import tokens_for

    client, upload = big_upload
    client.logout()
    headers = {"Authorization": f"Bearer {tokens_for(personas)['icb_a']}"}
    response = client.post(f"/api/v1/caseload/uploads/{upload.pk}/commit", headers=headers)
    assert response.status_code == 202 and response.json() == {"id": upload.pk, "status": "committing", "counts": {}}
    assert client.post(f"/api/v1/caseload/uploads/{upload.pk}/commit", headers=headers).status_code == 400
    commit_upload_in_background.call(upload.pk, personas["icb_a"].pk)
    shown = client.get(f"/api/v1/caseload/uploads/{upload.pk}", headers=headers).json()
    assert shown["status"] == "committed" and shown["outcome"]["create"] == ROWS
