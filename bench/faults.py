"""Fault suite: kill a worker mid-task, kill the process approving payments mid-approval, take the database away and
bring it back, and fill the disk — on SQLite and (with --postgres) on a throwaway PostgreSQL server — then check the
invariants after each fault and print a table with MET/MISSED per invariant.

Run: .venv/bin/python bench/faults.py [--postgres] [--pg-port 54335]
(SQLite: a scratch file in a temporary directory; PostgreSQL: its own cluster, started and removed here.) Each
database is prepared like the test session (national data, demo users and money) first, which takes a minute.
The fast cases of the same faults run in the test suite (apps/core/tests/test_worker_crash.py,
test_worker_outage.py, test_health.py); this script adds the slow ones and the PostgreSQL server stop.
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEASE = 2
Check = tuple[str, bool, str]  # invariant, met, detail


def wait_for(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return False


class World:
    """One scratch database and the processes that run against it."""

    def __init__(self, kind: str, tmp: Path, pg_port: int) -> None:
        self.kind, self.tmp, self.pg_port = kind, tmp, pg_port
        self.pgbin = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1] if kind == "postgresql" else None
        self.db = tmp / "faults.sqlite3"
        self.url = f"sqlite:///{self.db}" if kind == "sqlite" else f"postgres://postgres@127.0.0.1:{pg_port}/faults"
        self.env = {
            **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
            "DATABASE_URL": self.url,
            "DJANGO_DEBUG": "false",  # production: SQLite is never created by accident
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "localhost",
            "TASK_LEASE_SECONDS": str(LEASE),
            "DJANGO_EMAIL_BACKEND": "apps.core.tests.fault_tasks.RecordingBackend",
            "FAULT_MAIL_LOG": str(tmp / "delivered.txt"),
            "FAULT_MAIL_HANG": str(tmp / "hang"),
        }

    # -- processes --------------------------------------------------------------------------------------------
    def manage(self, *args: str, debug: bool = False) -> subprocess.CompletedProcess[str]:
        env = {**self.env, "DJANGO_DEBUG": "true"} if debug else self.env  # the demo commands refuse production
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=1200)  # fmt: skip

    def shell(self, code: str) -> str:
        done = self.manage("shell", "-c", code)
        if done.returncode:
            raise RuntimeError(done.stderr.strip().splitlines()[-1])
        return done.stdout.strip()

    def spawn(self, *args: str, limit_bytes: int | None = None) -> subprocess.Popen[str]:
        def limit() -> None:
            if limit_bytes:
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG), not kills

        return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=limit)  # fmt: skip

    def worker(self) -> subprocess.Popen[str]:
        return self.spawn("run_worker", "--queue-name", "*", "--no-reload", "--no-startup-delay", "--interval", "0.2")

    # -- the database -----------------------------------------------------------------------------------------
    def _pg(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True)

    def create(self) -> None:
        if self.kind == "postgresql":
            data = self.tmp / "pg"
            data.mkdir()
            shutil.chown(self.tmp, "postgres")
            shutil.chown(data, "postgres")
            self._pg(f"{self.pgbin}/initdb", "-D", str(data / "data"), "-A", "trust", "-U", "postgres", "-E", "UTF8")
            self.start_db()
            self._pg(f"{self.pgbin}/createdb", "-h", "127.0.0.1", "-p", str(self.pg_port), "faults")
        for step in (["migrate", "--noinput", "-v", "0"], ["import_national"], ["create_demo_users", "--force"],
                     ["create_demo_funding", "--force"]):  # fmt: skip
            done = self.manage(*step, debug=True)
            if done.returncode:
                raise RuntimeError(f"{step}: {done.stderr[-500:]}")
        # The demo commands queue notification emails; drop them so each fault starts from an empty queue.
        self.shell("from django_tasks_db.models import DBTaskResult as T; T.objects.all().delete()")

    def start_db(self) -> None:
        opts = f"-F -p {self.pg_port} -k {self.tmp / 'pg'} -c listen_addresses=127.0.0.1"
        data = self.tmp / "pg" / "data"
        self._pg(f"{self.pgbin}/pg_ctl", "-D", str(data), "-l", str(self.tmp / "pg" / "log"), "-w", "-o", opts, "start")

    def stop_db(self) -> None:
        self._pg(f"{self.pgbin}/pg_ctl", "-D", str(self.tmp / "pg" / "data"), "-m", "fast", "-w", "stop")

    def take_away(self) -> None:
        if self.kind == "sqlite":
            (self.tmp / "away").mkdir(exist_ok=True)
            for part in self.tmp.glob("faults.sqlite3*"):
                part.rename(self.tmp / "away" / part.name)
        else:
            self.stop_db()

    def bring_back(self) -> None:
        if self.kind == "sqlite":
            for part in (self.tmp / "away").iterdir():
                part.rename(self.tmp / part.name)
        else:
            self.start_db()

    def destroy(self) -> None:
        if self.kind == "postgresql":
            subprocess.run(["runuser", "-u", "postgres", "--", f"{self.pgbin}/pg_ctl", "-D",
                            str(self.tmp / "pg" / "data"), "-m", "immediate", "stop"], capture_output=True)  # fmt: skip


INVARIANTS = """
import json
from collections import Counter
from django.db.models import Count
from analytics import money
from apps.funding.models import Budget, LedgerEntry, Payment
from apps.core.models import OutboxEmail
from apps.core.background import live_run_ids
from django_tasks_db.models import DBTaskResult
out = {}
bad = []
for b in Budget.objects.all():
    try:
        entries = b.entries.order_by("created_at", "pk").values_list("kind", "amount_pence")
        money.replay((money.Kind(k), a) for k, a in entries)
    except Exception as e:
        bad.append(f"budget {b.pk}: {e}")
