"""Register pages: search, filters, paging, downloads, practice / ICB / PCN pages — on the real data."""

from __future__ import annotations

import csv
import io
import re

import polars as pl
import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def icb_client(client_for):
    return client_for("icb_a")


def html(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_search_by_ods_code_finds_the_practice(icb_client):
    page = html(icb_client.get(reverse("practices:search"), {"q": "a81001"}))
    assert "The Densham Surgery" in page
    assert "<strong>1</strong> practice found" in page


def test_search_by_postcode_ignores_spaces_and_case(icb_client):
    page = html(icb_client.get(reverse("practices:search"), {"q": "ts181hu"}))
    assert "A81001" in page


def test_search_by_words_of_the_name(icb_client):
    page = html(icb_client.get(reverse("practices:search"), {"q": "densham surgery"}))
    assert "A81001" in page


def test_filters_by_icb_and_status_and_pages_results(icb_client):
    page = html(icb_client.get(reverse("practices:search"), {"icb": "QHM", "status": "active"}))
    assert "practices found" in page
    assert "Page 2 of" in page
    page2 = html(icb_client.get(reverse("practices:search"), {"icb": "QHM", "status": "active", "page": 2}))
    assert "Page 1 of" in page2


def test_closed_practices_are_found_when_asked_for(icb_client):
    page = html(icb_client.get(reverse("practices:search"), {"q": "A81003", "status": "closed"}))
    assert "Victoria Medical Practice" in page


def test_no_results_gives_advice(icb_client):
    page = html(icb_client.get(reverse("practices:search"), {"q": "zzzz no such practice"}))
    assert "<strong>0</strong> practices found" in page
    assert "Check the spelling" in page


def test_hostile_search_text_is_escaped(icb_client):
    page = html(icb_client.get(reverse("practices:search"), {"q": "<script>alert(1)</script>"}))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_bad_page_number_shows_the_last_page_not_an_error(icb_client):
    html(icb_client.get(reverse("practices:search"), {"icb": "QHM", "page": "999999"}))
    html(icb_client.get(reverse("practices:search"), {"page": "abc"}))


def test_csv_download_has_every_filtered_practice(icb_client):
    response = icb_client.get(reverse("practices:search"), {"icb": "QHM", "status": "active", "download": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert 300 < len(rows) < 400
    assert all(r["icb_code"] == "QHM" for r in rows)
    assert {"ods_code", "list_size", "pcn_code"} <= set(rows[0])


def test_xlsx_download_opens_as_a_spreadsheet(icb_client):
    response = icb_client.get(reverse("practices:icb_detail", args=["QHM"]), {"download": "xlsx"})
    df = pl.read_excel(io.BytesIO(response.content))
    assert df.height > 300 and "ods_code" in df.columns


def test_practice_page_shows_hierarchy_workforce_quality_and_payments(icb_client):
    page = html(icb_client.get(reverse("practices:detail", args=["a81001"])))
    for text in (
        "The Densham Surgery",
        "North East and North Cumbria",
        "STOCKTON PCN",
        "3,904",
        "Patients per GP FTE",
        "2022/23",
        "Good",
        "QOF 2022-23",
        "£720,463",
        "Per weighted patient",
    ):
        assert text in page, text
    assert "<svg" in page  # the workforce chart


def test_practice_page_of_a_closed_practice_says_so(icb_client):
    page = html(icb_client.get(reverse("practices:detail", args=["A81003"])))
    assert "This practice is closed" in page


def test_icb_page_lists_practices_and_pcns(icb_client):
    page = html(icb_client.get(reverse("practices:icb_detail", args=["QHM"])))
    assert "North East and North Cumbria" in page and "STOCKTON PCN" in page


def test_icb_list_shows_all_42(icb_client):
    page = html(icb_client.get(reverse("practices:icb_list")))
    assert len(set(re.findall(r'href="/icbs/(Q[A-Z0-9]{2})/"', page))) == 42


def test_pcn_page_lists_members(icb_client):
    page = html(icb_client.get(reverse("practices:pcn_detail", args=["U89141"])))
    assert "The Densham Surgery" in page


def test_pages_send_a_content_security_policy_without_unsafe_inline(icb_client):
    response = icb_client.get(reverse("practices:search"))
    csp = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp and "unsafe-inline" not in csp


def test_data_sources_page_lists_every_source_with_its_licence(icb_client):
    page = html(icb_client.get(reverse("datasets:sources")))
    assert page.count("Open Government Licence") >= 10
    assert "Loaded" in page
