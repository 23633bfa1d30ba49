"""Playwright on Debian's Chromium (Playwright cannot download browsers here), with an axe check helper.

One live server per test process serves every journey. Each journey starts from the national test database exactly as
built (apps/core/testdb.py) and the database is put back afterwards, so no journey depends on another's leftovers and
the order they run in does not matter. Journeys wait for what they need — a page to finish loading, an element to be
visible — never for a length of time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

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
    # Nothing leaves this machine: every request that is not to the loopback test server goes to a proxy that is not
    # there and fails (Chromium sends loopback addresses direct, bypassing any proxy). Done here rather than with a
    # Playwright route, because routing turns the browser's HTTP cache off: every page then fetched its stylesheet,
    # scripts, fonts and icons again through this process (about 10 requests a page).
    "--proxy-server=http://127.0.0.1:9",
]
# A ceiling on each step, not a wait: journeys wait for a page's load or an element, and this is how long before that
# counts as a failure. Playwright's default of 30 s was exceeded on a 2-core machine shared with other test runs, where
# the optimiser's variants page (four MILP solves) took over 30 s to answer on PostgreSQL.
STEP_TIMEOUT_MS = 120_000
# expect() looks at pages that have finished loading (follow() waits for that); its ceiling rises from 5 s likewise.
expect.set_options(timeout=30_000)
# How long an idle keep-alive connection from the browser may hold a server thread; it bounds the wait at teardown.
IDLE_SOCKET_SECONDS = 15


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed (bin/test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _live_server_class() -> type:
    """Django's live server thread, with request threads that are tracked so the tests can wait for them to end.

    Django's threaded server runs each browser connection in a daemon thread that nobody waits for; with
    ``CONN_MAX_AGE`` (PostgreSQL) such a thread keeps its database session open between requests. Left running, those
    threads held sessions on the test database at teardown ("test_gpr is being accessed by other users") and would
    see the database swapped under them between journeys. Here every request thread is joined: when it ends it
    closes its connections (Django's ``close_request``), so after ``wait_idle()`` the server holds none.
    """
    from django.core.servers.basehttp import ThreadedWSGIServer
    from django.test.testcases import LiveServerThread, QuietWSGIRequestHandler

    class Handler(QuietWSGIRequestHandler):
        timeout = IDLE_SOCKET_SECONDS

        def handle_one_request(self) -> None:
            # A keep-alive connection the browser left idle for IDLE_SOCKET_SECONDS is closed quietly: that is the
            # timeout doing its job, not a server error worth a traceback.
            try:
                super().handle_one_request()
            except TimeoutError:
                self.close_connection = True

    class Server(ThreadedWSGIServer):
        daemon_threads = False
        block_on_close = True

        def wait_idle(self) -> None:
            for thread in list(self._threads or ()):  # type: ignore[attr-defined]
                thread.join(IDLE_SOCKET_SECONDS * 2)
                if thread.is_alive():
                    raise RuntimeError(f"a live-server request thread is still running: {thread.name}")

    class ServerThread(LiveServerThread):
        server_class = Server

        def _create_server(self, connections_override: Any = None) -> Any:
            return self.server_class(
                (self.host, self.port), Handler, allow_reuse_address=False, connections_override=connections_override
            )

    return ServerThread


@pytest.fixture(scope="session")
def live_server_thread(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Any]:
    """A live server over this process's copy of the national test database (national files + demo accounts).

    pytest-django's ``live_server`` would flush the database after each test, so the journeys run their own server
    thread and never write through a test's transaction: what they create, they create through the pages, as a user
    would. The database is unblocked to start and stop the server and, through ``server_url``, during each test that
    uses it.
    """
    from django.contrib.staticfiles.handlers import StaticFilesHandler

    with django_db_blocker.unblock():
        thread = _live_server_class()("127.0.0.1", StaticFilesHandler, port=0)
        thread.daemon = True
        thread.start()
        thread.is_ready.wait()
        if thread.error:
            raise thread.error
    try:
        yield thread
    finally:
        with django_db_blocker.unblock():
            thread.terminate()  # shuts the server down and joins every request thread (each closes its connections)


@pytest.fixture
def server_url(live_server_thread: Any, django_db_blocker: Any) -> Iterator[str]:
    """The live server's address, for one test. pytest-django's database blocker is process-wide, so the server's
    threads can reach the database only while it is unblocked: during the tests that use the server, not between."""
    with django_db_blocker.unblock():
        yield f"http://127.0.0.1:{live_server_thread.port}"
        # A request the browser sent just before its context closed may still be running: let it finish (and close
        # its connection) while the database is reachable, or it fails on the blocker after the test.
        live_server_thread.httpd.wait_idle()


@pytest.fixture
def journey_database(live_server_thread: Any, django_db_blocker: Any) -> Iterator[None]:
    """After a journey, put the database back as built: the next test starts from the same data whatever ran before.

    The browser context is closed by then (``page`` tears down first), so its sockets are gone; once the server's
    request threads have ended no connection is open on the database and it can be replaced.
    """
    yield
    from apps.core import testdb

    live_server_thread.httpd.wait_idle()
    with django_db_blocker.unblock():
        testdb.refresh()


def _new_context(browser: Any, server_url: str, **options: Any) -> Any:
    context = browser.new_context(base_url=server_url, viewport={"width": 1280, "height": 900}, **options)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    return context


@pytest.fixture
def page(browser: Any, server_url: str, journey_database: None) -> Iterator[Any]:
    # bypass_csp lets the test inject axe-core; the pages themselves still send their policy.
    context = _new_context(browser, server_url, bypass_csp=True)
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    p.js_errors = errors
    yield p
    context.close()


def follow(page: Any, target: Any) -> None:
    """Click a link or button that loads a new page, and wait until that page has loaded and its scripts have run.

    A click returns as soon as the next page starts arriving; acting on it before it has loaded races its scripts.
    The NHS.UK header script moves the navigation items that do not fit into its "More" menu, and a click aimed at
    a header link before then can land on whatever moved into its place (the LMC journey's "Nominations" click did,
    and then waited in vain for "Nominate a practice").
    """
    with page.expect_navigation(wait_until="load"):
        target.click()


def sign_in(page: Any, username: str, password: str) -> None:
    """Sign in and wait until the signed-in page has loaded (a journey going straight on to ``page.goto`` would
    otherwise cancel the sign-in before its session cookie arrived)."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    follow(page, page.get_by_role("button", name="Sign in"))
    expect(page.get_by_role("link", name="Sign out")).to_be_visible()


def sign_out(page: Any) -> None:
    follow(page, page.get_by_role("link", name="Sign out"))
    follow(page, page.get_by_role("button", name="Sign out"))


def assert_accessible(page: Any) -> None:
    """Run axe-core on the page; fail on any serious or critical violation, naming each.

    First the page is let settle: after a resize or a new page, the NHS.UK header moves its navigation links in and
    out of its "More" menu on the next animation frame, and axe measuring a link mid-move reported a contrast failure
    on it once (PostgreSQL run of the team journey, a link the page draws correctly)."""
    page.wait_for_load_state("load")
    # the header's update runs in the next frame; the frame after it is drawn with the links in place
    page.evaluate("() => new Promise(r => { const f = requestAnimationFrame; f(() => f(() => f(r))); })")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, json.dumps(
        [{"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"][:3]]} for v in bad], indent=1
    )
