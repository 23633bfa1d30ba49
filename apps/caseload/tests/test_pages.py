"""The import pages: upload → column choice and preview with reasons → commit; the template; who may use them."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from typing import Any

import fastexcel
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from analytics.money import financial_year_of
from apps.caseload import sample
from apps.caseload.models import CaseloadUpload, ImportedCase
from apps.caseload.reading import BUDGET_COLUMNS, COLUMNS, read_budgets
from apps.caseload.tests.conftest import OFFER, PROGRAMME
from apps.cases.models import CaseEvent

pytestmark = pytest.mark.django_db


def _file(free: list[str], today: date, bad: bool) -> SimpleUploadedFile:
    rows = sample.caseload(
        free[:20], free, cases=20, packages=5, programme=PROGRAMME, fy=financial_year_of(today), offer=OFFER,
        today=today,
    )  # fmt: skip
    if bad:
        rows[3]["practice"] = "Z99999"
        rows[7]["amount"] = "twelve pounds"
    return SimpleUploadedFile("tracker.csv", sample.as_csv(rows), content_type="text/csv")


def test_upload_preview_with_errors_then_fixed_upload_commits(
    client_for: Any, budget: Any, free_practices: list[str], today: date
) -> None:
    client = client_for("icb_a")
    home = reverse("caseload:home")
    response = client.post(home, {"file": _file(free_practices, today, bad=True)})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "2 in error" in page and "Unknown ODS code Z99999" in page
    assert "“twelve pounds” is not an amount in pounds" in page
    assert "Import " not in page  # no commit button while rows are in error
    errors_only = client.get(response["Location"] + "?show=errors").content.decode()
    assert errors_only.count("nhsuk-tag--red") == 2

    response = client.post(home, {"file": _file(free_practices, today, bad=False)})
    fixed = CaseloadUpload.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))
    page = client.get(response["Location"]).content.decode()
    assert "20 will be created" in page and "Import 20 rows" in page
    done = client.post(reverse("caseload:commit", args=[fixed.pk]), follow=True).content.decode()
    assert "20 cases created" in done
    case = ImportedCase.objects.filter(upload=fixed).first().case  # type: ignore[union-attr]
    timeline = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "Imported by" in timeline and "tracker.csv" in timeline
    assert CaseEvent.objects.filter(case=case, summary__contains="Imported by").exists()


def test_the_column_choice_can_be_changed_and_a_wrong_choice_is_explained(
    client_for: Any, budget: Any, free_practices: list[str], today: date
) -> None:
    client = client_for("icb_a")
    response = client.post(reverse("caseload:home"), {"file": _file(free_practices, today, bad=False)})
    url = response["Location"]
    mapping = dict(CaseloadUpload.objects.get().mapping)
    assert mapping["reference"] == "Case ID" and mapping["amount"] == "Approved amount"
    refused = client.post(url, {**mapping, "reference": "", "practice": "Case ID"})
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "Choose the column that holds case reference" in body and 'href="#reference"' in body
    assert client.post(url, {**mapping, "notes": ""}).status_code == 302
    assert CaseloadUpload.objects.get().mapping["notes"] == ""


def test_the_template_downloads_as_xlsx_with_a_notes_sheet_and_as_csv(client_for: Any) -> None:
    client = client_for("icb_a")
    xlsx = client.get(reverse("caseload:template", args=["xlsx"]))
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    reader = fastexcel.read_excel(xlsx.content)
    assert reader.sheet_names == ["Caseload", "Budgets", "Notes"]
    notes = reader.load_sheet_by_name("Notes").to_polars()
    budgets = [f"Budgets: {c.heading}" for c in BUDGET_COLUMNS]
    assert notes["Column"].to_list() == [c.heading for c in COLUMNS] + budgets
    example, problems = read_budgets(xlsx.content, "caseload-template.xlsx")  # the example is read back as written
    assert problems == [] and example[0]["programme"] == "LRS-2026" and example[0]["amount"] == "£60,000.00"
    assert zipfile.ZipFile(io.BytesIO(xlsx.content)).testzip() is None
    csv = client.get(reverse("caseload:template", args=["csv"])).content.decode()
    assert csv.splitlines()[0].startswith("Case reference,Practice ODS code")
    assert client.get(reverse("caseload:template", args=["pdf"])).status_code == 403


@pytest.mark.parametrize("persona", ["national", "practice_x", "provider", "lmc"])
def test_only_icb_teams_may_open_the_import(client_for: Any, persona: str) -> None:
    assert client_for(persona).get(reverse("caseload:home")).status_code == 403


def test_another_icbs_upload_is_not_found(client_for: Any, personas: dict[str, Any]) -> None:
    from apps.caseload.services import upload_file

    made = upload_file(
        icb=personas["icb_a"].icb, user=personas["icb_a"], filename="a.csv", data=b"Case ID,ODS code\nX-1,A99901\n"
    )
    client = client_for("icb_b")
    assert client.get(reverse("caseload:upload", args=[made.pk])).status_code == 404
    assert client.post(reverse("caseload:commit", args=[made.pk])).status_code == 404
