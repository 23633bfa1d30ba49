"""Playwright on Debian's Chromium (Playwright cannot download browsers here), with an axe check helper."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed (bin/test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def server_url(django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    """A live server over the session's committed data (national files + demo accounts).

    pytest-django's ``live_server`` would flush the database after each test, and with it the national data that
    was loaded once for the session, so the browser tests run their own server thread and never write through
    the test's transaction: what they create, they create through the pages, as a user would.
    """
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread

    with django_db_blocker.unblock():
        thread = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
        thread.daemon = True
        thread.start()
        thread.is_ready.wait()
        if thread.error:
            raise thread.error
        yield f"http://127.0.0.1:{thread.port}"
        thread.terminate()


@pytest.fixture
def page(browser: Any, server_url: str) -> Iterator[Any]:
    # bypass_csp lets the test inject axe-core; the pages themselves still send their policy.
    context = browser.new_context(base_url=server_url, viewport={"width": 1280, "height": 900}, bypass_csp=True)
    # Nothing leaves this machine: block every request that is not to the test server.
    context.route(
        "**/*", lambda route: route.continue_() if route.request.url.startswith(server_url) else route.abort()
    )
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    p.js_errors = errors
    yield p
    context.close()


def sign_in(page: Any, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def assert_accessible(page: Any) -> None:
    """Run axe-core on the page; fail on any serious or critical violation, naming each."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, json.dumps(
        [{"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"][:3]]} for v in bad], indent=1
    )
