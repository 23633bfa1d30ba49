"""Benchmark: the day-one caseload import of a 5,000-row spreadsheet for the demo ICB, in one run, one process.

Builds a throwaway SQLite database (the national register, the demo users and the demo money), writes a realistic
5,000-row tracker from the demo ICB's practices (home-made headers, dates and money typed several ways, open cases on
practices without one, closed ones anywhere, packages within the budget's headroom), then times:

- **floor**: reading the same XLSX into text cells (polars + fastexcel) — what any import must at least do;
- **preview**: upload (keep the file, hash it, suggest the columns) and the row-by-row plan;
- **commit**: every case, its history, packages, commitments and payments, through the real services.

Run: .venv/bin/python bench/import_caseload.py [ROWS]
Target (issue 16 §2): a 5,000-row file previews in a few seconds — MET when preview ≤ 5 s.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB = Path(tempfile.mkdtemp(prefix="bench-caseload-")) / "bench.sqlite3"
os.environ["DATABASE_URL"] = f"sqlite:///{DB}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gpsupport.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from analytics.money import financial_year_of  # noqa: E402
from apps.accounts.models import Role, TeamRole, User  # noqa: E402
from apps.caseload import reading, sample, services  # noqa: E402
from apps.cases.models import OPEN, Case  # noqa: E402
from apps.cases.services import sync_menu  # noqa: E402
from apps.funding.models import Budget  # noqa: E402
from apps.funding.services import balances  # noqa: E402
from apps.practices.models import Practice, PracticeStatus  # noqa: E402

TARGET_S = 5.0
OFFER = "gprp-management-advice"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def build() -> float:
    def steps() -> None:
        call_command("migrate", interactive=False, verbosity=0)
        for command, options in (
            ("import_national", {"quiet": True}),
            ("create_demo_users", {"force": True}),
            ("create_demo_funding", {"force": True}),
        ):
            call_command(command, stdout=io.StringIO(), **options)
        sync_menu()

    return timed(steps)[0]


def main(rows: int) -> None:
    print(f"database: {DB}")
    print(f"build (migrate, national register, demo users and money): {build():.1f} s")
    user = User.objects.filter(role=Role.ICB, team_role=TeamRole.LEAD, icb__isnull=False).order_by("pk").first()
    user = user or User.objects.filter(role=Role.ICB, icb__isnull=False).order_by("pk").first()
    assert user is not None and user.icb is not None, "the demo users include an ICB team"
    icb, today = user.icb, timezone.localdate()
    fy = financial_year_of(today)
    budget = Budget.objects.filter(icb=icb, fy=fy).select_related("line__programme").order_by("pk").first()
    assert budget is not None, "the demo money gives the ICB a budget this year"
    headroom = balances([budget.pk])[budget.pk].headroom
    practices = Practice.objects.filter(icb=icb, status=PracticeStatus.ACTIVE).order_by("code")
    busy = set(Case.objects.filter(status__in=OPEN).values_list("practice_id", flat=True))
    free = [p.code for p in practices if p.pk not in busy]
    packages = min(len(free) // 2, headroom // 4_000_00, rows // 10)  # each at most £4,000: within the headroom
    data = sample.caseload(
        free, [p.code for p in practices], cases=rows, packages=packages, programme=budget.line.programme.code,
        fy=fy, offer=OFFER, today=today,
    )  # fmt: skip
    xlsx = sample.as_xlsx(data)
    print(
        f"{icb.short_name}: {len(free)} practices without an open case; file of {rows:,} rows "
        f"({packages} packages, {len(xlsx) / 1024:.0f} KB XLSX)"
    )

    floor, table = timed(lambda: reading.read_table(xlsx, "caseload.xlsx"))
    assert len(table.rows) == rows
    upload_s, upload = timed(lambda: services.upload_file(icb=icb, user=user, filename="caseload.xlsx", data=xlsx))
    plan_s, seen = timed(lambda: services.preview(upload))
    assert seen.plan is not None, seen.mapping_problems
    errors = seen.plan.errors
    assert not errors, [(r.number, r.reasons) for r in errors[:5]]
    preview_s = upload_s + plan_s
    commit_s, done = timed(lambda: services.commit_upload(upload=upload, user=user))
    again = services.upload_file(icb=icb, user=user, filename="caseload.xlsx", data=xlsx)
    second_s, second = timed(lambda: services.preview(again))
    assert second.plan is not None and second.plan.counts["create"] == 0

    print(f"floor (read XLSX to text):     {floor:6.2f} s")
    print(f"upload (keep, hash, columns):  {upload_s:6.2f} s")
    print(f"preview (every row planned):   {plan_s:6.2f} s   = {plan_s / floor:.1f}x the floor")
    print(f"upload + preview:              {preview_s:6.2f} s")
    print(f"commit ({done.counts['create']:,} created):        {commit_s:6.2f} s   = {commit_s / floor:.0f}x the floor")
    print(f"preview of the same file again: {second_s:5.2f} s   ({second.plan.counts['unchanged']:,} already here)")
    print(f"preview <= {TARGET_S:.0f} s: {'MET' if preview_s <= TARGET_S else 'MISSED'} ({preview_s:.2f} s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5_000)
