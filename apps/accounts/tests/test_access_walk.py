"""Walk every URL pattern as every persona. A new URL without an entry in EXPECTED fails this test.

Today's pages show national open data, which any signed-in user may read; the import log is for the national
and ICB teams. Later apps add their confidential pages here, with who may see what.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from apps.api.main import NAMESPACE as API
from apps.api.testing import operations
from apps.pages.testing import ICB_A, ICB_B, PERSONA_NAMES

pytestmark = pytest.mark.django_db

SIGNED_IN = set(PERSONA_NAMES)
PUBLIC = {
    "core:start",
    "core:health",
    "accounts:login",
    f"{API}:openapi-json",
    f"{API}:openapi-view",
    f"{API}:api-root",
    "funding:spend",
    "funding:spend_json",
    "funding:spend_xlsx",
}
# url name -> (args, personas that get 200; every other signed-in persona gets 403, anonymous goes to sign-in)
EXPECTED: dict[str, tuple[tuple[str, ...], set[str]]] = {
    "core:start": ((), {"anonymous"}),  # signed-in users are sent on to their home page
    "core:home": ((), SIGNED_IN),
    "core:health": ((), SIGNED_IN | {"anonymous"}),
    "core:audit": ((), {"national"}),  # who changed what (field names, not values)
    "core:task_runs": ((), {"national"}),  # background task runs (the service's operators)
    "accounts:login": ((), {"anonymous"}),  # signed-in users are redirected away
    "accounts:logout": ((), SIGNED_IN),
    # Team administration: the national team, ICB leads and practice leads (the ICB and practice personas lead their
    # teams). "{teammate}" is a member of ICB A's team: its lead and the national team manage them. An invitation link
    # that is not a real one is 404 for everyone; withdrawing is POST only.
    "teams:team": ((), {"national", "icb_a", "icb_b", "practice_x", "practice_y"}),
    "teams:invite": ((), {"national", "icb_a", "icb_b", "practice_x", "practice_y"}),
    "teams:member": (("{teammate}",), {"national", "icb_a"}),
    "teams:withdraw": (("1",), set()),
    "teams:accept": (("not-a-real-token",), set()),
    # Password reset answers everyone alike (it never says whether an address has an account).
    "accounts:password_reset": ((), SIGNED_IN | {"anonymous"}),
    "accounts:password_reset_done": ((), SIGNED_IN | {"anonymous"}),
    "accounts:password_reset_confirm": (("MQ", "not-a-token"), SIGNED_IN | {"anonymous"}),  # "this link does not work"
    "accounts:password_reset_complete": ((), SIGNED_IN | {"anonymous"}),
    # Single sign-on is off unless configured (apps/accounts/tests/test_oidc.py turns it on): 404 for everyone.
    "accounts:sso_start": ((), set()),
    "accounts:sso_callback": ((), set()),
    "practices:search": ((), SIGNED_IN),
    "practices:detail": (("A81001",), SIGNED_IN),
    "practices:icb_list": ((), SIGNED_IN),
    "practices:icb_detail": ((ICB_B,), SIGNED_IN),
    "practices:pcn_detail": (("U89141",), SIGNED_IN),
    "datasets:sources": ((), SIGNED_IN),
    "datasets:logs": ((), {"national", "icb_a", "icb_b"}),
    # Watch lists name practices of concern: the ICB's own team only; the national team sees counts.
    "indicators:watch_home": ((), {"national"}),  # ICB users are redirected to their own list
    "indicators:watch_list": ((ICB_A,), {"icb_a"}),
    "indicators:watch_practice": ((ICB_A, "A81001"), {"icb_a"}),
    "indicators:definitions": ((), SIGNED_IN),
    "indicators:backtest": ((), {"national", "icb_a", "icb_b"}),
    "indicators:runs": ((), {"national", "icb_a", "icb_b"}),
    "cases:support_evaluation": ((), {"national", "icb_a", "icb_b"}),  # aggregates only, as the back-test
    # Cases: the queue adapts to the role (LMC: its nominations; national: counts only). A case itself is seen by
    # its ICB's team, the practice and the assigned provider; "{case}" is a case of practice X (ICB A) with the
    # provider persona assigned, at diagnosis, with a submitted package.
    "cases:queue": ((), SIGNED_IN),
    "cases:matrix": ((), {"icb_a", "icb_b"}),
    "cases:clock_targets": ((), {"icb_a", "icb_b"}),  # each ICB team sees (its lead sets) its own stage clocks
    "cases:refer": ((), {"practice_x", "practice_y"}),
    "cases:nominate": ((), {"icb_a", "icb_b", "lmc"}),
    "cases:detail": (("{case}",), {"icb_a", "practice_x", "provider"}),
    "cases:triage": (("{case}",), {"icb_a"}),
    "cases:move": (("{case}", "withdrawn"), {"icb_a", "practice_x"}),
    "cases:reopen": (("{case}",), {"icb_a"}),  # the case's ICB team (the service refuses an open case in words)
    "cases:add_note": (("{case}",), set()),  # POST only: 405 for those who can see the case
    "cases:assign": (("{case}",), set()),
    "cases:health_check": (("{case}",), {"icb_a", "practice_x"}),
    "cases:plan": (("{case}",), {"icb_a", "practice_x"}),
    "cases:agree": (("{case}",), set()),
    "cases:package": (("{case}",), {"icb_a", "practice_x"}),
    "cases:decide": (("{case}", "1"), {"icb_a"}),
    "cases:vary": (("{case}", "1"), {"icb_a"}),  # the case's own ICB team varies its approved package
    # a package's shares: the lead ICB follows them; a covered practice or an ICB across the border sees its own
    # share (apps/cases/tests/test_group_shares.py); the walk's package covers practice X alone
    "cases:shares": (("{case}", "1"), {"icb_a"}),
    "cases:menu": ((), SIGNED_IN),
    "cases:local_price": (("gprp-coaching",), {"icb_a", "icb_b"}),  # each ICB team sets (and sees) its own prices
    "cases:notifications": ((), SIGNED_IN),
    # Targeting names practices and pressure: per-practice pages for the practice's own ICB team only; the national
    # team runs national scenarios and sees per-ICB aggregates. Scenario refs come from the scenarios fixture below.
    "targeting:home": ((), set()),  # ICB and national users are redirected (below)
    "targeting:icb_ripple": ((ICB_A,), {"icb_a"}),
    "targeting:dispersal": (("A81001",), {"icb_a"}),
    "targeting:scenarios": ((), {"national", "icb_a", "icb_b"}),
    "targeting:compare": ((), {"national", "icb_a", "icb_b"}),
    "targeting:scenario": (("walk-icb-a",), {"icb_a"}),
    "targeting:variants": (("walk-icb-a",), {"icb_a"}),
    # Each user's own API tokens; revoking is POST only (a GET is 405 for everyone signed in).
    "apitokens:list": ((), SIGNED_IN),
    "apitokens:revoke": (("1",), set()),
    # The API's description and docs page are public (no data); the API root is a 404 for everyone.
    f"{API}:openapi-json": ((), SIGNED_IN | {"anonymous"}),
    f"{API}:openapi-view": ((), SIGNED_IN | {"anonymous"}),
    f"{API}:api-root": ((), set()),
    # Money: the national team sets up, allocates and releases and sees every ICB's totals; an ICB's team sees and
    # acts on its own budget; practices, providers and LMCs see no budget pages. Published spend is public.
    "funding:dashboard": ((), {"national"}),  # ICB users are redirected to their own budget
    "funding:programme_new": ((), {"national"}),
    "funding:programme": (("GPRP",), {"national"}),
    "funding:programme_threshold": (("GPRP",), {"national"}),
    "funding:programme_virement_rule": (("GPRP",), {"national"}),
    "funding:allocate": (("GPRP", "core"), {"national"}),
    "funding:release": (("GPRP", "core"), {"national"}),
    "funding:icb_budget": ((ICB_A,), {"national", "icb_a"}),
    "funding:payments": ((ICB_A,), {"icb_a"}),
    # Commitments outside cases: the national team sees the list's totals by kind only; one payee's page and the
    # form that commits are ICB A's own team's ("{payee}" is ICB A's commitment to an LMC support team).
    "funding:payees": ((ICB_A,), {"national", "icb_a"}),
    "funding:payee_new": ((ICB_A,), {"icb_a"}),
    "funding:payee": ((ICB_A, "{payee}"), {"icb_a"}),
    "funding:ledger": ((), {"national", "icb_a", "icb_b"}),
    "funding:virements": ((), {"national", "icb_a", "icb_b"}),
    "funding:spend": ((), SIGNED_IN | {"anonymous"}),
    "funding:spend_json": ((), SIGNED_IN | {"anonymous"}),
    "funding:spend_xlsx": ((), SIGNED_IN | {"anonymous"}),
    # Delivery. Provider pages that list the provider's own work show provider B (assigned to nothing) its own, empty,
    # view; every page about a case, session, member or offer of the provider persona is 404/403 for provider B.
    # "{session}" is a session at practice X delivered by the provider persona; "{member}" that provider's
    # faculty record; "{network}" an ICB-wide network in ICB A and "{meeting}" its meeting; "{offer}" the provider's
    # coaching offer (covers ICB A), "{request}" practice X's request for it, "{review}" a peer review of practice X
    # by the provider. The calendar feed takes a secret token instead of a sign-in: an unknown one is 404 for all.
    "delivery:home": ((), SIGNED_IN - {"lmc"}),
    "delivery:faculty": ((), {"national", "icb_a", "icb_b", "provider", "provider_b"}),
    "delivery:growth": ((), {"national", "icb_a", "icb_b", "provider", "provider_b"}),
    "delivery:member": (("{member}",), {"national", "icb_a", "icb_b", "provider"}),
    "delivery:case": (("{case}",), {"icb_a", "practice_x", "provider"}),
    "delivery:plan_session": (("{case}",), set()),  # nothing assigned on the walk case: nobody can plan yet
    "delivery:case_outcomes": (("{case}",), {"icb_a", "practice_x", "provider"}),
    "delivery:session": (("{session}",), {"icb_a", "practice_x", "provider"}),
    "delivery:outcomes": ((), {"national", "icb_a", "icb_b"}),
    "delivery:calendar": ((), SIGNED_IN - {"national"}),
    "delivery:calendar_download": ((), SIGNED_IN - {"national"}),
    "delivery:calendar_feed": (("not-a-real-token",), set()),
    "delivery:networks": ((), {"icb_a", "icb_b", "practice_x", "practice_y", "lmc"}),
    "delivery:network": (("{network}",), {"icb_a", "practice_x", "lmc"}),
    "delivery:new_meeting": (("{network}",), {"icb_a", "lmc"}),
    "delivery:meeting": (("{meeting}",), {"icb_a", "practice_x", "lmc"}),
    "delivery:coaching": ((), {"icb_a", "icb_b", "practice_x", "practice_y", "provider", "provider_b"}),
    "delivery:coaching_offer": (("{offer}",), {"icb_a", "practice_x", "provider"}),
    "delivery:coaching_request": (("{request}",), {"practice_x", "provider"}),
    "delivery:peer_reviews": ((), {"practice_x", "practice_y", "provider", "provider_b"}),
    "delivery:peer_review": (("{review}",), {"practice_x", "provider"}),
    # Day-one import: ICB teams only, each its own uploads (another ICB's upload is not found)
    "caseload:home": ((), {"icb_a", "icb_b"}),
    "caseload:template": (("xlsx",), {"icb_a", "icb_b"}),
    "caseload:upload": (("{upload}",), {"icb_a"}),
    "caseload:commit": (("{upload}",), {"icb_a"}),
    # Cohorts: ICB A's cohort (practice X offered a place, delivered by the provider's organisation). The national team
    # sees it as counts; ICB A's LMC sees it; ICB B, practice Y and provider B do not find it.
    "cohorts:list": ((), SIGNED_IN),
    "cohorts:new": ((), {"national", "icb_a", "icb_b"}),
    "cohorts:detail": (("{cohort}",), {"national", "icb_a", "practice_x", "provider", "lmc"}),
    "cohorts:interest": (("{cohort}",), {"icb_a", "practice_x"}),
    "cohorts:allocate": (("{cohort}",), {"icb_a"}),
    "cohorts:place": (("{place}",), {"icb_a", "practice_x", "provider"}),
}
# API operations are walked, with tokens and from the OpenAPI document, in apps/api/tests/test_api_access_walk.py.
API_OPERATIONS = {f"{API}:{op_id}" for op_id, _, _ in operations()}
POST_ONLY = {"cases:add_note", "cases:assign", "cases:agree", "apitokens:revoke", "teams:withdraw"}
DELIVERY_PLACEHOLDERS = {"{session}", "{member}", "{network}", "{meeting}", "{offer}", "{request}", "{review}"}
# Objects a persona may not see are not found (404); a page their role never has is 403.
COHORT_PLACEHOLDERS = {"{cohort}", "{place}"}
HIDDEN_PLACEHOLDERS = DELIVERY_PLACEHOLDERS | COHORT_PLACEHOLDERS | {"{teammate}", "{upload}"}
# Not found for everyone, signed in or not: a secret link that is not a real one, and single sign-on while it is off.
NOT_FOUND_FOR_ALL = {"delivery:calendar_feed", "teams:accept", "accounts:sso_start", "accounts:sso_callback"}
# Who can see the case behind a POST-only URL (they get 405 on GET; everyone else 404 or 403).
CASE_SEERS = {"icb_a", "practice_x", "provider"}
# (url name, persona) -> where the page sends them
REDIRECTS = {
    ("indicators:watch_home", "icb_a"): f"/watch-list/{ICB_A}/",
    ("indicators:watch_home", "icb_b"): f"/watch-list/{ICB_B}/",
    ("targeting:home", "icb_a"): f"/targeting/icb/{ICB_A}/",
    ("targeting:home", "icb_b"): f"/targeting/icb/{ICB_B}/",
    ("targeting:home", "national"): "/targeting/scenarios/",
    ("funding:dashboard", "icb_a"): f"/{ICB_A}/",
    ("funding:dashboard", "icb_b"): f"/{ICB_B}/",
    ("caseload:commit", "icb_a"): "/caseload/import/",  # a GET of the commit shows the preview instead
}
# Scenarios of another ICB (or national ones, for ICB users) are not found rather than forbidden.
NOT_FOUND = {
    ("targeting:scenario", "icb_b"),
    ("targeting:scenario", "national"),
    ("targeting:variants", "icb_b"),
    ("targeting:variants", "national"),
}


@pytest.fixture
def scenarios(personas):
    """A saved ICB A scenario (stored directly: the walk checks access, not the optimiser)."""
    from apps.practices.models import ICB
    from apps.targeting.models import Scenario

    return Scenario.objects.create(
        ref="walk-icb-a",
        name="Walk",
        scope=Scenario.Scope.ICB,
        icb=ICB.objects.get(code=ICB_A),
        budget_pence=100_000_00,
        coach_hours=100,
        practice_cap_pence=20_000_00,
        created_by=personas["icb_a"],
        status="optimal",
        feasible=True,
    )


def _names(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    resolver = resolver or get_resolver()
    out = []
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            ns = f"{prefix}{p.namespace}:" if p.namespace else prefix
            out += _names(p, ns)
        elif isinstance(p, URLPattern) and p.name:
            out.append(f"{prefix}{p.name}")
    return out


def test_every_url_has_an_expectation():
    assert set(_names()) - API_OPERATIONS == set(EXPECTED), "add the new URL to EXPECTED with who may see it"
    assert set(_names()) >= API_OPERATIONS, "every API operation has a URL"


def resolve_args(request, args: tuple[str, ...]) -> tuple[str, ...]:
    """EXPECTED's placeholders ("{case}", "{session}", …) replaced by the walk fixtures' objects, made on demand."""
    if "{case}" in args:
        pk = str(request.getfixturevalue("walk_case").pk)
        args = tuple(pk if a == "{case}" else a for a in args)
    if "{payee}" in args:
        from apps.api.testing import icb_a_payee_commitment

        ref = icb_a_payee_commitment(request.getfixturevalue("personas"))
        args = tuple(ref if a == "{payee}" else a for a in args)
    if "walk-icb-a" in args:
        request.getfixturevalue("scenarios")
    if "{teammate}" in args:
        from apps.accounts.models import Role, User
        from apps.practices.models import ICB

        mate = User.objects.create_user(username="t-icb_a-mate", role=Role.ICB, icb=ICB.objects.get(code=ICB_A))
        args = tuple(str(mate.pk) if a == "{teammate}" else a for a in args)
    if "{upload}" in args:
        from apps.caseload.services import upload_file
        from apps.practices.models import ICB

        icb_a_user = request.getfixturevalue("personas")["icb_a"]
        made = upload_file(
            icb=ICB.objects.get(code=ICB_A),
            user=icb_a_user,
            filename="walk.csv",
            data=b"Case ID,ODS code\nW-1,A99901\n",
        )
        args = tuple(str(made.pk) if a == "{upload}" else a for a in args)
    if COHORT_PLACEHOLDERS & set(args):
        from apps.accounts.tests.world import icb_a_cohort

        cohort, place = icb_a_cohort(request.getfixturevalue("personas"))
        args = tuple({"{cohort}": str(cohort.pk), "{place}": str(place.pk)}.get(a, a) for a in args)
    if DELIVERY_PLACEHOLDERS & set(args):
        objs = request.getfixturevalue("walk_delivery")
        args = tuple(str(objs[a].pk) if a in objs else a for a in args)
    return args


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_url_as_every_persona(request, client_for, name):
    """Each URL as each persona, every answer judged and every wrong one reported together. The URL's objects are made
    once and each persona's request runs in its own savepoint, rolled back: as isolated as a test per persona (which
    this was: 1,000 tests, a case climbed for each), for a tenth of the set-up."""
    from django.db import transaction

    url = reverse(name, args=resolve_args(request, EXPECTED[name][0]))
    problems = []
    for persona in ["anonymous", *PERSONA_NAMES]:
        with transaction.atomic():
            response = client_for(persona).get(url)
            try:
                judge(name, persona, response)
            except AssertionError as e:
                problems.append(f"{persona}: {e}")
            transaction.set_rollback(True)
    assert not problems, "\n".join(problems)


def judge(name, persona, response):
    """The answer ``persona`` must get at ``name``'s URL (an AssertionError naming the difference otherwise)."""
    allowed = EXPECTED[name][1]
    if name in NOT_FOUND_FOR_ALL:
        assert response.status_code == 404, (name, persona, response.status_code)  # no sign-in needed, nothing found
    elif HIDDEN_PLACEHOLDERS & set(EXPECTED[name][0]) and persona not in allowed and persona != "anonymous":
        # an object the persona may not see does not exist for them (404); a page their role never has is 403
        assert response.status_code in {403, 404}, (name, persona, response.status_code)
    elif "{case}" in EXPECTED[name][0] and persona not in allowed and persona != "anonymous":
        # a case the persona may not see does not exist for them (404); one they see but may not act on is 403
        expected = {405} if name in POST_ONLY and persona in CASE_SEERS else {403, 404}
        if persona not in CASE_SEERS:
            expected = {404}
        assert response.status_code in expected, (name, persona, response.status_code)
    elif (name, persona) in REDIRECTS:
        assert response.status_code == 302 and REDIRECTS[(name, persona)] in response["Location"], (name, persona)
    elif (name, persona) in NOT_FOUND:
        assert response.status_code == 404, (name, persona, response.status_code)
    elif name == f"{API}:api-root":
        assert response.status_code == 404  # ninja's root only anchors the operations' paths
    elif name in POST_ONLY:
        assert response.status_code == (302 if persona == "anonymous" else 405), (name, persona, response.status_code)
    elif persona in allowed:
        # the body says why (``/health/`` names its problem), so a failure here is diagnosable from the report
        assert response.status_code == 200, (name, persona, response.status_code, response.content[:300])
    elif persona == "anonymous":
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], (name, response)
    elif name in PUBLIC:
        assert response.status_code == 302  # e.g. the start page sends signed-in users home
    else:
        assert response.status_code == 403, (name, persona, response.status_code)


