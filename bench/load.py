"""Load test: the production server configuration under 20 concurrent signed-in users, on loopback only.

Starts gunicorn with the project's gunicorn.conf.py (the production configuration) and the real settings (DEBUG off, a
random secret key, whitenoise serving collected static files, manifest storage) against a prepared database — SQLite
by default (var/bench-load.sqlite3), or PostgreSQL with ``--postgres URL`` — signs each simulated user in through the
real sign-in form as a demo persona, and drives the pages in ``SCENARIO`` for a bounded time and request count. First
a baseline on the same server in the same process: the same users' pages one request at a time, so each page's own
time with no queueing; then the load. Prints p50/p95/p99, throughput and errors per page, each page's p95 alone and
the ratio of its p95 under load to it, and the verdict against the target: p95 < 150 ms and zero errors. With
``--steps 20,50,100`` the load runs once per number of concurrent users and a summary gives throughput and p50/p95/p99
per step, with MET/MISSED for the goal (issue 19 §4): p95 < 150 ms on every page at 50 users. ``--scaled N`` runs on
bench/scale.py's N x dataset.

The load client plays the part of the TLS-terminating proxy: it sends ``X-Forwarded-Proto: https``, so the server
runs with exactly the production security settings (SSL redirect, secure cookies, HSTS) over plain loopback HTTP.

    .venv/bin/python bench/load.py                                  # SQLite, 20 users, 30 s
    .venv/bin/python bench/load.py --postgres postgres://postgres@127.0.0.1:54333/gpr_bench
    .venv/bin/python bench/load.py --think 0 --duration 20          # no pause between requests: saturation
    .venv/bin/python bench/load.py --scaled 10 --steps 20,50,100    # bench/scale.py's 10x data, 20/50/100 users

Users pause ``--think`` seconds on average between pages (0.5 s by default: a fast human). Not part of the test
suite. Exit status 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import runpy
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

import cpu_account

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
HOST = "127.0.0.1"
TARGET_P95_MS = 150.0
DEMO_PASSWORD = "demo-password-2026"  # apps/accounts/demo.py
SEARCHES = ["surgery", "medical centre", "A81", "TS18", "health centre", "road", "Y0", "group practice", "SW1"]


@dataclass
class User:
    persona: str  # demo username
    icb: str | None = None  # for ICB users: their watch list
    cookies: dict[str, str] = field(default_factory=dict)


# The pages under load: (name, who loads it, how to build its path). Another area adds its page with one line here.
Path_ = Callable[[User, "Data"], str]
ICB_USERS = {"icb-a", "icb-b"}
EVERYONE = {"national", "icb-a", "icb-b", "practice-x", "practice-y", "provider", "lmc"}
SCENARIO: list[tuple[str, set[str], Path_]] = [
    ("practice search", EVERYONE, lambda u, d: "/practices/?" + urlencode({"q": random.choice(SEARCHES)})),
    ("practice search by ICB", EVERYONE, lambda u, d: f"/practices/?icb={random.choice(d.icbs)}&page=2"),
    ("practice detail", EVERYONE, lambda u, d: f"/practices/{random.choice(d.practices)}/"),
    ("watch list", ICB_USERS, lambda u, d: f"/watch-list/{u.icb}/"),
    ("watch summary", {"national"}, lambda u, d: "/watch-list/"),
    ("case queue", ICB_USERS | {"practice-x", "provider"}, lambda u, d: "/cases/"),
    ("case queue, overdue", ICB_USERS, lambda u, d: "/cases/?overdue=1&show=all"),
    ("case counts", {"national"}, lambda u, d: "/cases/"),
    ("API practices", EVERYONE, lambda u, d: f"/api/v1/practices?icb={random.choice(d.icbs)}&page_size=50"),
    # the pages issue 19 found degrading as the data grows: money, ledger, payments, delivery and targeting
    ("money dashboard", {"national"}, lambda u, d: "/money/"),
    ("ICB budget", ICB_USERS | {"national"}, lambda u, d: f"/money/icb/{u.icb or 'QHM'}/"),
    ("ICB payments", ICB_USERS, lambda u, d: f"/money/icb/{u.icb}/payments/"),
    ("ledger", ICB_USERS | {"national"}, lambda u, d: "/money/ledger/"),
    ("delivery home", {"provider", "icb-a", "icb-b", "national"}, lambda u, d: "/delivery/"),
    ("delivery case", {"provider", "icb-a"}, lambda u, d: f"/delivery/cases/{random.choice(d.delivery_cases)}/"),
    ("ripple scores", ICB_USERS, lambda u, d: f"/targeting/icb/{u.icb}/"),
    ("spending scenarios", ICB_USERS | {"national"}, lambda u, d: "/targeting/scenarios/"),
    ("API cases", ICB_USERS | {"practice-x", "provider"}, lambda u, d: "/api/v1/cases?page_size=50"),
    ("API sessions", ICB_USERS | {"provider"}, lambda u, d: "/api/v1/sessions?page_size=50"),
    ("API ledger", ICB_USERS | {"national"}, lambda u, d: f"/api/v1/ledger?icb={u.icb or 'QHM'}&page_size=50"),
    ("API budgets", ICB_USERS | {"national"}, lambda u, d: f"/api/v1/budgets?icb={u.icb or 'QHM'}"),
]


@dataclass
class Data:
    practices: list[str]
    icbs: list[str]
    delivery_cases: list[int] = field(default_factory=list)  # ICB A's cases with a provider: the delivery case page


# --- the server ------------------------------------------------------------------------------------------------------


def server_env(db_url: str, static_root: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return {
        **base,
        "DATABASE_URL": db_url,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DJANGO_STATIC_ROOT": str(static_root),
        "DJANGO_LOG_LEVEL": "ERROR",
        # no background worker runs beside the bench: /health/ (the start-up probe) must not wait for one
        "HEALTH_WORKER_MAX_SILENCE_SECONDS": "0",
    }


def manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


def prepare_database(db_url: str, fresh: bool) -> None:
    """Migrate, load the national data, score, and create the demo users (each step skips work already done)."""
    env = {**os.environ, "DATABASE_URL": db_url, "DJANGO_DEBUG": "true"}
    if fresh and db_url.startswith("sqlite:///"):
        Path(ROOT / db_url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    print(f"preparing {db_url} (migrate, national data, scores, demo users, money and cases)…", flush=True)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "import_national", "--quiet")
    manage(env, "score_practices", "--if-stale")
    manage(env, "create_demo_users")
    manage(env, "create_demo_funding")
    manage(env, "sync_menu")
    manage(env, "create_demo_cases")


def gunicorn_config(workers: int | None, threads: int | None) -> tuple[dict[str, str], int, int]:
    """The environment that gives the project's gunicorn.conf.py these counts (None: its own), and the counts."""
    env = {k: str(v) for k, v in (("GUNICORN_WORKERS", workers), ("GUNICORN_THREADS", threads)) if v is not None}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return env, conf["workers"], conf["threads"]


