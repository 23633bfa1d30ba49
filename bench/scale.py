"""Scale bench (issue 19 §1): does every page and API list stay flat as the data grows?

1. **Builds** a dataset at each size, through the service's own functions (``bench/scale_data.py``): the demo
   (``migrate``, ``import_national``, ``score_practices``, demo users, funding, menu, cases and delivery) is 1x; each
   further multiple adds as many cases again over the two demo ICBs (70% / 30%), most of them run their whole course
   as a few years of use would leave them (referral to closure, with ``--sessions`` coaching sessions logged and
   signed off and ``--payments`` invoices recorded by one ICB user and approved by another), the rest stopped at each
   state of the demo's ladder. 100x with the defaults puts about 27,000 payments and 30,000 ledger entries in ICB A
   (the issue's first measurement: ~30,000 entries and ~27,000 payments for one ICB). Each size is kept as a fixture
   file under ``var/`` (a SQLite copy, or a ``pg_dump`` custom archive on PostgreSQL) and restored on the next run;
   a size is built from the largest smaller fixture (100x from 10x), so re-runs take minutes.
2. **Measures** every page of the URL conf with its walk arguments (``apps/accounts/tests/test_access_walk.py``
   EXPECTED, as the persona matrices use it) and every GET operation of the OpenAPI document, as every persona:
   those that answer 200 are timed (the fastest of ``--repeat`` after one warm-up) and their queries counted.
3. **Compares** the sizes: time and queries per size, the time ratio per 10x data, a flag for anything growing
   faster than logarithmically (more than ``GROWTH_LIMIT`` per 10x and more than ``NOISE_MS``) or making more
   queries as rows grow, and MET/MISSED against the target: <= 150 ms at the largest size and no query growth.

    .venv/bin/python bench/scale.py                          # SQLite, 1x and 10x
    .venv/bin/python bench/scale.py --sizes 1,10,100
    .venv/bin/python bench/scale.py --sizes 1,10,100 --build-only     # build and print each size's rows
    DATABASE_URL=postgres://postgres@127.0.0.1:54412/gpr_scale .venv/bin/python bench/scale.py

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from scale_data import Shape, grow  # noqa: E402

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
    p.add_argument("--repeat", type=int, default=3, help="timed requests per page and persona (the fastest counts)")
    p.add_argument("--rebuild", action="store_true", help="ignore the fixture files and build again")
    p.add_argument("--sessions", type=int, default=6, help="coaching sessions per delivered grown case (default 6)")
    p.add_argument("--payments", type=int, default=36, help="invoices paid per delivered grown case (default 36)")
    p.add_argument("--busiest", type=float, default=0.7, help="share of the grown cases in ICB A (default 0.7)")
    p.add_argument("--build-only", action="store_true", help="build (or restore) the sizes and print their rows")
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
    manage("migrate", "--noinput", "-v", "0")  # a fixture kept before the newest migrations gets them
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
        ("create_demo_delivery",),
    ):
        print(f"  manage.py {' '.join(step)}", flush=True)
        manage(*step)


def demo_case_count() -> int:
    from apps.cases.models import Case

    return Case.objects.count()


def prepare(url: str, size: int, rebuild: bool, demo_cases: list[int], shape: Shape) -> float:
    """The database at ``size`` x the demo, restored from its fixture or built from the largest smaller fixture (10x
    grows from 1x, 100x from 10x: each build adds only the difference)."""
    print(f"{size}x:", flush=True)
    from django.apps import apps

    if apps.ready:  # the SQLite file is about to be replaced: let go of it first
        from django.db import connections

        connections.close_all()
    if not rebuild and restore_fixture(url, size):
        return 0.0
    started = time.perf_counter()
    smaller = [s for s in range(size - 1, 0, -1) if fixture_file(url, s).exists()] if size > 1 else []
    base = smaller[0] if smaller and not (rebuild and smaller[0] == 1) else 1
    if size == 1 or not restore_fixture(url, base):
        base = 1
        build_demo(url)
        save_fixture(url, 1)
    if size > 1:
        import django

        django.setup()
        extra = demo_cases[0] * (size - base)
        print(
            f"  adding {extra} cases, {shape.busiest:.0%} in ICB A ({shape.sessions} sessions and {shape.payments} "
            "payments each once delivered) "
            "through the case, delivery and funding services…",
            flush=True,
        )
        t = time.perf_counter()
        made = grow(extra, seed=size, shape=shape)
        print(f"  {made} in {time.perf_counter() - t:.0f} s", flush=True)
        tally_audit()
        save_fixture(url, size)
    return time.perf_counter() - started


def tally_audit() -> bool:
    """Bring the national audit page's tallies up to date, as the scheduled job (``enqueue_scheduled audit``, every
    five minutes) would have while the data grew; whether there were none before (a fixture built without them)."""
    from datetime import timedelta

    from apps.pages.audit_totals import refresh_tallies
    from apps.pages.models import AuditTallyMark

    had = AuditTallyMark.objects.exists()
    refresh_tallies(settle=timedelta(0))  # nothing else writes to the bench database
    return not had


# --- measuring -------------------------------------------------------------------------------------------------------


def counts() -> dict[str, int]:
    from django.db.models import Count

    from apps.cases.models import Case, CaseEvent
    from apps.core.models import AuditRecord
    from apps.delivery.models import Session
    from apps.funding.models import LedgerEntry, Payment

    out = {"cases": Case.objects.count(), "case events": CaseEvent.objects.count()}
    out |= {"ledger entries": LedgerEntry.objects.count(), "payments": Payment.objects.count()}
    out |= {"sessions": Session.objects.count(), "audit rows": AuditRecord.objects.count()}
    busiest = LedgerEntry.objects.values("budget__icb__code").annotate(n=Count("pk")).order_by("-n").first() or {"n": 0}
    paid = Payment.objects.values("commitment__budget__icb__code").annotate(n=Count("pk")).order_by("-n").first()
    out["busiest ICB ledger entries"] = busiest["n"]
    out["busiest ICB payments"] = paid["n"] if paid else 0
    return out


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
    # the builder's notifications would print every e-mail on the demo's console backend: send none
    os.environ["DJANGO_EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
    VAR.mkdir(exist_ok=True)
    shape = Shape(sessions=args.sessions, payments=args.payments, busiest=args.busiest)
    runs: dict[int, dict[str, dict[str, Any]]] = {}
    data: dict[int, dict[str, int]] = {}
    demo_cases: list[int] = []
    import django

    for size in sizes:
        if size > 1 and not demo_cases:
            prepare(url, 1, args.rebuild and 1 in sizes, demo_cases, shape)
            django.setup()
            demo_cases.append(demo_case_count())
        took = prepare(url, size, args.rebuild, demo_cases, shape)
        from django.db import connection

        django.setup()
        connection.close()
        if size == 1 and not demo_cases:
            demo_cases.append(demo_case_count())
        if tally_audit():
            save_fixture(url, size)  # keep the tallies, so the load bench's restore has them too
        data[size] = counts()
        print(f"  rows: {data[size]}" + (f" (built in {took:.0f} s)" if took else ""), flush=True)
        if args.build_only:
            continue
        print("  measuring…", flush=True)
        runs[size] = measure(args.repeat, args.only)
        (VAR / f"bench-scale-{connection.vendor}-{size}x.json").write_text(json.dumps(runs[size], indent=1))
    done = [s for s in sizes if s in runs]
    if args.build_only:
        return
    if not done or not any(runs[s] for s in done):
        sys.exit("nothing measured")
    ok = report(done, runs, data)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