out["ledger balanced per budget"] = bad[:3]
paid = Counter(LedgerEntry.objects.filter(kind="payment").values_list("payment_id", flat=True))
approved = set(Payment.objects.filter(status="approved").values_list("pk", flat=True))
wrong = [f"payment {p}: {paid.get(p, 0)} entries" for p in approved if paid.get(p, 0) != 1]
wrong += [f"payment {p} not approved but paid" for p in paid if p not in approved]
out["one ledger entry per approved payment"] = wrong[:3]
held = Payment.objects.exclude(invoice_number="").exclude(status="rejected")
dups = held.values("commitment", "invoice_number").annotate(n=Count("pk")).filter(n__gt=1)
out["no duplicate invoice"] = [f"{d['invoice_number']} x{d['n']}" for d in dups[:3]]
live = live_run_ids()
running = DBTaskResult.objects.filter(status="RUNNING").values_list("id", flat=True)
lost = [f"run {r} running without a live lease" for r in running if str(r) not in live]
out["every task ends in a visible state"] = lost[:3]
out["no email sent twice"] = []
print(json.dumps(out))
"""


def invariants(world: World) -> list[Check]:
    import json

    found = json.loads(world.shell(INVARIANTS).splitlines()[-1])
    log = world.tmp / "delivered.txt"
    if log.exists():
        counts: dict[str, int] = {}
        for to in log.read_text().split():
            counts[to] = counts.get(to, 0) + 1
        found["no email sent twice"] = [f"{to} x{n}" for to, n in counts.items() if n > 1]
    return [(name, not problems, "; ".join(problems)) for name, problems in found.items()]


# -- the faults --------------------------------------------------------------------------------------------------
def kill_worker_mid_task(world: World) -> list[Check]:
    marker = world.tmp / "started"
    (world.tmp / "hang").write_text("hang")
    setup = (
        "from apps.accounts.models import User; from apps.cases.models import Notification as N; "
        "from apps.cases.tasks import send_notification_emails as t; "
        "us=[User.objects.get_or_create(username=f'fault-{i}', defaults={'email': e, 'role': 'national'})[0] "
        "for i, e in enumerate(['a@x.org','b@x.org','hang@x.org','d@x.org','e@x.org'])]; "
        "print(t.enqueue([N.objects.create(user=u, kind='status', message='fault').pk for u in us]).id)"
    )
    world.shell(setup)
    first = world.worker()
    log = world.tmp / "delivered.txt"
    reached = wait_for(lambda: log.exists() and "hang@" in log.read_text(), 120)
    first.kill()
    worker_log = (first.communicate()[0] or "").strip().splitlines()[-3:]
    (world.tmp / "hang").unlink()
    if not reached:
        return [("worker killed during the email batch", False, " / ".join(worker_log)[-200:])]
    world.shell(f"from apps.core.tests.fault_tasks import hang_on_first_run as t; t.enqueue({str(marker)!r})")
    second = world.worker()
    started = wait_for(marker.exists, 120)
    second.kill()  # mid-"refresh"
    second.wait()
    third = world.worker()
    count_ok = (
        "from django_tasks_db.models import DBTaskResult as T; "
        "print(T.objects.filter(task_path__endswith='hang_on_first_run', status='SUCCESSFUL').count())"
    )
    rerun = wait_for(lambda: world.shell(count_ok).endswith("1"), 60)
    unknown = wait_for(
        lambda: world.shell(
            "from apps.core.models import OutboxEmail as O; print(O.objects.filter(state='unknown').count())"
        ).endswith("1"),
        30,
    )
    third.kill()
    third.wait()
    delivered = sorted(log.read_text().split())
    return [
        ("worker killed during the email batch and the refresh", reached and started, ""),
        ("the killed refresh ran again by itself within its lease", rerun, ""),
        ("every email sent once, the cut one shown as outcome unknown",
         unknown and delivered == ["a@x.org", "b@x.org", "d@x.org", "e@x.org", "hang@x.org"], " ".join(delivered)),
    ]  # fmt: skip


APPROVER = """
import sys, time
from apps.accounts.models import User
from apps.funding import services
from apps.funding.models import Payment
approver = User.objects.get(username="fault-approver")
waiting = Payment.objects.filter(status="requested", requested_by__icb=approver.icb, payee="Fault Co")
for p in waiting.exclude(requested_by=approver).order_by("pk"):
    try:
        services.approve_payment(payment=p, user=approver)
    except Exception as e:
        print("refused", p.pk, e)
