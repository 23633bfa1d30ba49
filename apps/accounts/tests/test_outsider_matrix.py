"""The outsider matrix: every page, and every CSV/XLSX download, read from the URL conf, as everyone outside ICB A.

For each route, ICB A's object (practice X's case, its session, the coach's faculty record, ICB A's network, …;
see ``apps.accounts.tests.world``) is requested by ICB B's team, practice Y, provider B (assigned to nothing), the
LMC of ICB B and the national team. Each must get 403/404 (or be sent elsewhere), or a page that contains none of
ICB A's case references and none of the codes and names of the practices those cases are about. Every page a persona
may open is also downloaded as CSV and XLSX (``?download=``), with the same rule. A route missing from ``ARGS`` fails
the test.

All routes are walked in one test with one set-up, and every leak is listed, not just the first.
"""

from __future__ import annotations

import inspect
from functools import cache
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

from apps.accounts.tests.world import OUTSIDERS, World, make_world, response_text
from apps.api.main import NAMESPACE as API

pytestmark = pytest.mark.django_db

# url name -> its arguments, as placeholders for ICB A's objects (see make_world) or fixed values
ARGS: dict[str, tuple[str, ...]] = {
    "core:start": (),
    "core:home": (),
    "core:health": (),
    "core:audit": (),
    "core:task_runs": (),
    "accounts:login": (),
    "accounts:logout": (),
    # Team administration: ICB A's team (a member and a waiting invitation), and the secret links for them
    "teams:team": (),
    "teams:invite": (),
    "teams:member": ("{teammate}",),
    "teams:withdraw": ("{invitation}",),
    "teams:accept": ("{invitation_token}",),
    "accounts:password_reset": (),
    "accounts:password_reset_done": (),
    "accounts:password_reset_confirm": ("{reset_uid}", "{reset_token}"),
    "accounts:password_reset_complete": (),
    "accounts:sso_start": (),
    "accounts:sso_callback": (),
    "practices:search": (),
    "practices:detail": ("{practice}",),
    "practices:icb_list": (),
    "practices:icb_detail": ("{icb}",),
    "practices:pcn_detail": ("{pcn}",),
    "datasets:sources": (),
    "datasets:logs": (),
    "indicators:watch_home": (),
    "indicators:watch_list": ("{icb}",),
    "indicators:watch_practice": ("{icb}", "{practice}"),
    "indicators:definitions": (),
    "indicators:backtest": (),
    "indicators:runs": (),
    "cases:support_evaluation": (),
    "cases:queue": (),
    "cases:matrix": (),
    "cases:clock_targets": (),
    "cases:refer": (),
    "cases:nominate": (),
    "cases:detail": ("{case}",),
    "cases:triage": ("{case}",),
    "cases:move": ("{case}", "withdrawn"),
    "cases:reopen": ("{case}",),
    "cases:add_note": ("{case}",),
    "cases:assign": ("{case}",),
    "cases:health_check": ("{case}",),
    "cases:plan": ("{case}",),
    "cases:agree": ("{case}",),
    "cases:package": ("{case}",),
    "cases:decide": ("{case}", "{package}"),
    "cases:vary": ("{case}", "{package}"),
    "cases:shares": ("{case}", "{package}"),
    "cases:menu": (),
    "cases:local_price": ("gprp-coaching",),
    "cases:notifications": (),
    "targeting:home": (),
    "targeting:icb_ripple": ("{icb}",),
    "targeting:dispersal": ("{practice}",),
    "targeting:scenarios": (),
    "targeting:compare": (),
    "targeting:scenario": ("{scenario}",),
    "targeting:variants": ("{scenario}",),
    "apitokens:list": (),
    "apitokens:revoke": ("{token}",),
    f"{API}:openapi-json": (),
    f"{API}:openapi-view": (),
    f"{API}:api-root": (),
    "funding:dashboard": (),
    "funding:programme_new": (),
    "funding:programme": ("GPRP",),
    "funding:programme_threshold": ("GPRP",),
    "funding:programme_virement_rule": ("GPRP",),
    "funding:allocate": ("GPRP", "core"),
    "funding:release": ("GPRP", "core"),
    "funding:icb_budget": ("{icb}",),
    "funding:payments": ("{icb}",),
    "funding:payees": ("{icb}",),
    "funding:payee_new": ("{icb}",),
    "funding:payee": ("{icb}", "{payee}"),
    "funding:ledger": (),
    "funding:virements": (),
    "funding:spend": (),
    "funding:spend_json": (),
    "funding:spend_xlsx": (),
    "delivery:home": (),
    "delivery:faculty": (),
    "delivery:growth": (),
    "delivery:member": ("{member}",),
    "delivery:case": ("{case}",),
    "delivery:plan_session": ("{case}",),
    "delivery:case_outcomes": ("{case}",),
    "delivery:session": ("{session}",),
    "delivery:outcomes": (),
    "delivery:calendar": (),
    "delivery:calendar_download": (),
    "delivery:networks": (),
    "delivery:network": ("{network}",),
    "delivery:new_meeting": ("{network}",),
    "delivery:meeting": ("{meeting}",),
    "delivery:coaching": (),
    "delivery:coaching_offer": ("{offer}",),
    "delivery:coaching_request": ("{request}",),
    "delivery:peer_reviews": (),
    "delivery:peer_review": ("{review}",),
    # Day-one import: ICB A's upload names practice X's code and ICB A's own case reference
    "caseload:home": (),
    "caseload:template": ("xlsx",),
    "caseload:upload": ("{upload}",),
    "caseload:commit": ("{upload}",),
    # Cohorts: ICB A's cohort, whose rows name practice X (offered a place); the national team sees counts only
    "cohorts:list": (),
    "cohorts:new": (),
    "cohorts:detail": ("{cohort}",),
    "cohorts:interest": ("{cohort}",),
    "cohorts:allocate": ("{cohort}",),
    "cohorts:place": ("{place}",),
}
# Routes walked elsewhere, with the reason.
ELSEWHERE = {
    # The feed is opened by a secret token, not a sign-in; an unknown token is 404 (test_access_walk) and the token
    # is the user's own (test_calendar_and_reminders).
    "delivery:calendar_feed": "a secret-token URL with no sign-in",
}
# Open national data: these pages may name any practice; a case reference is still a leak.
REGISTER = {
    "practices:search",
    "practices:detail",
    "practices:icb_list",
    "practices:icb_detail",
    "practices:pcn_detail",
}
# Opened by a secret link that names its holder: whoever has the invitation's link is the invitee, so the page may
# show the invitee's own name and address (nothing else of ICB A's).
LINK_HOLDER = {"teams:accept"}
REFUSED = {403, 404}


