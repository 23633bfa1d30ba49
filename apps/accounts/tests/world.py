"""The outsider matrix's world: ICB A's confidential records, the outsiders who must not see them, and what seeing
them would look like (the secrets a response must not contain).

Everything with an id is made in ICB A: practice X's case (provider assigned, a submitted package, a live assignment
of the walk coach), a session, the coach's faculty record with a declared conflict at another ICB A practice, an
ICB-wide network with a meeting, a coaching offer and practice X's request for it, a peer review, an ICB A scenario
and ICB A's own API token. The outsiders are ICB B's team, practice Y (another practice, in ICB B), provider B (a
provider assigned to nothing), an LMC of ICB B and the national team (aggregates only).

The secrets are the case references of every ICB A case (the demo cases too), the sign-in names of those practices'
users, and the ODS codes and names of the practices those cases are about. The practice of the coach's declared
conflict (a practice with no case) is secret from everyone but the national team, which manages the faculty. A
register page (open national data) may name any practice, so there only the case references count.

ICB A's team has a member (not a lead) and a waiting invitation sent by its lead; their names and email addresses
are secret from everyone but the national team, which manages ICB teams. A password-reset link for the member and the
invitation's link are real ones, so the secret-link pages are asked for ICB A's objects too.
"""

from __future__ import annotations

import html
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from apps.accounts.models import Role, User
from apps.pages.testing import ICB_A, ICB_B, make_personas

OUTSIDERS = ("icb_b", "practice_y", "provider_b", "lmc_b", "national")


@dataclass
class World:
    users: dict[str, User]
    ids: dict[str, str]  # placeholder ("{case}", "{icb}", …) -> the URL argument of ICB A's object
    refs: set[str] = field(default_factory=set)  # case references: secret on every page
    practices: set[str] = field(default_factory=set)  # codes and names: secret except on register pages
    conflict: set[str] = field(default_factory=set)  # the conflict's practice: secret except to the national team
    names_shared: set[str] = field(default_factory=set)  # names left out because a practice elsewhere has them too
    team: set[str] = field(default_factory=set)  # ICB A's team member and invitee: secret except to the national team

    def leaks(self, text: str, register: bool = False, persona: str = "", link_holder: bool = False) -> list[str]:
        """The secrets that appear in ``text`` (a page, a JSON body, a CSV or the text of an XLSX file).

        ``link_holder``: the page is opened by a secret link that names its holder (an invitation), so that person's
        own name and address may appear; nothing else may."""
        secrets = set(self.refs)
        if persona != "national" and not link_holder:
            secrets |= self.team
        if not register:
            secrets |= self.practices | (self.conflict if persona != "national" else set())
        return sorted(s for s in secrets if s in text or html.escape(s) in text)


def response_text(response: Any) -> str:
    """A response's text, whatever it is: XLSX files are unzipped and their XML searched."""
    body = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))
    return body.decode("utf-8", "replace")


def icb_a_cohort(users: dict[str, User], *, interest: bool = True, allocate: bool = True) -> tuple[Any, Any]:
    """ICB A's cohort of practice-manager development, delivered by the walk's provider, with practice X's interest
    offered a place: its rows name practice X, which has a case. ``interest``/``allocate`` False: a cohort with no
    interest yet, or with practice X waiting on an open cohort."""
    from analytics.money import financial_year_of
    from apps.cohorts import demo, services
    from apps.cohorts.models import AttendeeRole, Mode, Rule

    today = timezone.localdate()
    starts = today + timedelta(days=28)
    line = demo.universal_line(users["national"], financial_year_of(starts))
    org = demo.provider()
    org.lead_user = users["provider"]
    org.save()
    cohort = services.create_cohort(
        users["icb_a"],
        services.CohortInput(
            offer_code=demo.PM_OFFER,
            line_id=line.pk,
            title="Matrix cohort",
            starts_on=starts,
            ends_on=starts + timedelta(days=30),
            closes_on=today + timedelta(days=7),
            places=2,
            mode=Mode.ONLINE,
            provider_id=org.pk,
            cost_per_place_pence=150_000,
            rule=Rule.FIRST_COME,
        ),
    )
    if not interest:
        return cohort, None
    px = users["practice_x"]
    place = services.express_interest(px, cohort, px.practice, "Matrix Attendee", AttendeeRole.PRACTICE_MANAGER)
    if allocate:
        services.allocate(users["icb_a"], cohort)
    return cohort, place


