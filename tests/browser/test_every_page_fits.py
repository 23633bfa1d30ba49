"""Every page, as every persona, at 390 px and 1280 px: nothing scrolls sideways, and axe finds nothing serious.

The pages come from the URL conf: every route of the outsider matrix (``ARGS``, its arguments filled with the objects
of ``apps.accounts.tests.world``: ICB A's case, session, network, …) that the access walk (``EXPECTED``) says the
persona may open. Routes that answer with a file rather than a page (CSV, XLSX, JSON, calendar) are skipped by their
content type, and so is anything that does not answer 200 for this world (the walk tests the status codes).

One browser and one signed-in context per persona; each page is loaded once and measured at both widths (a resize,
not a reload), and axe runs on it once, at 1280 px. Every problem is collected and reported together, naming the page,
the persona, the width and the elements sticking out, so one run lists everything to fix.

Cost: about 330 pages, 3 minutes on one worker of this 2-core machine (7 Dec 2026; it was 5 before the browser kept
its HTTP cache, axe came with each page and a width was measured in one round trip); one test per persona, so xdist
spreads them. It runs on SQLite only: a page's layout and accessibility do not depend on the database, and bin/test
runs the suite on PostgreSQL at the same time.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError

from apps.accounts.tests.test_access_walk import EXPECTED
from apps.accounts.tests.test_outsider_matrix import ARGS
from apps.pages.testing import PERSONA_NAMES
from tests.browser.conftest import AXE, _new_context, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="layout and axe do not depend on the database"
    ),
]

WIDTHS = (390, 1280)
PASSWORD = "x-test-password-1"  # apps.pages.testing.make_personas
# Pages that change something when opened, or that wait on a solver: not what this test is about.
SKIP = {
    "accounts:logout",  # a GET asks to confirm; the walk signs out elsewhere
    "targeting:variants",  # four optimiser solves on open (tests/browser/test_targeting_journey.py visits it)
}
# Width is checked here too; axe is not: the API's documentation page is ninja's Swagger UI, whose own markup nests
# buttons and uses pale grey text (it is for developers, and not the service's pages).
NO_AXE = {"api-v1:openapi-view"}
# The elements that stick out past the right edge and are not inside something that scrolls or clips them (a
# table in its scroller is fine): the culprits to name when a page is too wide.
CULPRITS = """() => {
  const edge = document.documentElement.clientWidth;
  const clipped = e => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
    if (getComputedStyle(a).overflowX !== 'visible') return true; } return false; };
  return [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > edge + 0.5 && !clipped(e))
    .map(e => [Math.round(e.getBoundingClientRect().right), e.tagName + '.' + e.className,
               (e.textContent || '').trim().slice(0, 50)])
    .sort((a, b) => b[0] - a[0]).slice(0, 4);
}"""


@pytest.fixture(scope="module")
def world(live_server_thread: Any, django_db_blocker: Any) -> Iterator[Any]:
    """ICB A's world, made in the live server's database; the database is put back as built afterwards."""
    from apps.accounts.tests.world import make_world
    from apps.core import testdb

    with django_db_blocker.unblock():
        made = make_world()
    yield made
    live_server_thread.httpd.wait_idle()
    with django_db_blocker.unblock():
        testdb.refresh()


def pages_for(world: Any, persona: str) -> list[tuple[str, str]]:
    from django.urls import reverse

    out = []
    for name, (_, allowed) in sorted(EXPECTED.items()):
        if persona in allowed and name in ARGS and name not in SKIP:
            out.append((name, reverse(name, args=[world.ids.get(a, a) for a in ARGS[name]])))
    return out


# After a resize: wait until the layout has the new width and two frames have been drawn (the NHS.UK header moves its
# links in and out of its "More" menu on the next frame), then say how far the page sticks out. One round trip.
OVERFLOW_WHEN_SETTLED = """async width => {
  const frame = () => new Promise(r => requestAnimationFrame(r));
  while (document.documentElement.clientWidth > width) await frame();
  await frame(); await frame();
  return document.documentElement.scrollWidth - document.documentElement.clientWidth;
}"""


def check_page(page: Any, name: str, persona: str) -> list[str]:
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        overflow = page.evaluate(OVERFLOW_WHEN_SETTLED, width)
        if overflow > 0:
            culprits = page.evaluate(CULPRITS)
            problems.append(f"{name} as {persona} at {width}px: {overflow}px too wide; sticking out: {culprits}")
    if name in NO_AXE:
        return problems
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    for v in result["violations"]:
        if v["impact"] in ("serious", "critical"):
            nodes = json.dumps([n["target"] for n in v["nodes"][:3]])
            problems.append(f"{name} as {persona}: axe {v['id']} ({v['impact']}): {v['help']} at {nodes}")
    return problems


@pytest.mark.parametrize("persona", ["anonymous", *PERSONA_NAMES])
def test_every_page_fits_both_widths_and_passes_axe(browser: Any, server_url: str, world: Any, persona: str) -> None:
    context = _new_context(browser, server_url, bypass_csp=True)
    # axe comes with every page as it loads (compiled once by the browser), rather than sent into each page after it
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    started, visited, problems = time.monotonic(), 0, []
    try:
        if persona != "anonymous":
            sign_in(page, world.users[persona].username, PASSWORD)
        for name, url in pages_for(world, persona):
            try:
                response = page.goto(url, wait_until="load")
            except PlaywrightError as e:
                if "Download is starting" in str(e):  # a file (CSV, XLSX, JSON, calendar), not a page
                    continue
                raise
            if response is None or response.status != 200:
                continue
            if not response.headers.get("content-type", "").startswith("text/html"):
                continue
            visited += 1
            problems += check_page(page, name, persona)
    finally:
        context.close()
    print(f"\n{persona}: {visited} pages in {time.monotonic() - started:.1f} s")
    assert visited, f"no page was visited as {persona}"
    assert not problems, "\n".join(problems)