def _names(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    out = []
    for p in (resolver or get_resolver()).url_patterns:
        if isinstance(p, URLResolver):
            out += _names(p, f"{prefix}{p.namespace}:" if p.namespace else prefix)
        elif isinstance(p, URLPattern) and p.name:
            out.append(f"{prefix}{p.name}")
    return out


def page_routes() -> set[str]:
    """Every named route except the API's operations (walked by apps/api/tests/test_api_outsider_matrix.py)."""
    from apps.api.testing import operations

    return set(_names()) - {f"{API}:{op_id}" for op_id, _, _ in operations()}


def test_every_route_is_in_the_matrix():
    missing = page_routes() - set(ARGS) - set(ELSEWHERE)
    assert not missing, f"add these routes to ARGS with ICB A's object: {sorted(missing)}"
    assert not (set(ARGS) | set(ELSEWHERE)) - page_routes(), "the matrix names a route that no longer exists"


@cache
def exports(path: str) -> bool:
    """Whether the view behind this path offers ``?download=csv|xlsx`` (read from its code, so a new export is walked
    without being listed). The register's own downloads are the open register's columns and are not walked: a
    whole-country CSV takes seconds."""
    match = resolve(path)
    view = inspect.unwrap(getattr(match.func, "func", match.func))  # the API's views are partials
    source = inspect.getsource(view)
    return match.view_name not in REGISTER and ("table_download(" in source or "download_table(" in source)


def url_of(world: World, name: str) -> str:
    return reverse(name, args=[world.ids.get(a, a) for a in ARGS[name]])


def check(world: World, name: str, persona: str, response: Any, what: str) -> list[str]:
    """What is wrong with this response to an outsider, as lines of the failure report (none if it is fine)."""
    if response.status_code in REFUSED or 300 <= response.status_code < 400:
        return []
    leaks = world.leaks(
        response_text(response), register=name in REGISTER, persona=persona, link_holder=name in LINK_HOLDER
    )
    return [f"{name} {what} as {persona}: {response.status_code} shows {leaks}"] if leaks else []


@pytest.fixture
def world(db: Any) -> World:
    return make_world()


def test_no_page_or_download_shows_icb_a_cases_to_an_outsider(world):
    problems: list[str] = []
    for persona in OUTSIDERS:
        client = Client()
        client.force_login(world.users[persona])
        for name in sorted(ARGS):
            url = url_of(world, name)
            response = client.get(url)
            if response.status_code == 405:  # POST-only: the step itself must be refused
                response = client.post(url, {})
                if response.status_code not in REFUSED | {400}:
                    problems.append(f"{name} POST as {persona}: {response.status_code}, not refused")
                    continue
            problems += check(world, name, persona, response, "page")
            if response.status_code != 200 or not exports(url):
                continue
            for fmt in ("csv", "xlsx"):
                download = client.get(url, {"download": fmt})
                problems += check(world, name, persona, download, fmt)
    assert not problems, "ICB A's cases shown to outsiders:\n" + "\n".join(problems)


def test_the_matrix_sees_a_leak_when_there_is_one(world, client):
    """The check is not blind: ICB A's own team sees its case reference and practice on the case page."""
    client.force_login(world.users["icb_a"])
    response = client.get(url_of(world, "cases:detail"))
    assert response.status_code == 200
    assert world.leaks(response_text(response)), "the matrix's secrets must appear where they are allowed"


def test_the_matrix_sees_a_team_leak_when_there_is_one(world, client):
    """The team secrets are not blind either: ICB A's lead sees its member and its waiting invitation."""
    client.force_login(world.users["icb_a"])
    response = client.get(url_of(world, "teams:team"))
    assert response.status_code == 200
    assert set(world.leaks(response_text(response))) >= world.team