def make_world() -> World:
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    from apps.accounts.models import TeamRole
    from apps.api.services import create_api_token
    from apps.api.testing import (
        PAYEE_NAME,
        case_with_package,
        icb_a_budget,
        icb_a_commitment,
        icb_a_payee_commitment,
        provider_session,
    )
    from apps.cases.models import Case, PackageLine, SupportOffer
    from apps.cases.services import sync_menu
    from apps.core.audit import acting_as
    from apps.delivery.models import (
        Assignment,
        CoachingOffer,
        CoachingRequest,
        ConflictOfInterest,
        Meeting,
        Network,
        NetworkMembership,
        PeerReview,
    )
    from apps.indicators.scoring_runs import current_run
    from apps.practices.models import ICB, Practice
    from apps.targeting.models import Scenario
    from apps.teams.services import InviteInput, invite

    sync_menu()
    users = make_personas()
    icb_a, icb_b = ICB.objects.get(code=ICB_A), ICB.objects.get(code=ICB_B)
    users["lmc_b"] = User.objects.create_user(
        username="t-lmc_b", password="x-test-password-1", role=Role.LMC, icb=icb_b, organisation="Other LMC"
    )
    px, icb_user, prov = users["practice_x"], users["icb_a"], users["provider"]
    with acting_as(px):  # the audit trail then names the practice user, as when the practice refers itself
        case = case_with_package(users)
    session = provider_session(users)
    member = session.member
    member.icbs.set([icb_a])
    line = PackageLine.objects.filter(package__case=case).first()
    assert line is not None
    today = timezone.localdate()
    Assignment.objects.create(
        case=case,
        line=line,
        member=member,
        organisation=member.organisation,
        hours=6,
        starts=today,
        ends=today + timedelta(days=90),
        assigned_by=icb_user,
    )
    conflicted = Practice.objects.filter(icb=icb_a, support_cases__isnull=True).order_by("code").first()
    assert conflicted is not None
    ConflictOfInterest.objects.create(
        member=member, practice=conflicted, description="Partner in the practice", declared_by=icb_user
    )
    network = Network.objects.create(name="Matrix network", footprint="icb", icb=icb_a, created_by=icb_user)
    NetworkMembership.objects.create(network=network, user=px)
    meeting = Meeting.objects.create(
        network=network,
        title="Matrix meeting",
        starts_at=timezone.now() + timedelta(days=3),
        location="Video",
        agenda="Items",
        created_by=icb_user,
    )
    offer = CoachingOffer.objects.create(
        coach=member, offer=SupportOffer.objects.get(code="gpdp-pm-coaching"), title="Matrix coaching", description="x"
    )
    request = CoachingRequest.objects.create(coaching_offer=offer, practice=px.practice, requested_by=px, goals="Goals")
    review = PeerReview.objects.create(
        subject=px, reviewer=prov, held_on=date.today(), strengths="Good", to_develop="More"
    )
    scenario = Scenario.objects.create(
        ref="matrix-icb-a",
        name="Matrix",
        scope=Scenario.Scope.ICB,
        icb=icb_a,
        budget_pence=100_000_00,
        coach_hours=100,
        practice_cap_pence=20_000_00,
        created_by=icb_user,
        status="optimal",
        feasible=True,
    )
    token, _ = create_api_token(icb_user, "matrix")
    teammate = User.objects.create_user(
        username="matrix.teammate@icb-a.nhs.net",
        email="matrix.teammate@icb-a.nhs.net",
        password="x-test-password-1",
        first_name="Ottoline",
        last_name="Teammatewick",
        role=Role.ICB,
        team_role=TeamRole.MEMBER,
        icb=icb_a,
    )
    invitation, invitation_token = invite(
        icb_user,
        InviteInput("matrix.invitee@icb-a.nhs.net", "Perpetua", "Inviteeworth", Role.ICB, TeamRole.MEMBER, icb=icb_a),
    )
    run = current_run()
    assert run is not None, "the test session scores the practices once"
    from apps.caseload.services import upload_file

    caseload = upload_file(
        icb=icb_a,
        user=icb_user,
        filename="matrix-caseload.csv",
        data=(
            "Case reference,Practice ODS code,Referred on,State\n"
            f"MATRIX-IMPORT-1,{px.practice.code},1/4/2024,Referred\n"
        ).encode(),
    )
    cohort, place = icb_a_cohort(users)
    ids = {
        "{cohort}": str(cohort.pk),
        "{place}": str(place.pk),
        "{icb}": ICB_A,
        "{practice}": px.practice.code,
        "{pcn}": px.practice.pcn.code if px.practice.pcn else "",
        "{case}": str(case.pk),
        "{package}": "1",
        "{session}": str(session.pk),
        "{member}": str(member.pk),
        "{network}": str(network.pk),
        "{meeting}": str(meeting.pk),
        "{offer}": str(offer.pk),
        "{request}": str(request.pk),
        "{review}": str(review.pk),
        "{scenario}": scenario.ref,
        "{token}": str(token.pk),
        "{run}": str(run.pk),
        "{commitment}": icb_a_commitment(users),
        "{payee}": icb_a_payee_commitment(users),
        "{budget}": icb_a_budget(users),
        "{teammate}": str(teammate.pk),
        "{upload}": str(caseload.pk),
        "{invitation}": str(invitation.pk),
        "{invitation_token}": invitation_token,
        "{reset_uid}": urlsafe_base64_encode(force_bytes(teammate.pk)),
        "{reset_token}": default_token_generator.make_token(teammate),
    }
    world = World(users=users, ids=ids)
    world.team = {
        teammate.username,
        teammate.last_name,
        invitation.email,
        invitation.last_name,
    }
    cases = Case.objects.filter(icb=icb_a).select_related("practice")
    # A commitment outside a case names its payee: ICB A's alone, like a case reference
    world.refs = {c.ref for c in cases} | {"MATRIX-IMPORT-1", caseload.sha256, ids["{payee}"], PAYEE_NAME}
    world.refs.add("Matrix Attendee")  # who practice X sends to ICB A's cohort: a row of practice X
    about = {c.practice for c in cases}
    outside_names = set(Practice.objects.exclude(icb=icb_a).values_list("name", flat=True))
    for p in [*about, conflicted]:
        secret = world.conflict if p == conflicted else world.practices
        secret.add(p.code)
        # a name shared with a practice elsewhere would be found on pages that rightly name that other practice
        if p.name not in outside_names and len(p.name) >= 8:
            secret |= {p.name, p.display_name}  # pages show the title-cased form
        else:
            world.names_shared.add(p.name)
    # the sign-in names of those practices' users: who opened or answered a case names the practice
    world.refs |= set(User.objects.filter(practice__in=about).values_list("username", flat=True))
    return world
