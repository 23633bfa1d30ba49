"""Journey: a user makes an API token, uses it, revokes it; the API docs page works under the real CSP."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from apps.accounts.demo import DEMO_PASSWORD
from tests.browser.conftest import assert_accessible, follow, sign_in

pytestmark = pytest.mark.browser


def test_user_creates_uses_and_revokes_an_api_token(page):
    sign_in(page, "icb-a", DEMO_PASSWORD)
    follow(page, page.get_by_role("link", name="API tokens"))
    expect(page.get_by_role("heading", name="API tokens", level=1)).to_be_visible()
    assert_accessible(page)

    follow(page, page.get_by_role("button", name="Create token"))  # no name: refused, explained
    expect(page.get_by_text("There is a problem")).to_be_visible()
    page.get_by_label("Name").fill("monthly report script")
    follow(page, page.get_by_role("button", name="Create token"))
    token = page.locator(".app-token").inner_text()
    assert re.fullmatch(r"gpr_[A-Za-z0-9_-]{40,}", token)
    assert_accessible(page)

    api = page.context.request
    answer = api.get("/api/v1/icbs/QHM/watch-list", headers={"Authorization": f"Bearer {token}"})
    assert answer.status == 200 and answer.json()["count"] > 0

    follow(page, page.get_by_role("button", name="Revoke token monthly report script"))
    expect(page.get_by_text("is revoked")).to_be_visible()
    page.context.clear_cookies()  # the token alone, without the browser session
    refused = api.get("/api/v1/icbs/QHM/watch-list", headers={"Authorization": f"Bearer {token}"})
    assert refused.status == 401


def test_api_docs_render_under_the_content_security_policy(browser, server_url):
    # No bypass_csp here: the page must work with the policy it sends.
    context = browser.new_context(base_url=server_url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: console.append(str(exc)))
    try:
        page.goto("/api/v1/docs/")
        expect(page.get_by_role("heading", name=re.compile("GP Resilience API"))).to_be_visible()
        expect(page.get_by_text("/api/v1/practices/{code}/scores")).to_be_visible()
        violations = [m for m in console if "Content Security Policy" in m or "Refused" in m]
        assert violations == [], violations
    finally:
        context.close()