def start_gunicorn(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """The production configuration (gunicorn.conf.py) on the bench's port."""
    args = [str(Path(PY).parent / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), f"--bind={HOST}:{port}"]
    proc = subprocess.Popen(args, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            status, _, _ = request(port, "GET", "/health/", {})
            if status == 200:
                return proc
        except OSError:
            pass
        if proc.poll() is not None:
            sys.exit("gunicorn exited during start-up")
        time.sleep(0.2)
    stop(proc)
    sys.exit("gunicorn did not answer /health/ within 30 s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


# --- the client ------------------------------------------------------------------------------------------------------


def request(
    port: int, method: str, path: str, cookies: dict[str, str], body: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request as the TLS proxy would forward it. Returns (status, headers, body) and updates ``cookies``."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    headers = {"Host": HOST, "X-Forwarded-Proto": "https", "Accept": "text/html,application/json"}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    data = None
    if body is not None:
        data = urlencode(body)
        headers |= {"Content-Type": "application/x-www-form-urlencoded", "Origin": f"https://{HOST}"}
        headers["Referer"] = f"https://{HOST}{path}"
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        content = response.read()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                cookies[key] = rest.split(";", 1)[0]
        return response.status, {k.lower(): v for k, v in response.getheaders()}, content
    finally:
        conn.close()


def sign_in(port: int, user: User) -> None:
    _, _, page = request(port, "GET", "/accounts/login/", user.cookies)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if token is None:
        sys.exit("no CSRF token on the sign-in page")
    form = {"csrfmiddlewaretoken": token.group(1).decode(), "username": user.persona, "password": DEMO_PASSWORD}
    status, headers, _ = request(port, "POST", "/accounts/login/", user.cookies, form)
    if status != 302 or "sessionid" not in user.cookies:
        sys.exit(f"sign-in as {user.persona} failed: HTTP {status} {headers.get('location', '')}")


def discover(port: int, national: User) -> tuple[Data, dict[str, str]]:
    """Practice and ICB codes to visit, and each ICB user's ICB, read through the API as a signed-in user."""
    _, _, body = request(port, "GET", "/api/v1/icbs", national.cookies)
    icbs = [i["code"] for i in json.loads(body)]
    _, _, body = request(port, "GET", "/api/v1/practices?page_size=500&status=active", national.cookies)
    practices = [p["code"] for p in json.loads(body)["results"]]
    return Data(practices=practices, icbs=icbs), {"icb-a": "QHM", "icb-b": "QWE"}


def delivery_cases(db_url: str) -> list[int]:
    """ICB A's cases the provider is assigned to (the delivery case page needs one), read from the database."""
    code = (
        "from apps.cases.models import Case; "
        "print(list(Case.objects.filter(icb__code='QHM', provider__username='provider').values_list('pk', flat=True)))"
    )
    env = {**os.environ, "DATABASE_URL": db_url, "DJANGO_DEBUG": "true"}
    done = subprocess.run([PY, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else []


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: int = 0
    started: float = 0.0
    elapsed: float = 0.0
    cpu: list[cpu_account.Reading] = field(default_factory=list)  # at the start and the end of the measured window


def drive(
    port: int,
    users: list[User],
    data: Data,
    results: Results,
    measure_from: float,
    deadline: float,
    budget: int,
    think: float,
) -> None:
    """One client's loop: each request is a random page of a random one of ``users`` (one user per thread under
    load; every user in turn, one request at a time, for the baseline). Requests before ``measure_from`` warm the
    workers up (template compilation, first connections, caches) and are not counted; the request budget counts only
    measured requests."""
    pages = {u.persona: [(name, build) for name, who, build in SCENARIO if u.persona in who] for u in users}
    while time.monotonic() < deadline:
        measured = time.monotonic() >= measure_from
        with results.lock:
            if results.sent >= budget:
                return
            results.sent += measured
        user = random.choice(users)
        name, build = random.choice(pages[user.persona])
        path = build(user, data)
        started = time.perf_counter()
        try:
            status, _, _ = request(port, "GET", path, user.cookies)
            error = None if status == 200 else f"HTTP {status} {path}"
        except OSError as exc:
            error = f"{type(exc).__name__} {path}"
        elapsed_ms = (time.perf_counter() - started) * 1000
        with results.lock:
            if measured:
                results.latencies[name].append(elapsed_ms)
            if error:  # errors count during warm-up too
                results.errors[name].append(error)
        if think:
            time.sleep(random.uniform(0, 2 * think))


def run_phase(
    port: int,
    clients: list[list[User]],
    data: Data,
    warmup: float,
    duration: float,
    args: Any,
    probe: Callable[[], cpu_account.Reading] | None = None,
) -> Results:
    """Run one client thread per entry of ``clients`` for ``warmup`` + ``duration`` seconds; ``probe`` reads the CPU
    used so far by each part (server, database, client, machine) when measuring starts and when it ends."""
    results = Results()
    if probe is not None:
        threading.Timer(warmup, lambda: results.cpu.insert(0, probe())).start()
    started = time.monotonic() + warmup
    results.started = started
    deadline = started + duration
    think = args.think if len(clients) > 1 else 0.0
    threads = [
        threading.Thread(target=drive, args=(port, users, data, results, started, deadline, args.max_requests, think))
        for users in clients
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.elapsed = time.monotonic() - started
    if probe is not None:
        results.cpu.append(probe())
    return results


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def report(results: Results, baseline: Results, label: str) -> bool:
    """The table per page under load, beside the same page one request at a time (the baseline, same server, same
    process), and the verdict against the target."""
    seconds = results.elapsed
    print(f"\n{label}: {sum(len(v) for v in results.latencies.values())} requests in {seconds:.1f} s")
    print(
        f"{'page':<24}{'n':>6}{'errors':>7}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'max ms':>8}{'req/s':>7}"
        f"{'alone p95':>10}{'ratio':>7}"
    )
    every: list[float] = []
    alone: list[float] = []
    ok = True
    for name in dict.fromkeys(n for n, _, _ in SCENARIO):
        values = results.latencies.get(name, [])
        if not values:
            continue
        every += values
        base = baseline.latencies.get(name, [])
        alone += base
        errors = len(results.errors.get(name, []))
        p95 = percentile(values, 95)
        ok &= p95 < TARGET_P95_MS and errors == 0
        alone_cols = (
            f"{percentile(base, 95):>10.1f}{p95 / percentile(base, 95):>7.2f}" if base else f"{'–':>10}{'–':>7}"
        )
        print(
            f"{name:<24}{len(values):>6}{errors:>7}{percentile(values, 50):>8.1f}{p95:>8.1f}"
            f"{percentile(values, 99):>8.1f}{max(values):>8.1f}{len(values) / seconds:>7.1f}{alone_cols}"
        )
    errors = sum(len(v) for v in results.errors.values()) + sum(len(v) for v in baseline.errors.values())
    all_p95, alone_p95 = percentile(every, 95), percentile(alone, 95)
    print(
        f"{'all pages':<24}{len(every):>6}{errors:>7}{percentile(every, 50):>8.1f}{all_p95:>8.1f}"
        f"{percentile(every, 99):>8.1f}{max(every):>8.1f}{len(every) / seconds:>7.1f}"
        f"{alone_p95:>10.1f}{all_p95 / alone_p95:>7.2f}"
    )
    for name, errs in (results.errors | baseline.errors).items():
        print(f"  {name}: first errors: {errs[:3]}")
    if len(results.cpu) == 2:
        for line in cpu_account.describe(*results.cpu, len(every), seconds):
            print(line)
    verdict = "MET" if ok else "MISSED"
    print(f"target p95 < {TARGET_P95_MS:.0f} ms on every page with zero errors: {verdict}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL DATABASE_URL (default: SQLite)")
    parser.add_argument("--sqlite", default="sqlite:///var/bench-load.sqlite3", help="SQLite DATABASE_URL")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load (bounded)")
    parser.add_argument("--max-requests", type=int, default=20_000, help="stop after this many requests")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of unmeasured load first (bounded)")
    parser.add_argument("--baseline", type=float, default=15.0, help="seconds of one-at-a-time requests first")
    parser.add_argument("--think", type=float, default=0.5, help="mean pause between a user's pages, seconds")
    parser.add_argument("--port", type=int, default=8773)
    parser.add_argument("--workers", type=int, help="gunicorn processes (default: gunicorn.conf.py's)")
    parser.add_argument("--threads", type=int, help="threads a process (default: gunicorn.conf.py's)")
    parser.add_argument("--fresh", action="store_true", help="rebuild the SQLite database from scratch")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--steps", default="", help="concurrent users per step, e.g. 20,50,100 (default: --users alone)"
    )
    parser.add_argument(
        "--scaled",
        type=int,
        default=0,
        metavar="N",
        help="use bench/scale.py's N x dataset (var/bench-scale-Nx.*) instead of the demo database",
    )
    args = parser.parse_args()
    steps = [int(x) for x in args.steps.split(",") if x.strip()] if args.steps else [args.users]
    args.users = max(steps)
    if args.duration > 300 or args.baseline > 120 or args.warmup > 60 or args.users > 200:
        parser.error(
            "keep the load bounded: --duration <= 300 s, --baseline <= 120 s, --warmup <= 60 s, --users <= 200"
        )
    random.seed(args.seed)
    db_url = args.postgres or args.sqlite
    if args.scaled:
        db_url = use_scaled(args.scaled, args.postgres)
        # a fixture kept before the newest migrations gets them (as bench/scale.py does when it restores one)
        manage({**os.environ, "DATABASE_URL": db_url, "DJANGO_DEBUG": "true"}, "migrate", "--noinput", "-v", "0")
    else:
        prepare_database(db_url, args.fresh)
    runs: list[tuple[int, Results]] = []
    with tempfile.TemporaryDirectory(prefix="gpr-load-static-") as static_root:
        env = server_env(db_url, Path(static_root))
        manage(env, "collectstatic", "--noinput", "-v", "0")
        counts, args.workers, args.threads = gunicorn_config(args.workers, args.threads)
        proc = start_gunicorn(env | counts, args.port)
        try:
            personas = sorted(EVERYONE)
            users = [User(persona=personas[i % len(personas)]) for i in range(args.users)]
            for u in users:
                sign_in(args.port, u)
            national = next((u for u in users if u.persona == "national"), None) or User("national")
            if not national.cookies:
                sign_in(args.port, national)
            data, icb_of = discover(args.port, national)
            data.delivery_cases = delivery_cases(db_url)
            if not data.delivery_cases:
                sys.exit("no case of ICB A has the provider assigned: the delivery case page has nothing to show")
            for u in users:
                u.icb = icb_of.get(u.persona)
            # The baseline: every user in turn, one request at a time, no pause: each page's time with no queueing.
            db_pid = cpu_account.postmaster_pid(db_url)

            def probe() -> cpu_account.Reading:
                return cpu_account.read(proc.pid, db_pid)

            baseline = run_phase(args.port, [users[: len(EVERYONE)]], data, args.warmup / 2, args.baseline, args, probe)
            for n in steps:
                clients = [[u] for u in users[:n]]
                runs.append((n, run_phase(args.port, clients, data, args.warmup, args.duration, args, probe)))
        finally:
            stop(proc)
    kind = "PostgreSQL" if args.postgres else "SQLite"
    data_label = f"the {args.scaled}x scaled dataset" if args.scaled else "the demo dataset"
    every_ok = {}
    for n, results in runs:
        label = (
            f"{kind}, {data_label}, gunicorn {args.workers} workers x {args.threads} threads, {n} users, "
            f"think {args.think} s"
        )
        every_ok[n] = report(results, baseline, label)
    if len(baseline.cpu) == 2:
        print("\nthe baseline (one request at a time, no pause):")
        for line in cpu_account.describe(*baseline.cpu, sum(map(len, baseline.latencies.values())), baseline.elapsed):
            print(line)
    print(f"\n{'users':>6}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'errors':>8}  every page p95 < 150 ms")
    for n, results in runs:
        values = [v for vs in results.latencies.values() for v in vs]
        errors = sum(len(v) for v in results.errors.values())
        print(
            f"{n:>6}{len(values) / results.elapsed:>8.1f}{percentile(values, 50):>8.1f}{percentile(values, 95):>8.1f}"
            f"{percentile(values, 99):>8.1f}{errors:>8}  {'yes' if every_ok[n] else 'no'}"
        )
    goal = 50 if 50 in every_ok else max(every_ok)
    print(f"goal: p95 < {TARGET_P95_MS:.0f} ms on every page at {goal} users: {'MET' if every_ok[goal] else 'MISSED'}")
    return 0 if every_ok[goal] else 1


def use_scaled(size: int, postgres: str | None) -> str:
    """A working copy of bench/scale.py's fixture (the fixture itself stays as built)."""
    if postgres:
        dump = ROOT / "var" / f"bench-scale-{size}x.pgdump"
        if not dump.exists():
            sys.exit(f"{dump} is missing: run DATABASE_URL={postgres} bench/scale.py --sizes {size} first")
        u = urlparse(postgres)
        conn = ["-h", u.hostname or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres"]
        name = u.path.lstrip("/")
        subprocess.run(["dropdb", *conn, "--if-exists", name], check=True)
        subprocess.run(["createdb", *conn, name], check=True)
        subprocess.run(["pg_restore", *conn, "-d", name, "--no-owner", str(dump)], check=True)
        # A restored database has no planner statistics until autovacuum gets to it, part-way through the first step
        # (seen: the 50-user step's PostgreSQL CPU tripled); gather them before measuring.
        subprocess.run(["vacuumdb", *conn, "--analyze-only", "--quiet", name], check=True)
        return postgres
    source = ROOT / "var" / f"bench-scale-{size}x.sqlite3"
    if not source.exists():
        sys.exit(f"{source} is missing: run bench/scale.py --sizes {size} first")
    copy = ROOT / "var" / f"bench-load-{size}x.sqlite3"
    shutil.copyfile(source, copy)
    return f"sqlite:///{copy}"


if __name__ == "__main__":
    sys.exit(main())