@pytest.fixture
def walk_case(personas):
    """A case of practice X at diagnosis, provider assigned, with a submitted package."""
    from datetime import date

    from apps.cases import services
    from apps.cases.models import Package, Route

    icb, px = personas["icb_a"], personas["practice_x"]
    case, _ = services.refer(px, px.practice, Route.SELF, services.ReferralInput("We cannot fill GP sessions."))
    services.triage(icb, case, "high", "high", "Workforce gap")
    services.change_status(icb, case, "diagnosis")
    services.assign_provider(icb, case, personas["provider"])
    today = date.today()
    pkg = services.build_package(
        icb, case, [services.LineInput("gprp-coaching", 3)], [], today, services.financial_year_end(today)
    )
    services.submit_package(icb, Package.objects.get(pk=pkg.pk))
    case.refresh_from_db()
    return case


@pytest.fixture
def walk_delivery(personas):
    """Delivery objects for the walk, owned by the personas (see the EXPECTED comments)."""
    from datetime import date, timedelta

    from django.utils import timezone

    from apps.cases.models import SupportOffer
    from apps.cases.services import sync_menu
    from apps.delivery.models import (
        CoachingOffer,
        CoachingRequest,
        FacultyMember,
        Meeting,
        Network,
        PeerReview,
        ProviderOrganisation,
        Session,
        Slot,
    )

    sync_menu()
    px, prov, icb = personas["practice_x"], personas["provider"], personas["icb_a"]
    org = ProviderOrganisation.objects.create(name="Walk faculty", kind="faculty", lead_user=prov)
    member = FacultyMember.objects.create(
        name="Walk coach", organisation=org, user=prov, role="coach", joined_on=date(2024, 1, 1)
    )
    member.icbs.set([icb.icb])
    now = timezone.now()
    session = Session.objects.create(
        practice=px.practice, member=member, title="Walk session", starts_at=now, planned_hours=1, created_by=icb
    )
    network = Network.objects.create(name="Walk network", footprint="icb", icb=icb.icb, created_by=icb)
    meeting = Meeting.objects.create(
        network=network,
        title="Walk meeting",
        starts_at=now + timedelta(days=3),
        location="Video",
        agenda="Items",
        created_by=icb,
    )
    offer = CoachingOffer.objects.create(
        coach=member, offer=SupportOffer.objects.get(code="gpdp-pm-coaching"), title="Walk coaching", description="x"
    )
    Slot.objects.create(coaching_offer=offer, starts_at=now + timedelta(days=5))
    req = CoachingRequest.objects.create(coaching_offer=offer, practice=px.practice, requested_by=px, goals="Goals")
    review = PeerReview.objects.create(
        subject=px, reviewer=prov, held_on=date.today(), strengths="Good", to_develop="More"
    )
    return {
        "{session}": session,
        "{member}": member,
        "{network}": network,
        "{meeting}": meeting,
        "{offer}": offer,
        "{request}": req,
        "{review}": review,
    }


def test_unknown_practice_is_404_for_everyone_signed_in(client_for):
    assert client_for("icb_a").get(reverse("practices:detail", args=["ZZ9999"])).status_code == 404


def test_icb_a_user_sees_the_other_icb_register_because_it_is_open_data(client_for):
    """Register data is published nationally; confidential case data is what ICB scoping protects."""
    response = client_for("icb_a").get(reverse("practices:icb_detail", args=[ICB_B]))
    assert response.status_code == 200
    assert ICB_A not in response.content.decode().split("<main")[1][:200]


def test_forbidden_page_explains_in_plain_words(client_for):
    response = client_for("practice_x").get(reverse("datasets:logs"))
    assert response.status_code == 403
    assert "You do not have access to this page" in response.content.decode()


def test_not_found_page_is_styled_and_offers_search(client_for):
    response = client_for("icb_a").get("/no-such-page/")
    assert response.status_code == 404
    assert "search for the practice" in response.content.decode()
