"""The ICB case queue is paged, counted and filtered in the database: its query count does not grow with the cases,
it shows one page of rows, and its counts (cases, overdue steps) cover every case (issue 19)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.cases import policy as access
from apps.cases import services
from apps.cases.models import OPEN, Case, Route
from apps.core.paging import PAGE_SIZE
from apps.practices.models import Practice, PracticeStatus

pytestmark = pytest.mark.django_db


def nominate(icb_user, n: int) -> list[Case]:
    """ICB nominations for ``n`` practices of the ICB with no open case; every other one opened 40 days ago with no
    contact yet (late for first contact)."""
    free = (
        Practice.objects.filter(icb=icb_user.icb, status=PracticeStatus.ACTIVE)
        .exclude(support_cases__status__in=OPEN)
        .order_by("code")[:n]
    )
    made = []
    for i, practice in enumerate(free):
        case, _ = services.refer(icb_user, practice, Route.ICB, services.ReferralInput("Two partners are leaving."))
        if i % 2:
            Case.objects.filter(pk=case.pk).update(opened_at=timezone.now() - timedelta(days=40), first_contact_at=None)
        made.append(case)
    assert len(made) == n, "the test ICB has too few practices without an open case"
    return made


def get(client, params: dict[str, str] | None = None) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("cases:queue"), params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def case_links(html: str) -> list[str]:
    return re.findall(r'<a href="/cases/\d+/">([^<]+)</a>', html)


def test_the_queue_is_paged_and_counts_every_case_in_constant_queries(client_for, personas):
    client = client_for("icb_a")
    client.get(reverse("cases:queue"))  # warm per-process caches so both measured requests start alike
    nominate(personas["icb_a"], 2)
    few, _ = get(client)
    nominate(personas["icb_a"], PAGE_SIZE + 10)
    many, html = get(client)
    assert many == few, f"{few} queries with few cases, {many} with many"

    visible = access.cases_visible_to(personas["icb_a"]).filter(status__in=OPEN)
    today = timezone.localdate()
    overdue = [c for c in visible if c.overdue_reasons(today)]
    assert len(case_links(html)) == PAGE_SIZE
    count = re.search(
        r'id="case-count"><strong>([\d,]+)</strong> cases, <strong>([\d,]+)</strong> with an overdue', html
    )
    assert count and (count[1], count[2]) == (f"{visible.count():,}", f"{len(overdue):,}")


def test_the_overdue_filter_matches_the_cases_own_rule_and_is_kept_across_pages(client_for, personas):
    client = client_for("icb_a")
    nominate(personas["icb_a"], 2 * PAGE_SIZE + 4)
    # a review date passed, and a late case already contacted (no longer late for contact)
    reviewed, contacted = Case.objects.filter(icb=personas["icb_a"].icb, status__in=OPEN).order_by("pk")[:2]
    Case.objects.filter(pk=reviewed.pk).update(review_due=timezone.localdate() - timedelta(days=1))
    Case.objects.filter(pk=contacted.pk).update(
        opened_at=timezone.now() - timedelta(days=40), first_contact_at=timezone.now()
    )
    today = timezone.localdate()
    visible = access.cases_visible_to(personas["icb_a"]).filter(status__in=OPEN)
    expected = sorted(c.ref for c in visible if c.overdue_reasons(today))
    assert len(expected) > PAGE_SIZE
    assert sorted(c.ref for c in Case.objects.overdue(today).filter(pk__in=visible)) == expected
    assert reviewed.ref in expected and contacted.ref not in expected

    shown: list[str] = []
    _, html = get(client, {"overdue": "1"})
    assert re.search(r"overdue=1&(amp;)?page=2", html)
    page = 1
    while True:
        shown += case_links(html)
        if f"page={page + 1}" not in html:
            break
        page += 1
        _, html = get(client, {"overdue": "1", "page": str(page)})
    assert sorted(shown) == expected
