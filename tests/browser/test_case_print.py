"""A case prints as a clean summary of one or two A4 pages: the print stylesheet hides the header, navigation,
footer, forms and buttons and keeps the case summary, plan, packages, notes and timeline (issue 16 §6).

The demo case printed is the busiest one the demo ICB team has (the most timeline entries, with a package), so a
lighter case fits too. The PDF and a screenshot of the print layout are kept under var/screenshots to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from apps.accounts.demo import DEMO_PASSWORD
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def busiest_case(django_db_blocker: Any) -> Iterator[int]:
    from django.db.models import Count

    from apps.accounts.models import User
    from apps.cases.models import Case

    with django_db_blocker.unblock():
        user = User.objects.get(username="icb-a")
        user.set_password(DEMO_PASSWORD)  # hashed with this run's hasher
        user.save(update_fields=["password"])
        case = (
            Case.objects.filter(icb_id=user.icb_id, packages__isnull=False)
            .annotate(n=Count("events", distinct=True))
            .order_by("-n", "pk")
            .first()
        )
        assert case is not None, "the demo data has a case with a package in icb-a's ICB"
    yield case.pk


def pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


def test_a_case_prints_as_a_summary_of_at_most_two_pages(page: Any, busiest_case: int) -> None:
    sign_in(page, "icb-a", DEMO_PASSWORD)
    page.goto(f"/cases/{busiest_case}/")
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    page.emulate_media(media="print")
    for hidden in (".nhsuk-header", ".nhsuk-footer", "form", ".nhsuk-button", ".nhsuk-breadcrumb"):
        assert all(not el.is_visible() for el in page.locator(hidden).all()), f"{hidden} shows in print"
    for kept in ("Timeline", "Packages of support"):
        expect(page.get_by_role("heading", name=kept)).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "case-print.png"), full_page=True)
    pdf = page.pdf(format="A4", print_background=True)
    (SHOTS / "case-print.pdf").write_bytes(pdf)
    pages = pdf_pages(pdf)
    assert 1 <= pages <= 2, f"the case prints on {pages} pages"
