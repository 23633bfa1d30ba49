"""Scale bench (issue 19 §1): does every page and API list stay flat as the data grows?

1. **Builds** a dataset at each size, through the service's own functions: the demo (``migrate``, ``import_national``,
   ``score_practices``, demo users, funding, menu and cases) is 1x; each further multiple adds as many cases again,
   each climbed by the case services (referral, triage, health check, plan, package, approval against the ICB's
   budget, provider assignment, delivery, review) and, for approved packages, a payment recorded by one ICB user and
   approved by another (the funding services). Each size is kept as a fixture file under ``var/`` (a SQLite copy, or
   a ``pg_dump`` custom archive on PostgreSQL) and restored on the next run, so re-runs take minutes.
2. **Measures** every page of the URL conf with its walk arguments (``apps/accounts/tests/test_access_walk.py``
   EXPECTED, as the persona matrices use it) and every GET operation of the OpenAPI document, as every persona:
   those that answer 200 are timed (the fastest of ``--repeat`` after one warm-up) and their queries counted.
3. **Compares** the sizes: time and queries per size, the time ratio per 10x data, a flag for anything growing
   faster than logarithmically (more than ``GROWTH_LIMIT`` per 10x and more than ``NOISE_MS``) or making more
   queries as rows grow, and MET/MISSED against the target: <= 150 ms at the largest size and no query growth.

    .venv/bin/python bench/scale.py                          # SQLite, 1x and 10x
    .venv/bin/python bench/scale.py --sizes 1,10,100 --allow-100x
    DATABASE_URL=postgres://postgres@127.0.0.1:54346/gpr_scale .venv/bin/python bench/scale.py

100x is refused without ``--allow-100x`` (it prints how long it would take to build, from the 10x build's rate).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import math
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VAR = ROOT / "var"
TARGET_MS = 150.0
GROWTH_LIMIT = 1.5  # time ratio per 10x data above which growth is faster than logarithmic (log(10N)/log(N) ~ 1.3)
NOISE_MS = 5.0  # differences smaller than this are timer noise on a shared machine
DEMO_PERSONAS = {
    "national": "national",
    "icb_a": "icb-a",
    "icb_b": "icb-b",
    "practice_x": "practice-x",
    "practice_y": "practice-y",
    "provider": "provider",
    "lmc": "lmc",
}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1,10", help="multiples of the demo, comma-separated (default 1,10)")
    p.add_argument("--allow-100x", action="store_true", help="build sizes of 100x and more (hours on SQLite)")
    p.add_argument("--repeat", type=int, default=3, help="timed requests per page and persona (the fastest counts)")
    p.add_argument("--rebuild", action="store_true", help="ignore the fixture files and build again")
    p.add_argument("--only", default="", help="measure only pages/operations whose name contains this")
    return p.parse_args()


# --- the database ----------------------------------------------------------------------------------------------------


def db_url() -> str:
    return os.environ.get("DATABASE_URL", f"sqlite:///{VAR / 'bench-scale.sqlite3'}")


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def fixture_file(url: str, size: int) -> Path:
    return VAR / (f"bench-scale-{size}x.sqlite3" if is_sqlite(url) else f"bench-scale-{size}x.pgdump")


def pg_args(url: str) -> list[str]:
    u = urlparse(url)
    return ["-h", u.hostname or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres"]


def save_fixture(url: str, size: int) -> None:
    target = fixture_file(url, size)
    if is_sqlite(url):
        from django.db import connection

        connection.close()
        shutil.copyfile(sqlite_path(url), target)
    else:
        dbname = urlparse(url).path.lstrip("/")
        subprocess.run(["pg_dump", *pg_args(url), "-Fc", "-f", str(target), dbname], check=True)
    print(f"  kept as {target.relative_to(ROOT)}", flush=True)


def restore_fixture(url: str, size: int) -> bool:
    source = fixture_file(url, size)
    if not source.exists():
        return False
    if is_sqlite(url):
        shutil.copyfile(source, sqlite_path(url))
    else:
        dbname = urlparse(url).path.lstrip("/")
        subprocess.run(["dropdb", *pg_args(url), "--if-exists", dbname], check=True)
        subprocess.run(["createdb", *pg_args(url), dbname], check=True)
        subprocess.run(["pg_restore", *pg_args(url), "-d", dbname, "--no-owner", str(source)], check=True)
    print(f"  restored {source.relative_to(ROOT)}", flush=True)
    return True


def manage(*args: str) -> None:
    env = {**os.environ, "DATABASE_URL": db_url(), "DJANGO_DEBUG": "true"}
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def build_demo(url: str) -> None:
    """1x: the demo, exactly as the load bench and the demo site build it."""
    if is_sqlite(url):
        sqlite_path(url).unlink(missing_ok=True)
    for step in (
        ("migrate", "--noinput", "-v", "0"),
        ("import_national", "--quiet"),
        ("score_practices", "--if-stale"),
        ("create_demo_users",),
        ("create_demo_funding",),
        ("sync_menu",),
        ("create_demo_cases",),
    ):
        print(f"  manage.py {' '.join(step)}", flush=True)
        manage(*step)


def demo_case_count() -> int:
    from apps.cases.models import Case

    return Case.objects.count()


def grow(extra_cases: int, seed: int) -> dict[str, int]:
    """Add ``extra_cases`` cases to ICB A and ICB B, each climbed through the case services to a state of the demo's
    ladder, and pay part of every approved package (recorded by one ICB user, approved by another)."""
    from django.core.exceptions import PermissionDenied, ValidationError
    from django.core.management.base import CommandError
    from django.db import transaction

    from apps.accounts.models import Role, User
    from apps.cases import services
    from apps.cases.management.commands.create_demo_cases import CONCERNS, TARGETS
    from apps.cases.management.commands.create_demo_cases import Command as DemoCases
    from apps.cases.models import Case, Route, Status
    from apps.core.errors import DomainError
    from apps.funding import services as funding
    from apps.funding.models import Commitment, Payment
    from apps.indicators.models import PracticeScore
    from apps.practices.models import PracticeStatus

    demo = DemoCases(stdout=io.StringIO())
    rng = random.Random(seed)
    provider = User.objects.get(username="provider")
    made = {"cases": 0, "refused": 0, "payments": 0}
    for icb_name, share in (("icb-a", 0.7), ("icb-b", 0.3)):
        icb_user = User.objects.get(username=icb_name)
        colleague, _ = User.objects.get_or_create(
            username=f"{icb_name}-bench-colleague", defaults={"role": Role.ICB, "icb_id": icb_user.icb_id}
        )
        busy = Case.objects.open().values("practice_id")
        practices = [
            s.practice
            for s in PracticeScore.objects.filter(
                run__is_current=True, icb_id=icb_user.icb_id, practice__status=PracticeStatus.ACTIVE
            )
            .exclude(practice_id__in=busy)
            .exclude(practice__users__username__in=["practice-x", "practice-y"])
            .select_related("practice")
            .order_by("icb_rank")[: round(extra_cases * share)]
        ]
        for i, practice in enumerate(practices):
            target = TARGETS[i % len(TARGETS)]
            puser = demo._practice_user(practice)
            data = services.ReferralInput(
                CONCERNS[i % len(CONCERNS)],
                tried=rng.sample(sorted(services.TRIED_CHOICES)[:-1], 2),
                help_wanted=["Workforce support"],
                urgency=["routine", "soon", "urgent"][i % 3],
            )
            try:
                with contextlib.redirect_stdout(io.StringIO()), transaction.atomic():
                    case, _ = services.refer(icb_user, practice, Route.ICB, data)
                    if target == Status.WITHDRAWN:
                        services.change_status(puser, case, Status.WITHDRAWN, "Sorted locally.")
                    elif target != Status.REFERRED:
                        demo._climb(case, target, icb_user, puser, provider, rng)
                made["cases"] += 1
            except (DomainError, ValidationError, CommandError):
                made["refused"] += 1  # e.g. the ICB's budget is spent: the case stays where the rules stopped it
        for commitment in Commitment.objects.filter(budget__icb_id=icb_user.icb_id, status=Commitment.Status.OPEN):
            if Payment.objects.filter(commitment=commitment).exists():
                continue
            try:
                with transaction.atomic():
                    payment = funding.record_payment(
                        reference=commitment.reference,
                        amount_pence=max(1, commitment.amount_pence // 4),
                        kind="invoice",
                        payee="Bench Provider Ltd",
                        user=colleague,
                        invoice_number=f"BENCH-{commitment.pk}",
                    )
                    funding.approve_payment(payment=payment, user=icb_user)
                made["payments"] += 1
            except (DomainError, ValidationError, PermissionDenied) as exc:  # a refused payment is counted
                made["refused"] += 1
                if made["refused"] == 1:
                    print(f"  (first refusal: {type(exc).__name__}: {exc})", flush=True)
    return made


def prepare(url: str, size: int, rebuild: bool, demo_cases: list[int]) -> float:
    """The database at ``size`` x the demo, restored from its fixture or built (from the next smaller fixture)."""
    print(f"{size}x:", flush=True)
    from django.apps import apps

    if apps.ready:  # the SQLite file is about to be replaced: let go of it first
        from django.db import connections

        connections.close_all()
    if not rebuild and restore_fixture(url, size):
        return 0.0
    started = time.perf_counter()
    if size == 1 or not restore_fixture(url, 1):
        build_demo(url)
        save_fixture(url, 1)
    if size > 1:
        import django

        django.setup()
        extra = demo_cases[0] * (size - 1)
        print(f"  adding {extra} cases through the case and funding services…", flush=True)
        made = grow(extra, seed=size)
        print(f"  {made}", flush=True)
        save_fixture(url, size)
    return time.perf_counter() - started


# --- measuring -------------------------------------------------------------------------------------------------------


def counts() -> dict[str, int]:
    from apps.cases.models import Case, CaseEvent
    from apps.funding.models import LedgerEntry, Payment

    out = {"cases": Case.objects.count(), "case events": CaseEvent.objects.count()}
    return out | {"ledger entries": LedgerEntry.objects.count(), "payments": Payment.objects.count()}


def targets() -> list[tuple[str, str]]:
    """(name, URL) of every page with walk arguments we can fill, and every GET operation of the API."""
    from django.urls import NoReverseMatch, reverse

    from apps.accounts.tests.test_access_walk import EXPECTED
    from apps.api.testing import operations
    from apps.cases.models import Case, Status
    from apps.indicators.services import current_run
    from apps.pages.testing import ICB_A

    case = (
        Case.objects.filter(icb__code=ICB_A, status=Status.IN_DELIVERY).order_by("pk").first()
        or Case.objects.filter(icb__code=ICB_A).order_by("pk").first()
    )
    fill = {"{case}": str(case.pk) if case else None}
    out = []
    for name, (args, _) in sorted(EXPECTED.items()):
        if any(a.startswith("{") and fill.get(a) is None for a in args):
            continue  # an object only the walk's fixtures make (a network, a teammate…)
        with contextlib.suppress(NoReverseMatch):
            out.append((name, reverse(name, args=[fill.get(a, a) for a in args])))
    run = current_run()
    from apps.accounts.models import User

    px = User.objects.get(username="practice-x").practice
    params = {
        "code": px.code if px else "A81001",
        "run": str(run.pk) if run else "0",
        "case_id": fill["{case}"],
        "number": "1",
    }
    for op_id, method, path in operations():
        if method != "GET" or "openapi" in path:
            continue
        if "/icbs/{code}" in path:
            path = path.replace("{code}", ICB_A)
        for key, value in params.items():
            if "{" + key + "}" in path and value is not None:
                path = path.replace("{" + key + "}", value)
        if "{" not in path:
            out.append((f"api:{op_id}", path))
    return out


def measure(repeat: int, only: str) -> dict[str, dict[str, Any]]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from apps.accounts.models import User

    clients = {}
    for persona, username in DEMO_PERSONAS.items():
        c = Client(headers={"x-forwarded-proto": "https"})
        c.force_login(User.objects.get(username=username))
        clients[persona] = c
    # every refusal (403/404/405) a persona meets on the way is logged as a warning: keep the report readable
    logging.getLogger("django.request").setLevel(logging.ERROR)
    results: dict[str, dict[str, Any]] = {}
    for name, url in targets():
        if only and only not in name:
            continue
        for persona, client in clients.items():
            first = client.get(url, secure=True)
            if first.status_code != 200:
                continue  # this persona does not see it (or it only answers POST)
            times = []
            for _ in range(repeat):
                t = time.perf_counter()
                client.get(url, secure=True)
                times.append((time.perf_counter() - t) * 1000)
            with CaptureQueriesContext(connection) as queries:
                client.get(url, secure=True)
            # the fastest of the repeats: on a shared machine the others measure the neighbours' load, not the page
            results[f"{name} as {persona}"] = {"url": url, "ms": min(times), "queries": len(queries)}
    return results


# --- the report ------------------------------------------------------------------------------------------------------


def report(sizes: list[int], runs: dict[int, dict[str, dict[str, Any]]], data: dict[int, dict[str, int]]) -> bool:
    print("\nData per size: " + "; ".join(f"{s}x {data[s]}" for s in sizes))
    largest = sizes[-1]
    head = "".join(f"{f'{s}x ms':>9}" for s in sizes) + "".join(f"{f'{s}x q':>7}" for s in sizes)
    print(f"\n{'page or operation, as persona':<64}{head}  {'x/10x':>6}  flags")
    ok = True
    for key in sorted(runs[largest]):
        rows = [runs[s].get(key) for s in sizes]
        if any(r is None for r in rows):
            continue
        ms = [r["ms"] for r in rows]  # type: ignore[index]
        q = [r["queries"] for r in rows]  # type: ignore[index]
        decades = math.log10(sizes[-1] / sizes[0]) if len(sizes) > 1 else 0
        ratio = (ms[-1] / ms[0]) ** (1 / decades) if decades else 1.0
        flags = []
        if ms[-1] > TARGET_MS:
            flags.append(f"> {TARGET_MS:.0f} ms")
        if len(sizes) > 1 and ratio > GROWTH_LIMIT and ms[-1] - ms[0] > NOISE_MS:
            flags.append("grows faster than log")
        if q[-1] > q[0]:
            flags.append(f"queries grow {q[0]}→{q[-1]}")
        ok = ok and not flags
        cells = "".join(f"{m:9.1f}" for m in ms) + "".join(f"{n:7d}" for n in q)
        print(f"{key[:64]:<64}{cells}  {ratio:6.2f}  {', '.join(flags)}")
    worst = max(runs[largest].values(), key=lambda r: r["ms"])
    print(f"\nslowest at {largest}x: {worst['url']} {worst['ms']:.1f} ms")
    print(f"target: every page and operation <= {TARGET_MS:.0f} ms at {largest}x, no query growth: "
          f"{'MET' if ok else 'MISSED'}")  # fmt: skip
    return ok


def main() -> None:
    args = parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    url = db_url()
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gpsupport.settings")
    VAR.mkdir(exist_ok=True)
    runs: dict[int, dict[str, dict[str, Any]]] = {}
    data: dict[int, dict[str, int]] = {}
    demo_cases: list[int] = []
    build_rate = 0.0  # seconds per added case, from the last build
    for size in sizes:
        if size >= 100 and not args.allow_100x:
            estimate = build_rate * (demo_cases[0] if demo_cases else 14) * (size - 1) if build_rate else None
            when = f"about {estimate / 60:.0f} minutes" if estimate else "unknown (build 10x first to estimate)"
            print(f"{size}x skipped: building it would take {when}; run with --allow-100x")
            continue
        if size > 1 and not demo_cases:
            prepare(url, 1, args.rebuild, demo_cases)
            import django

            django.setup()
            demo_cases.append(demo_case_count())
        took = prepare(url, size, args.rebuild, demo_cases)
        import django
        from django.db import connection

        django.setup()
        connection.close()
        if size == 1 and not demo_cases:
            demo_cases.append(demo_case_count())
        if took and size > 1:
            build_rate = took / (demo_cases[0] * (size - 1))
        data[size] = counts()
        print(f"  measuring ({data[size]})…", flush=True)
        runs[size] = measure(args.repeat, args.only)
        (VAR / f"bench-scale-{connection.vendor}-{size}x.json").write_text(json.dumps(runs[size], indent=1))
    done = [s for s in sizes if s in runs]
    if not done:
        sys.exit("nothing measured")
    ok = report(done, runs, data)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
