"""The delivery overview counts sessions in the database: per line for the ICB team (one page of lines), per ICB for
the national team, in the same number of queries however many sessions there are (issue 19)."""

from __future__ import annotations

import re
from datetime import timedelta
from html import escape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.cases.models import Package
from apps.delivery import services
from apps.delivery.models import Assignment, Session

pytestmark = pytest.mark.django_db


def add_sessions(personas, a: Assignment, n: int) -> None:
    """``n`` sessions on the line: planned, delivered, and delivered and confirmed in turn."""
    now = timezone.now()
    for i in range(n):
        kind = i % 3
        Session.objects.create(
            practice=a.case.practice,
            case=a.case,
            assignment=a,
            member=a.member,
            title=f"Coaching {i}",
            starts_at=now + timedelta(days=1 + i) if kind == 0 else now - timedelta(days=1 + i),
            planned_hours=1,
            state=Session.State.PLANNED if kind == 0 else Session.State.DELIVERED,
            delivered_hours=None if kind == 0 else 1,
            confirmed_at=now if kind == 2 else None,
            created_by=personas["icb_a"],
        )


def get(client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("delivery:home"))
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def test_the_icb_overview_counts_each_lines_sessions_in_constant_queries(client_for, personas, approved_x, coach):
    line = approved_x.packages.get(state=Package.State.APPROVED).lines.get(offer__code="gprp-coaching")
    a = services.assign_work(personas["icb_a"], line, member=coach)
    client = client_for("icb_a")
    client.get(reverse("delivery:home"))  # warm per-process caches so both measured requests start alike

    add_sessions(personas, a, 3)
    few, _ = get(client)
    add_sessions(personas, a, 30)
    many, html = get(client)
    assert many == few, f"{few} queries with few sessions, {many} with many"

    mine = Session.objects.filter(assignment=a)
    planned = mine.filter(state=Session.State.PLANNED).count()
    delivered = mine.filter(state=Session.State.DELIVERED).count()
    confirmed = mine.filter(confirmed_at__isnull=False).count()
    assert (planned, delivered, confirmed) == (11, 22, 11)
    row = re.search(rf">{approved_x.ref}</a>.*?</tr>", html, re.S)
    assert row and f"{planned} / {delivered} / {confirmed}" in row[0]


def test_the_national_overview_counts_lines_and_delivered_sessions_per_icb(client_for, personas, approved_x, coach):
    line = approved_x.packages.get(state=Package.State.APPROVED).lines.get(offer__code="gprp-coaching")
    a = services.assign_work(personas["icb_a"], line, member=coach)
    add_sessions(personas, a, 9)
    icb = approved_x.icb
    lines = Assignment.objects.filter(ended_at__isnull=True, case__icb=icb).count()
    delivered = Session.objects.filter(state=Session.State.DELIVERED, practice__icb=icb).count()
    _, html = get(client_for("national"))
    row = re.search(rf"<td>{re.escape(escape(icb.name))}</td><td[^>]*>(\d+)</td><td[^>]*>(\d+)</td>", html)
    assert row and (int(row[1]), int(row[2])) == (lines, delivered)
    assert approved_x.practice.display_name not in html


def test_the_icb_overview_lists_open_supported_cases_and_links_to_every_one_ever_supported(client_for, approved_x):
    """History does not grow the overview: a closed case leaves its list and is counted on the link to the
    programme outcomes page (paged), where every supported case stays."""
    from apps.cases.models import ENDED, Case
    from apps.delivery.outcomes import supported_cases

    client = client_for("icb_a")
    ever = supported_cases(Case.objects.filter(icb=approved_x.icb)).count()
    link = f"Every case your ICB has supported ({ever:,})"
    _, html = get(client)
    listed, _ = html.split("Open cases with an approved package", 1)[1].split(link, 1)
    assert approved_x.ref in listed and f'href="{reverse("delivery:outcomes")}">{link}' in html
    Case.objects.filter(pk=approved_x.pk).update(status=sorted(ENDED)[0])
    _, html = get(client)
    listed, _ = html.split("Open cases with an approved package", 1)[1].split(link, 1)  # still counted
    assert approved_x.ref not in listed
