"""Every form that posts carries the CSRF token; no page runs inline script or uses inline styles (the CSP forbids
them, so one slipping in would silently break in the browser).

Checked twice: in the template sources (every ``<form method="post">`` has ``{{ csrf_input }}``) and in every page
the access walk knows, rendered for a persona who may see it.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from apps.accounts.tests.test_access_walk import (  # the fixtures make the objects EXPECTED's placeholders name
    EXPECTED,
    POST_ONLY,
    resolve_args,
    scenarios,  # noqa: F401
    walk_case,  # noqa: F401
    walk_delivery,  # noqa: F401
)

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"
FORM = re.compile(r"<form\b[^>]*>(.*?)</form>", re.S | re.I)


def test_every_post_form_in_the_templates_has_the_csrf_token():
    post_forms = 0
    for path in TEMPLATES.rglob("*.jinja"):
        for m in FORM.finditer(path.read_text()):
            tag = m.group(0)[: m.group(0).index(">") + 1]
            if re.search(r"method=[\"']post[\"']", tag, re.I):
                post_forms += 1
                assert "{{ csrf_input }}" in m.group(1), f"{path.relative_to(TEMPLATES)}: a POST form without CSRF"
    assert post_forms >= 4, "the sign-in, sign-out, watch-list and token forms were found"


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._script: dict[str, str | None] | None = None
        self.in_post_form = False
        self.post_forms = 0
        self.post_forms_with_token = 0
        self._form_has_token = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if "style" in a:
            self.problems.append(f"inline style on <{tag}>")
        self.problems += [f"inline handler {k} on <{tag}>" for k in a if k.startswith("on")]
        if tag == "script":
            self._script = a
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self.in_post_form, self._form_has_token = True, False
            self.post_forms += 1
        if tag == "input" and self.in_post_form and a.get("name") == "csrfmiddlewaretoken" and a.get("value"):
            self._form_has_token = True

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self.scripts.append((self._script, data.strip()))
            self._script = None

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, ""))
            self._script = None
        if tag == "form" and self.in_post_form:
            self.post_forms_with_token += self._form_has_token
            self.in_post_form = False


# The one inline script allowed: the NHS.UK page template's own first line in <body> (it marks the page as having
# JavaScript before the CSS paints, so it cannot wait for a file). It runs only because it carries the nonce.
NHS_JS_ENABLED = (
    "document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? "
    "' nhsuk-frontend-supported' : '');"
)

PAGES = [
    (name, args, sorted(allowed)[0])
    for name, (args, allowed) in sorted(EXPECTED.items())
    if allowed and name not in POST_ONLY
]


@pytest.mark.parametrize("name,args,persona", PAGES, ids=[p[0] for p in PAGES])
def test_page_has_csrf_on_its_forms_and_no_inline_script_or_style(request, client_for, name, args, persona):
    response = client_for(persona).get(reverse(name, args=resolve_args(request, args)))
    if not response["Content-Type"].startswith("text/html"):
        return  # JSON (health, the OpenAPI document): no forms, no scripts
    csp = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert "unsafe-inline" not in csp
    page = _Page()
    page.feed(response.content.decode())
    assert page.problems == [], name
    assert page.post_forms == page.post_forms_with_token, f"{name}: a POST form without the CSRF token"
    for script, body in page.scripts:
        if script.get("type") == "application/json":
            continue  # data for a script, never executed
        if body == NHS_JS_ENABLED:
            assert script.get("nonce") == nonce, f"{name}: the design system's one-liner needs the nonce"
            continue
        assert script.get("src") and not body, f"{name}: inline <script>: {body[:80]}"
        assert script["src"].startswith("/static/"), f"{name}: a script from elsewhere: {script['src']}"
