"""The case queue is a sortable, searchable table whose download has the page's columns (issue 16 §6)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse

from apps.cases import policy as access
from apps.cases.models import OPEN

pytestmark = pytest.mark.django_db


def refs(html: str) -> list[str]:
    return re.findall(r'<a href="/cases/\d+/">([^<]+)</a>', html)


def test_a_sortable_heading_is_a_link_that_sorts_and_says_so(client_for, personas):
    client = client_for("icb_a")
    html = client.get(reverse("cases:queue"), {"sort": "-ref"}).content.decode()
    shown = refs(html)
    assert len(shown) > 1 and shown == sorted(shown, reverse=True)
    assert re.search(r'<th scope="col" aria-sort="descending"><a class="app-sort-link" href="\?sort=ref">Case', html)
    assert '<a class="app-sort-link" href="?sort=practice">Practice</a>' in html
    ascending = refs(client.get(reverse("cases:queue"), {"sort": "ref"}).content.decode())
    assert ascending == sorted(shown)


def test_an_unknown_sort_or_page_is_ignored_not_an_error(client_for):
    response = client_for("icb_a").get(reverse("cases:queue"), {"sort": "password", "page": "x", "per_page": "9999"})
    assert response.status_code == 200 and refs(response.content.decode())


def test_search_by_ods_code_or_practice_name(client_for, personas):
    case = access.cases_visible_to(personas["icb_a"]).filter(status__in=OPEN).select_related("practice").first()
    client = client_for("icb_a")
    by_code = refs(client.get(reverse("cases:queue"), {"q": case.practice.code.lower()}).content.decode())
    assert by_code == [case.ref]
    by_name = refs(client.get(reverse("cases:queue"), {"q": case.practice.name[2:12]}).content.decode())
    assert case.ref in by_name


def test_the_download_has_the_pages_headings_and_every_filtered_row(client_for, personas):
    client = client_for("icb_a")
    response = client.get(reverse("cases:queue"), {"download": "csv", "sort": "-ref"})
    rows = list(csv.reader(io.StringIO(response.getvalue().decode())))  # getvalue: the download streams
    assert rows[0] == ["Case", "Practice", "ODS code", "Status", "Urgency", "Triage", "Opened", "Needs attention"]
    visible = access.cases_visible_to(personas["icb_a"]).filter(status__in=OPEN)
    assert [r[0] for r in rows[1:]] == sorted((c.ref for c in visible), reverse=True)
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", r[6]) for r in rows[1:])
