"""The register list is a sortable table; a free-text search is sorted and paged like any other (issue 16 §6)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from apps.practices.models import Practice

pytestmark = pytest.mark.django_db


def codes(html: str) -> list[str]:
    return re.findall(r"<td>([A-Z]\d{5})</td>", html)


def test_the_register_sorts_by_list_size_both_ways(client_for):
    client = client_for("icb_a")
    html = client.get(reverse("practices:search"), {"icb": "QHM", "sort": "-list_size"}).content.decode()
    shown = codes(html)
    sizes = dict(Practice.objects.filter(code__in=shown).values_list("code", "list_size"))
    assert len(shown) == 25 and None not in sizes.values()  # the largest lists come first, no unknown size among them
    assert [sizes[c] for c in shown] == sorted(sizes.values(), reverse=True)
    assert 'aria-sort="descending"' in html
    assert 'href="?icb=QHM&amp;sort=list_size">Registered patients' in html


def test_a_text_search_is_sorted_and_paged_from_one_scan(client_for):
    client = client_for("icb_a")
    everyone = list(
        Practice.objects.search("surgery").filter(status="active").order_by("-code").values_list("code", flat=True)
    )
    assert len(everyone) > 50
    first = codes(client.get(reverse("practices:search"), {"q": "surgery", "sort": "-code"}).content.decode())
    second = codes(
        client.get(reverse("practices:search"), {"q": "surgery", "sort": "-code", "page": "2"}).content.decode()
    )
    assert first + second == everyone[:50]
