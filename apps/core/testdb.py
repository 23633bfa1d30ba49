"""The test database: the national register built once as a template, then cloned for each test process.

Loading the national files, scoring, the back-test, ripple and the demo data take ~14 s; doing that in every pytest
run (and in every pytest-xdist worker) was most of the cost of running one test file. The finished database is kept
as a template, keyed by a hash of everything that decides its contents (migrations, models, loaders, scoring and
demo code, the national data files, the locked package versions), and each worker gets a copy:

- SQLite: ``var/test-template-<key>.sqlite3``, copied to ``var/test-run-<worker>-<pid>.sqlite3``;
- PostgreSQL: a database ``<name>_tpl_<key>`` in the server, cloned to ``test_<name>_<worker>_<pid>`` with
  ``CREATE DATABASE ... TEMPLATE``.

A copy is named by the process as well as the xdist worker: two runs in one checkout (a long run, and a single file
run beside it) used to share ``var/test-main.sqlite3``, and the short run's clean-up deleted the long run's file under
it; the long run's open connection carried on, so only ``/health/`` (which looks for the file) noticed, answering 503
"database file missing" for the rest of the run (docs/testing.md, "Flakes fixed"). Copies left by a process that was
killed are removed by the next run.

A change to any input changes the key, so the next run builds a fresh template (and removes the stale ones). Building
happens under a file lock, so two workers starting together build it once.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connections

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var"
# Everything under these folders can change what the built database holds; test code cannot, so it is left out
# (adding a test must not cost a rebuild).
KEY_FOLDERS = ("apps", "analytics", "gpsupport", "data")
KEY_FILES = ("requirements.lock.txt",)
SKIPPED_PARTS = {"tests", "__pycache__", ".mypy_cache", ".pytest_cache"}

# What the session's database holds, in order: the register, the demo accounts, the scores with their back-test,
# ripple scores, then demo money, cases and delivery (each of which reads what the earlier steps made).
BUILD_STEPS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("import_national", {"quiet": True}),
    ("create_demo_users", {"force": True}),
    ("score_practices", {"backtest": True}),
    ("compute_ripple", {}),
    ("create_demo_funding", {"force": True}),
    ("create_demo_cases", {"force": True}),
    ("create_demo_delivery", {"force": True}),
)


def input_files() -> list[Path]:
    """Every file whose content goes into the template key, in a stable order."""
    found: list[Path] = [ROOT / f for f in KEY_FILES if (ROOT / f).is_file()]
    for folder in KEY_FOLDERS:
        for path in (ROOT / folder).rglob("*"):
            rel = path.relative_to(ROOT).parts
            if path.is_file() and not SKIPPED_PARTS.intersection(rel) and path.suffix != ".pyc":
                found.append(path)
    return sorted(found)


def template_key() -> str:
    """A hash of the template's inputs: file names and contents, and the password hasher the demo users get."""
    digest = hashlib.sha256()
    digest.update(repr(settings.PASSWORD_HASHERS).encode())
    for path in input_files():
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def worker_name() -> str:
    """``gw0``, ``gw1``... under pytest-xdist, ``main`` otherwise."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def copy_suffix() -> str:
    """What tells this process's copy from every other run's: the xdist worker and the process id."""
    return f"{worker_name()}_{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _dead_owner(name: str) -> bool:
    """True when ``name`` ends in the id of a process that is no longer running (it was killed before its clean-up)."""
    pid = name.rsplit("_", 1)[-1]
    return pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid))


@contextmanager
def _lock(name: str) -> Iterator[None]:
    VAR.mkdir(exist_ok=True)
    with open(VAR / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# A run holds a shared lock on its template's key for as long as it lives, so that a run started later with other
# inputs (code edited meanwhile) removes only the templates nobody is using. It used to remove them all, and the
# first run's journeys then failed to put their copy back from a template that had gone.
_held: dict[str, Any] = {}


def _in_use_file(key: str) -> Path:
    VAR.mkdir(exist_ok=True)
    return VAR / f"test-template-{key}.inuse"


def _hold(key: str) -> None:
    if key not in _held:
        handle = open(_in_use_file(key), "w")  # noqa: SIM115 (kept open, and locked, for the process's life)
        fcntl.flock(handle, fcntl.LOCK_SH)
        _held[key] = handle


def _unused(key: str) -> bool:
    """True when no live run holds template ``key`` (its lock file is then removed too)."""
    if key in _held:
        return False
    path = _in_use_file(key)
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        path.unlink(missing_ok=True)
    return True


def _use(name: str) -> None:
    """Point the default connection (and the settings the rest of Django reads) at database ``name``."""
    connections.close_all()
    settings.DATABASES["default"]["NAME"] = name
    connections["default"].settings_dict["NAME"] = name


def _fill() -> None:
    """Migrate the database the default connection points at and load the session's data into it."""
    call_command("migrate", interactive=False, verbosity=0, run_syncdb=True)
    for command, options in BUILD_STEPS:
        call_command(command, stdout=io.StringIO(), **options)
    connections.close_all()


