"""The ledger list at scale (issue 19 §2): the page and the API filter, count, sum and page in the database, so their
query count does not grow with the entries; downloads stream every matching line with formulas neutralised."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Sum
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from analytics.money import Kind
from apps.core.formatting import pounds
from apps.funding import ledger_list
from apps.funding.models import Budget, LedgerEntry, LedgerMonth
from apps.pages.testing import ICB_A

pytestmark = pytest.mark.django_db


def grow(budget: Budget, user, n: int, memo: str = "Top-up") -> None:
    """``n`` more signed entries on ``budget``, one a day going back, so they fall in several months."""
    now = timezone.now()
    LedgerEntry.objects.bulk_create(
        LedgerEntry(
            budget=budget,
            kind=Kind.VARIATION,
            amount_pence=(i % 7 + 1) * (-1 if i % 3 == 0 else 1),
            reference=f"SCALE-{i}",
            practice_code="A00001",
            memo=memo,
            created_by=user,
            created_at=now - timedelta(days=i),
        )
        for i in range(n)
    )


def queries(client, url: str, params: dict[str, str]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries)


@pytest.mark.parametrize("persona", ["icb_a", "national"])
def test_the_ledger_page_makes_the_same_queries_with_ten_times_the_entries(client_for, personas, budget, persona):
    client = client_for(persona)
    url, params = reverse("funding:ledger"), {"line": f"{budget.line.programme.code}/{budget.line.code}"}
    grow(budget, personas["icb_a"], 30)
    queries(client, url, params)  # the first request also loads what is cached once (session, menus)
    small = queries(client, url, params)
    grow(budget, personas["icb_a"], 300)
    assert queries(client, url, params) == small
    assert queries(client, url, {**params, "kind": "variation", "page": "2"}) == small


def test_the_page_counts_sums_and_pages_every_matching_entry(client_for, personas, budget):
    grow(budget, personas["icb_a"], 250)
    client = client_for("icb_a")
    params = {"line": f"{budget.line.programme.code}/{budget.line.code}", "kind": "variation"}
    entries = LedgerEntry.objects.filter(budget=budget, kind=Kind.VARIATION)
    net = entries.aggregate(t=Sum("amount_pence"))["t"]
    assert entries.count() == 250
    pages = [client.get(reverse("funding:ledger"), {**params, "page": str(n)}).content.decode() for n in (1, 2, 3)]
    assert "<strong>250</strong> lines" in pages[0] and f"variation total {pounds(net, 2)}" in pages[0]
    assert "1 to 100 shown" in pages[0] and "101 to 200 shown" in pages[1] and "201 to 250 shown" in pages[2]
    shown = [set(re.findall(r"SCALE-\d+", page)) for page in pages]
    assert [len(refs) for refs in shown] == [100, 100, 50]
    assert len(shown[0] | shown[1] | shown[2]) == 250  # every line once, none on two pages
    assert "SCALE-0<" in pages[0] and "SCALE-249<" in pages[2]  # newest first


def test_the_national_list_sums_each_month_in_the_database(personas, budget):
    grow(budget, personas["icb_a"], 90)
    qs = LedgerEntry.objects.filter(budget=budget, kind=Kind.VARIATION)
    rows = ledger_list.ledger_rows(qs, detail=False)
    lines = ledger_list.lines_of(list(rows), detail=False)
    assert 3 <= len(lines) == rows.count() <= 4  # 90 days back from today fall in three or four months
    assert sum(x["entries"] for x in lines) == 90
    assert sum(x["amount_pence"] for x in lines) == qs.aggregate(t=Sum("amount_pence"))["t"]
    assert ledger_list.totals(qs) == {"entries": 90, "net": qs.aggregate(t=Sum("amount_pence"))["t"]}
    months = [x["at"] for x in lines]
    assert months == sorted(months, reverse=True)
    assert all(timezone.localtime(m).day == 1 and x["reference"] == "" for m, x in zip(months, lines, strict=True))


def test_the_ledger_download_streams_every_line_with_formulas_neutralised(client_for, personas, budget):
    grow(budget, personas["icb_a"], 4_500, memo='=HYPERLINK("http://x")')
    response = client_for("icb_a").get(reverse("funding:ledger"), {"kind": "variation", "download": "csv"})
    assert isinstance(response, StreamingHttpResponse)
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    mine = [r for r in rows if r["reference"].startswith("SCALE-")]
    assert len(mine) == 4_500
    assert {r["memo"] for r in mine} == {'\'=HYPERLINK("http://x")'}
    assert (
        sum(int(r["amount_pence"]) for r in rows)
        == LedgerEntry.objects.filter(budget__icb__code=ICB_A, kind=Kind.VARIATION).aggregate(t=Sum("amount_pence"))[
            "t"
        ]
    )


def test_the_national_month_lines_read_from_the_running_totals_are_the_grouped_entries(personas, budget):
    grow(budget, personas["icb_a"], 120)
    entries = LedgerEntry.objects.all()
    for filters in (
        ledger_list.LedgerFilters(),
        ledger_list.LedgerFilters(kind=Kind.VARIATION),
        ledger_list.LedgerFilters(icb=ICB_A, line=f"{budget.line.programme.code}/{budget.line.code}"),
    ):
        grouped = list(ledger_list.ledger_rows(filters.apply(entries), detail=False))
        tallied = ledger_list.list_rows(filters, filters.apply(entries), LedgerMonth.objects.all(), detail=False)
        assert isinstance(tallied, ledger_list.MonthRows)
        assert tallied[:] == grouped and list(tallied.iterator(chunk_size=7)) == grouped
        assert tallied.count() == len(grouped) >= 4


@pytest.mark.parametrize("kind", ["", "variation"])
def test_the_national_page_and_download_give_the_same_lines_with_and_without_a_date_range(
    client_for, personas, budget, kind
):
    """Without a date range the month lines come from the running totals; a range that holds every entry groups the
    entries themselves. Both must give the same lines, totals and downloads."""
    grow(budget, personas["icb_a"], 120)
    every = {"from": "2000-01-01", "to": "2100-12-31"}
    page = client_for("national")
    url = reverse("funding:ledger")

    def lines(html: str) -> str:
        return html[html.index("<table") : html.index("</table>")]

    plain = page.get(url, {"kind": kind}).content.decode()
    ranged = page.get(url, {"kind": kind, **every}).content.decode()
    assert lines(plain) == lines(ranged) and plain.count("<tr") > 4
    assert (
        page.get(url, {"kind": kind, "download": "csv"}).getvalue()
        == page.get(url, {"kind": kind, "download": "csv", **every}).getvalue()
    )