"""


def kill_mid_approval(world: World) -> list[Check]:
    setup = """
from apps.accounts.models import User
from apps.funding import services
from apps.funding.models import Commitment
icb_user = User.objects.filter(role="icb", icb__isnull=False).order_by("pk").first()
User.objects.get_or_create(username="fault-approver", defaults={"role": "icb", "icb": icb_user.icb})
n = 0
for c in Commitment.objects.filter(budget__icb=icb_user.icb, status="open"):
    for i in range(10):
        try:
            services.record_payment(reference=c.reference, amount_pence=100, kind="invoice", payee="Fault Co",
                                    invoice_number=f"FAULT-{c.pk}-{i}", user=icb_user)
            n += 1
        except Exception:
            break
print(n)
"""
    recorded = int(world.shell(setup).splitlines()[-1])
    approver = world.spawn("shell", "-c", APPROVER)
    count = (
        "from apps.funding.models import Payment as P; "
        "print(P.objects.filter(status='approved', payee='Fault Co').count())"
    )
    some = wait_for(lambda: int(world.shell(count).splitlines()[-1]) >= 2, 120)
    approver.kill()
    approver.wait()
    again = world.spawn("shell", "-c", APPROVER)  # the restarted process carries on
    again.wait(timeout=600)
    done = int(world.shell(count).splitlines()[-1])
    return [("approving process killed part-way, then restarted", some and recorded > 2, f"{done}/{recorded} approved")]


SUCCESSES = (
    "from django_tasks_db.models import DBTaskResult as T; "
    "print(T.objects.filter(task_path__endswith='hang_on_first_run', status='SUCCESSFUL').count())"
)


def database_outage(world: World) -> list[Check]:
    before = int(world.shell(SUCCESSES).splitlines()[-1])
    worker = world.worker()
    wait_for(lambda: "1" in world.shell("from apps.core.models import WorkerBeat as W; print(W.objects.count())"), 60)
    world.take_away()
    time.sleep(4)
    said = world.manage("shell", "-c", "from apps.core import health; print(health.problem())").stdout.strip()
    health = (said.splitlines() or [""])[-1]  # the reason, without the shell's start-up line
    survived = worker.poll() is None
    world.bring_back()
    marker = world.tmp / "outage-marker"
    marker.write_text("quick")
    world.shell(f"from apps.core.tests.fault_tasks import hang_on_first_run as t; t.enqueue({str(marker)!r})")
    ran = wait_for(lambda: int(world.shell(SUCCESSES).splitlines()[-1]) == before + 1, 90)
    worker.kill()
    worker.wait()
    return [
        ("/health/ reports the outage", "database" in health, health[-120:]),
        ("the worker waits out the outage and carries on", survived and ran, ""),
    ]


FILLER = """
from apps.accounts.models import User
from apps.funding import services
from apps.funding.models import Commitment
user = User.objects.filter(role="icb", icb__isnull=False).exclude(username="fault-approver").order_by("pk").first()
c = Commitment.objects.filter(budget__icb=user.icb, status="open").order_by("pk").first()
try:
    for i in range(10000):  # payments with long memos until the file cannot grow
        services.record_payment(reference=c.reference, amount_pence=1, kind="invoice", payee="Disk Co",
                                invoice_number=f"DISK-{i}", memo="x" * 50000, user=user)
    print("never full")
