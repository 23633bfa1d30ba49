"""Shared test set-up: the real national data loaded once per test session, and the personas.

Loading the shipped national files once (a few seconds) lets page, access and import tests run against the real
register; each test still runs in its own transaction, rolled back afterwards.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop


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
def django_db_setup(request: Any, django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    from django.core.management import call_command
    from django.test.utils import setup_databases, teardown_databases

    db_fixtures = {"db", "transactional_db", "live_server"}
    pytest_django_made_one = any(
        item.get_closest_marker("django_db") or db_fixtures & set(getattr(item, "fixturenames", ()))
        for item in request.session.items
    )
    own = None
    with django_db_blocker.unblock():
        if not pytest_django_made_one:
            # pytest-django creates no test database when no collected test uses one (e.g. the browser journeys run
            # alone); never load into the development database: make the test database here.
            own = setup_databases(verbosity=0, interactive=False, aliases={"default"})
        call_command("import_national", quiet=True)
        call_command("create_demo_users", force=True, stdout=io.StringIO())
        call_command("score_practices", backtest=True, stdout=io.StringIO())
        call_command("compute_ripple", stdout=io.StringIO())
        call_command("create_demo_funding", force=True, stdout=io.StringIO())
        call_command("create_demo_cases", force=True, stdout=io.StringIO())
        call_command("create_demo_delivery", force=True, stdout=io.StringIO())
    yield
    if own is not None:
        with django_db_blocker.unblock():
            teardown_databases(own, verbosity=0)


@pytest.fixture
def personas(db: Any) -> dict[str, Any]:
    from apps.core.testing import make_personas

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