def _vendor() -> str:
    return str(connections["default"].vendor)


# This process's copy and the template it came from, for refresh().
_clone: dict[str, str] = {}
# What to run each time the copy is made or put back (the test set-up adds its foreign-key baseline here).
AFTER_REFRESH: list[Callable[[], None]] = []


def clone() -> str:
    """Give this process its own copy of the national test database (building the template first if needed)."""
    if _vendor() == "sqlite":
        template = str(_sqlite_template())
        _drop_dead_sqlite_copies()
        name = str(VAR / f"test-run-{copy_suffix()}.sqlite3")
    else:
        template = _postgresql_template()
        prefix = f"test_{_clone.get('base') or settings.DATABASES['default']['NAME']}_"
        _drop_dead_postgresql_copies(prefix)
        name = prefix + copy_suffix()
    _clone.update(name=name, template=template)
    refresh()
    return name


def refresh() -> None:
    """Put this process's copy back as the template has it (after a test that committed changes, e.g. a journey
    through the live server). Every connection to the copy must be closed: this one closes the calling thread's."""
    name, template = _clone["name"], _clone["template"]
    drop(name)
    if _vendor() == "sqlite":
        shutil.copyfile(template, name)
    else:
        with connections["default"]._nodb_cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{_file_copy(cursor)}')
    _use(name)
    for hook in AFTER_REFRESH:
        hook()


def drop(name: str) -> None:
    """Remove this process's copy. Every connection is closed first, the live server's included (see tests/browser)."""
    connections.close_all()
    if _vendor() == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(name + suffix).unlink(missing_ok=True)
    else:
        with connections["default"]._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# SQLite: a file per template, copied per worker.


def _drop_dead_sqlite_copies() -> None:
    for path in VAR.glob("test-run-*.sqlite3"):
        if _dead_owner(path.name.removesuffix(".sqlite3")):
            drop(str(path))


def _sqlite_template() -> Path:
    key = template_key()
    _hold(key)
    template = VAR / f"test-template-{key}.sqlite3"
    with _lock("test-template-sqlite"):
        if not template.exists():
            building = VAR / f"test-template-{key}.building.sqlite3"
            for stale in VAR.glob("test-template-*.sqlite3*"):
                if _unused(stale.name.removeprefix("test-template-").split(".")[0]):
                    stale.unlink()
            _use(str(building))
            _fill()  # closing the last connection folds the WAL back into the file, so one file is the database
            os.replace(building, template)
    return template


# PostgreSQL: a template database in the server, cloned per worker.


def _drop_dead_postgresql_copies(prefix: str) -> None:
    """Copies in this server whose process has gone. The test servers are local (bin/test starts its own), so the
    process ids are this machine's."""
    with connections["default"]._nodb_cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [prefix.replace("_", "\\_") + "%"])
        names = [row[0] for row in cursor.fetchall()]
    for name in names:
        if "_tpl_" not in name and _dead_owner(name):
            drop(name)


def _file_copy(cursor: Any) -> str:
    """PostgreSQL 15+ can clone by copying files, much faster than its default of writing every block to the WAL."""
    cursor.execute("SHOW server_version_num")
    return " STRATEGY FILE_COPY" if int(cursor.fetchone()[0]) >= 150000 else ""


def _postgresql_template() -> str:
    base = _clone.setdefault("base", str(settings.DATABASES["default"]["NAME"]))
    key = template_key()
    _hold(key)
    template = f"{base}_tpl_{key}"
    settings_dict = connections["default"].settings_dict
    with _lock(f"test-template-pg-{settings_dict['HOST']}-{settings_dict['PORT']}"):
        with connections["default"]._nodb_cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template])
            exists = cursor.fetchone() is not None
            if not exists:
                cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{base}\\_tpl\\_%"])
                for (stale,) in cursor.fetchall():
                    if _unused(stale.removeprefix(f"{base}_tpl_").removesuffix("_build")):
                        cursor.execute(f'DROP DATABASE "{stale}" WITH (FORCE)')
                cursor.execute(f'CREATE DATABASE "{template}_build"')
        if not exists:
            _use(f"{template}_build")
            _fill()
            with connections["default"]._nodb_cursor() as cursor:
                cursor.execute(f'ALTER DATABASE "{template}_build" RENAME TO "{template}"')
    return template
