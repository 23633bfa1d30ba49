"""Shared test set-up: the real national data (built once, cloned per test process), and the personas.

Page, access and import tests run against the real register; each test still runs in its own transaction, rolled
back afterwards. The register is built into a template database only when its inputs change (apps/core/testdb.py).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--shuffle",
        metavar="SEED",
        type=int,
        default=None,
        help="run the test files in an order shuffled by SEED, and the tests within each file too (bin/soak)",
    )
    parser.addoption(
        "--database-tests-only",
        action="store_true",
        help="run only the tests that can reach the database (bin/test's second database: the rest ran on the first)",
    )


def pytest_report_header(config: pytest.Config) -> str | None:
    seed = config.getoption("--shuffle")
    return None if seed is None else f"order shuffled: --shuffle={seed} repeats it"


# Fixtures through which a test reaches the database: a test with none of them (and no django_db mark) cannot.
DATABASE_FIXTURES = {"django_db_setup", "db", "transactional_db", "live_server"}  # every test has django_db_blocker


def uses_database(item: pytest.Item) -> bool:
    return item.get_closest_marker("django_db") is not None or bool(
        DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With ``--database-tests-only`` (bin/test's second database), leave out the tests that cannot reach the
    database: pytest-django refuses them any query, so their result cannot depend on which database it is, and the
    first database's run has run them.

    Shuffle by an explicit seed, so every pytest-xdist worker collects the same order (xdist requires it) and a
    failing order can be run again. Tests stay grouped by file, so module-scoped fixtures are set up once."""
    if config.getoption("--database-tests-only"):
        kept, left_out = [], []
        for item in items:
            (kept if uses_database(item) else left_out).append(item)
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept
    seed = config.getoption("--shuffle")
    if seed is None:
        return
    rng = random.Random(seed)
    by_file: dict[str, list[pytest.Item]] = {}
    for item in items:
        by_file.setdefault(item.nodeid.split("::")[0], []).append(item)
    groups = list(by_file.values())
    rng.shuffle(groups)
    for group in groups:
        rng.shuffle(group)
    items[:] = [item for group in groups for item in group]


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> None:
    """PBKDF2's deliberate slowness costs seconds per persona set; tests do not need it."""
    from django.conf import settings

    if not settings.configured:  # the Django-free analytics tests may run with -p no:django
        return
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


TASK_QUEUES = ["default", "national"]
IMMEDIATE_TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend", "QUEUES": TASK_QUEUES}}


def use_task_backends(tasks: dict[str, Any]) -> None:
    """Point ``django.tasks`` at these TASKS settings. Django caches backends and (in 6.1) does not reset them when
    the setting changes, so drop the cached ones too."""
    from asgiref.local import Local
    from django.conf import settings
    from django.tasks import task_backends

    settings.TASKS = tasks
    task_backends.__dict__.pop("settings", None)
    task_backends._settings = None
    task_backends._connections = Local(task_backends.thread_critical)


@pytest.fixture(autouse=True, scope="session")
def _immediate_tasks() -> None:
    """Tests run background tasks at once (Django's ImmediateBackend), so a test asserts on a task's effects without
    a worker; the worker tests switch to the database backend themselves."""
    from django.conf import settings

    if not settings.configured:
        return
    use_task_backends(IMMEDIATE_TASKS)


@pytest.fixture
def database_tasks() -> Iterator[None]:
    """For one test, queue tasks in the database (the production backend) instead of running them at once."""
    use_task_backends({"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": TASK_QUEUES}})
    yield
    use_task_backends(IMMEDIATE_TASKS)


@pytest.fixture(scope="session")
def django_db_setup(
    django_test_environment: None, django_db_blocker: Any, _fast_password_hashing: None, _immediate_tasks: None
) -> Iterator[None]:
    """This process's own copy of the national test database, cloned from a template built once (apps/core/testdb).

    Replaces pytest-django's set-up, which would migrate an empty database in every run and every worker; each test
    still runs in its own transaction, rolled back afterwards.
    """
    from apps.core import testdb
    from apps.core.tests import fkcheck

    fkcheck.install()
    if fkcheck.record_baseline not in testdb.AFTER_REFRESH:
        testdb.AFTER_REFRESH.append(fkcheck.record_baseline)
    with django_db_blocker.unblock():
        name = testdb.clone()
    yield
    with django_db_blocker.unblock():
        testdb.drop(name)


@pytest.fixture
def personas(db: Any) -> dict[str, Any]:
    from apps.pages.testing import make_personas

    return make_personas()


@pytest.fixture
def client_for(client: Any, personas: dict[str, Any]) -> Any:
    """``client_for("icb_a")`` → a test client signed in as that persona (``"anonymous"`` for none)."""

    def sign_in(name: str) -> Any:
        client.logout()
        if name != "anonymous":
            client.force_login(personas[name])
        return client

    return sign_in


@contextmanager
def kept_for_the_module(django_db_blocker: Any) -> Iterator[None]:
    """Rows a test module's fixture makes once and its tests share: made inside a transaction that stays open while
    the module's tests run (each in its own savepoint, rolled back as usual) and is rolled back after the last one.
    For costly set-up that the tests only read (a walk-forward back-test); the fixture must also ask for
    ``django_db_setup``, so that it runs on this process's copy of the database."""
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        yield
        transaction.set_rollback(True)