except Exception as e:
    print("refused:", type(e).__name__, e)
"""


def fill_the_disk(world: World) -> list[Check]:
    if world.kind != "sqlite":
        return [
            ("disk full refuses writes and keeps the database whole", False, "not run: needs a quota on the server")
        ]
    limit = world.db.stat().st_size + 256 * 1024  # room for a few payments, then the "disk" is full
    writer = world.spawn("shell", "-c", FILLER, limit_bytes=limit)
    output = writer.communicate(timeout=600)[0]
    full = "disk is full" in output or "File too large" in output or "disk I/O error" in output
    check = world.shell(
        "from django.db import connection; c = connection.cursor(); "
        "c.execute('PRAGMA integrity_check'); print(c.fetchone()[0])"
    )
    return [
        (
            "disk full refuses writes and keeps the database whole",
            full and check.endswith("ok"),
            output.strip().splitlines()[-1][-120:] if output.strip() else "",
        )
    ]


FAULTS = [
    ("kill the worker mid-task", kill_worker_mid_task),
    ("kill the process mid-approval", kill_mid_approval),
    ("database unavailable, then back", database_outage),
    ("fill the disk", fill_the_disk),
]


def run(kind: str, pg_port: int) -> list[tuple[str, str, bool, str]]:
    tmp = Path(tempfile.mkdtemp(prefix=f"faults-{kind}-"))
    world = World(kind, tmp, pg_port)
    rows: list[tuple[str, str, bool, str]] = []
    try:
        t0 = time.monotonic()
        world.create()
        print(f"{kind}: prepared in {time.monotonic() - t0:.0f} s", flush=True)
        for name, fault in FAULTS:
            t0 = time.monotonic()
            try:
                checks = fault(world) + invariants(world)
            except Exception as exc:  # a fault that breaks the harness is reported, not hidden
                checks = [("the fault ran", False, f"{type(exc).__name__}: {exc}"[:200])]
            rows += [(name, inv, met, detail) for inv, met, detail in checks]
            print(f"{kind}: {name} in {time.monotonic() - t0:.0f} s", flush=True)
    finally:
        world.destroy()
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", action="store_true", help="also run on a throwaway PostgreSQL server")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="run on this database only")
    parser.add_argument("--pg-port", type=int, default=54384, help="a free port for the throwaway server")
    args = parser.parse_args()
    kinds = [args.only] if args.only else ["sqlite", "postgresql"] if args.postgres else ["sqlite"]
    table: list[tuple[str, str, str, bool, str]] = []
    for kind in kinds:
        try:
            table += [(kind, *row) for row in run(kind, args.pg_port)]
        except (RuntimeError, subprocess.CalledProcessError) as exc:  # e.g. the server would not start
            table.append((kind, "prepare the database", "the suite ran", False, str(exc)[-200:]))
        # Printed after each database, so a later failure never hides an earlier table.
        print("\n| database | fault | invariant | result | detail |\n|---|---|---|---|---|")
        for db, fault, inv, met, detail in table:
            print(f"| {db} | {fault} | {inv} | {'MET' if met else 'MISSED'} | {detail} |", flush=True)
    sys.exit(0 if all(row[3] for row in table) else 1)


if __name__ == "__main__":
    main()
