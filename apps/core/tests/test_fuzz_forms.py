"""Fuzz every form that writes something: hostile input never gives a server error, a refusal changes nothing and
says what is wrong, a valid submission does what it says. See :mod:`apps.core.tests.formfuzz` for the oracle.

Adding a form is one :class:`Form` entry in :data:`FORMS` (its URL, the persona who may use it, its fields with
valid values and other ICBs' or practices' ids, and what the valid submission does). ``test_every_post_view_is_fuzzed``
fails when a URL whose view accepts POST has no entry.

Bounded and deterministic: each form gets a modest number of examples (``max_examples``, 25 by default), hypothesis
runs derandomized with no example database, and every example runs inside a savepoint that is rolled back, so each
starts from the same world (built once per form through the real services).
"""

from __future__ import annotations

import inspect
from datetime import date, timedelta
from functools import cached_property
from typing import Any

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.api.main import NAMESPACE as API
from apps.core.models import AuditRecord
from apps.core.testing import ICB_A, ICB_B
from apps.core.tests.formfuzz import Field, Form, check_response, db_state, post, submissions

pytestmark = pytest.mark.django_db

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- The world the forms act on ---------------------------------------------------------------------------------


class World:
    """Objects in the states the forms need, made through the services on first use (one per test)."""

    def __init__(self, personas: dict[str, Any]) -> None:
        self.p = personas

    # People and places
    def practice_user(self, code: str) -> Any:
        from apps.accounts.models import Role, User
        from apps.practices.models import Practice

        return User.objects.create_user(
            username=f"t-practice-{code}", password="x", role=Role.PRACTICE, practice=Practice.objects.get(code=code)
        )

    @cached_property
    def icb_a_practices(self) -> list[str]:
        from apps.cases.models import OPEN
        from apps.practices.models import Practice, PracticeStatus

        return list(
            Practice.objects.filter(icb__code=ICB_A, status=PracticeStatus.ACTIVE)
            .exclude(support_cases__status__in=OPEN)
            .exclude(code=self.p["practice_x"].practice.code)
            .order_by("code")
            .values_list("code", flat=True)[:6]
        )

    @cached_property
    def icb_b_practice(self) -> str:
        return self.p["practice_y"].practice.code

    @cached_property
    def colleague_a(self) -> Any:
        from apps.accounts.models import Role, User

        return User.objects.create_user(username="t-icb_a2", password="x", role=Role.ICB, icb=self.p["icb_a"].icb)

    @cached_property
    def diagnosis_user(self) -> Any:
        return self.practice_user(self.icb_a_practices[0])

    @cached_property
    def approved_user(self) -> Any:
        return self.practice_user(self.icb_a_practices[2])

    def user(self, name: str) -> Any:
        """A persona (apps/core/testing.py) or a practice user of the world (``diagnosis_user``, ``approved_user``)."""
        return self.p[name] if name in self.p else getattr(self, name)

    # Cases in each state (one open case per practice, so each state has its own practice)
    @cached_property
    def referred(self) -> Any:
        from apps.cases import services
        from apps.cases.models import Route

        px = self.p["practice_x"]
        case, _ = services.refer(px, px.practice, Route.SELF, services.ReferralInput("We cannot fill GP sessions."))
        return case

    @cached_property
    def diagnosis(self) -> Any:
        """A case at diagnosis with a plan written (not agreed) and the provider assigned."""
        from apps.cases import services
        from apps.cases.models import Route

        icb = self.p["icb_a"]
        pu = self.diagnosis_user
        case, _ = services.refer(pu, pu.practice, Route.SELF, services.ReferralInput("Partners are leaving."))
        services.triage(icb, case, "high", "high", "Workforce gap")
        services.change_status(icb, case, "diagnosis")
        services.assign_provider(icb, case, self.p["provider"])
        services.save_plan(pu, case, self.goals())
        case.refresh_from_db()
        return case

    @staticmethod
    def goals() -> list[Any]:
        from apps.cases import services

        return [
            services.GoalInput(
                "workforce",
                "Stabilise the rota",
                [services.ActionInput("Coaching for the partners", "Lead partner", date(2027, 3, 1), "gprp-coaching")],
            )
        ]

    @cached_property
    def submitted(self) -> Any:
        """The package submitted for approval on a triaged case of another ICB A practice."""
        from apps.cases import services
        from apps.cases.models import Route

        icb = self.p["icb_a"]
        pu = self.practice_user(self.icb_a_practices[1])
        case, _ = services.refer(pu, pu.practice, Route.SELF, services.ReferralInput("Our manager has left."))
        services.triage(icb, case, "high", "high", "Management gap")
        services.save_plan(pu, case, self.goals())
        services.agree_plan(pu, case)
        today = timezone.localdate()
        pkg = services.build_package(
            icb, case, [services.LineInput("gprp-coaching", 2)], [], today, services.financial_year_end(today)
        )
        return services.submit_package(icb, pkg)

    @cached_property
    def budget_a(self) -> Any:
        from apps.funding import services as funding

        return max(funding.budgets_for(self.p["icb_a"].icb), key=lambda b: b.headroom_pence)

    @cached_property
    def approved(self) -> Any:
        """A case with an approved package (6 coaching sessions) and its plan agreed: ready for delivery."""
        from apps.cases import services
        from apps.cases.models import Package, Route

        icb = self.p["icb_a"]
        pu = self.approved_user
        case, _ = services.refer(pu, pu.practice, Route.SELF, services.ReferralInput("Phone queues over an hour."))
        services.triage(icb, case, "high", "high", "Access")
        services.save_plan(pu, case, self.goals())
        services.agree_plan(pu, case)
        today = timezone.localdate()
        pkg = services.build_package(
            icb, case, [services.LineInput("gprp-coaching", 6)], [], today, services.financial_year_end(today)
        )
        services.submit_package(icb, pkg)
        services.approve_package(icb, Package.objects.get(pk=pkg.pk), "Approved", self.budget_a)
        case.refresh_from_db()
        return case

    @cached_property
    def baseline_taken_long_ago(self) -> Any:
        """The approved case with its baseline back-dated 13 months, so both follow-ups are due."""
        from apps.delivery.models import OutcomeSnapshot

        case = self.approved
        OutcomeSnapshot.objects.filter(case=case, kind="baseline").update(taken_at=timezone.now() - timedelta(days=400))
        return case

    @cached_property
    def line(self) -> Any:
        from apps.cases.models import Package

        return self.approved.packages.get(state=Package.State.APPROVED).lines.get()

    # Delivery
    @cached_property
    def org(self) -> Any:
        from apps.cases.models import SupportOffer
        from apps.delivery.models import ProviderOrganisation

        o = ProviderOrganisation.objects.create(
            name="Fuzz faculty", kind="faculty", capacity_hours_per_month=40, lead_user=self.p["provider"]
        )
        o.icbs.set([self.p["icb_a"].icb])
        o.offers.set(SupportOffer.objects.filter(code__in=["gprp-coaching", "gpdp-pm-coaching"]))
        return o

    @cached_property
    def coach(self) -> Any:
        from apps.cases.models import SupportOffer
        from apps.delivery.models import Accreditation, FacultyMember, MemberRole

        m = FacultyMember.objects.create(
            name="Alex Coach",
            organisation=self.org,
            user=self.p["provider"],
            role=MemberRole.COACH,
            capacity_hours_per_month=40,
            accreditation=Accreditation.ACCREDITED,
            accredited_on=date(2022, 1, 1),
            joined_on=date(2022, 1, 1),
        )
        m.icbs.set([self.p["icb_a"].icb])
        m.offers.set(SupportOffer.objects.filter(code__in=["gprp-coaching", "gpdp-pm-coaching"]))
        return m

    @cached_property
    def apprentice(self) -> Any:
        from apps.delivery.models import Accreditation, FacultyMember, MemberRole

        m = FacultyMember.objects.create(
            name="Sam Apprentice",
            organisation=self.org,
            role=MemberRole.APPRENTICE,
            capacity_hours_per_month=10,
            accreditation=Accreditation.IN_TRAINING,
            joined_on=date(2025, 1, 1),
        )
        m.icbs.set([self.p["icb_a"].icb])
        return m

    @cached_property
    def assignment(self) -> Any:
        from apps.delivery import services

        self.coach  # made first
        return services.assign_work(self.p["icb_a"], self.line, member=self.coach)

    @cached_property
    def past_session(self) -> Any:
        from apps.delivery.models import Session

        a = self.assignment
        return Session.objects.create(
            practice=a.case.practice,
            case=a.case,
            assignment=a,
            member=a.member,
            title="Coaching 1",
            starts_at=timezone.now() - timedelta(hours=2),
            planned_hours=2,
            created_by=self.p["provider"],
        )

    @cached_property
    def signed_off_session(self) -> Any:
        from apps.delivery import services
        from apps.delivery.models import Session

        a = self.assignment
        s = Session.objects.create(
            practice=a.case.practice,
            case=a.case,
            assignment=a,
            member=a.member,
            title="Coaching 2",
            starts_at=timezone.now() - timedelta(hours=5),
            planned_hours=2,
            created_by=self.p["provider"],
        )
        log = services.LogInput(
            delivered=True, hours=1.5, attendees={"gp_partner": 2}, notes="Rota plan drafted.", sign_off=True
        )
        return services.log_session(self.p["provider"], s, log)

    @cached_property
    def network(self) -> Any:
        from apps.delivery.models import Network

        return Network.objects.create(
            name="ICB A managers", footprint="icb", icb=self.p["icb_a"].icb, created_by=self.p["icb_a"]
        )

    @cached_property
    def network_b(self) -> Any:
        from apps.delivery.models import Network

        return Network.objects.create(
            name="ICB B managers", footprint="icb", icb=self.p["icb_b"].icb, created_by=self.p["icb_b"]
        )

    @cached_property
    def meeting(self) -> Any:
        from apps.delivery import networks
        from apps.delivery.models import Meeting

        networks.join_network(self.p["practice_x"], self.network)
        return Meeting.objects.create(  # held three hours ago (the service schedules only future meetings)
            network=self.network,
            title="Rota tips",
            starts_at=timezone.now() - timedelta(hours=3),
            location="Video",
            agenda="Items",
            created_by=self.p["icb_a"],
        )

    @cached_property
    def coaching_offer(self) -> Any:
        from apps.cases.models import SupportOffer
        from apps.delivery import networks
        from apps.delivery.models import CoachingOffer

        offer = CoachingOffer.objects.create(
            coach=self.coach, offer=SupportOffer.objects.get(code="gpdp-pm-coaching"), title="PM coaching"
        )
        base = timezone.now().replace(microsecond=0) + timedelta(days=3)
        networks.publish_slots(self.p["provider"], offer, [base + timedelta(days=i) for i in range(3)])
        return offer

    @cached_property
    def coaching_request(self) -> Any:
        from apps.delivery import networks

        return networks.request_coaching(self.p["practice_x"], self.coaching_offer, "Help with rota planning.")

    @cached_property
    def booking(self) -> Any:
        from apps.delivery import networks

        return networks.book_slot(self.p["practice_x"], self.coaching_request, self.coaching_offer.slots.last())

    @cached_property
    def peer_review(self) -> Any:
        from apps.delivery import networks

        self.coaching_request  # the provider reviews practice managers who asked for coaching
        return networks.record_peer_review(
            self.p["provider"],
            self.p["practice_x"],
            timezone.localdate(),
            "Clear rota",
            "Delegation",
            [networks.GoalInput("Delegate the payroll", "Train a deputy", date(2027, 3, 1))],
        )

    # Money
    @cached_property
    def fuzz_line(self) -> Any:
        """A national programme line profiled for this year and not yet allocated."""
        from analytics.money import financial_year_of
        from apps.funding import services

        fy = financial_year_of(timezone.localdate())
        programme = services.create_programme(
            user=self.p["national"],
            code="FUZZ",
            name="Fuzz programme",
            menu="GPRP",
            lines=[services.LineSpec("core", "Core", "CC01", "5210", {fy: 100_000_00})],
        )
        return programme.lines.get()

    @cached_property
    def allocated_line(self) -> Any:
        """A line allocated wholly to ICB A (by fixed shares), £40,000 released: the ICB's budget to move or pay."""
        from apps.funding import services
        from apps.funding.models import Formula

        programme = services.create_programme(
            user=self.p["national"],
            code="FUZA",
            name="Fuzz allocated",
            menu="GPRP",
            lines=[services.LineSpec("core", "Core", "CC02", "5211", {self.fy: 100_000_00})],
        )
        line = programme.lines.get()
        kw = {"line": line, "fy": self.fy, "amount_pence": 100_000_00, "formula": Formula.FIXED_SHARES}
        preview = services.preview_allocation(**kw, shares={ICB_A: 1})
        services.confirm_allocation(user=self.p["national"], **kw, shares={ICB_A: 1}, fingerprint=preview.fingerprint)
        services.release_tranche(user=self.p["national"], line=line, fy=self.fy, amount_pence=40_000_00, note="First")
        return line

    @cached_property
    def fy(self) -> int:
        from analytics.money import financial_year_of

        return financial_year_of(timezone.localdate())

    def budget_of(self, line: Any, icb_code: str) -> Any:
        from apps.funding.models import Budget

        return Budget.objects.get(line=line, icb__code=icb_code, fy=self.fy)

    @cached_property
    def commitment(self) -> Any:
        from apps.funding.models import Commitment

        self.approved  # its approval committed money
        return Commitment.objects.filter(budget__icb__code=ICB_A).order_by("-pk").first()

    @cached_property
    def payment(self) -> Any:
        """A payment recorded by a colleague in ICB A's team, waiting for a second person to approve it."""
        from apps.funding import services

        return services.record_payment(
            reference=self.commitment.reference,
            amount_pence=100_00,
            kind="invoice",
            payee="Fuzz faculty",
            user=self.colleague_a,
            invoice_number="INV-1",
            offer_code="gprp-coaching",
        )

    @cached_property
    def virement(self) -> Any:
        from apps.funding import services

        other = self.budget_a if self.budget_a.line_id != self.allocated_line.pk else None
        assert other is not None
        return services.request_virement(
            from_budget=self.budget_of(self.allocated_line, ICB_A),
            to_budget=other,
            amount_pence=1_000_00,
            reason="Move money to where it is needed",
            user=self.p["icb_a"],
        )

    # Other
    @cached_property
    def scenario(self) -> Any:
        from apps.targeting.models import Scenario

        return Scenario.objects.create(
            ref="fuzz-icb-a",
            name="Fuzz",
            scope=Scenario.Scope.ICB,
            icb=self.p["icb_a"].icb,
            budget_pence=100_000_00,
            coach_hours=100,
            practice_cap_pence=20_000_00,
            created_by=self.p["icb_a"],
            status="optimal",
            feasible=True,
        )

    @cached_property
    def token(self) -> Any:
        from apps.api import services

        return services.create_api_token(self.p["icb_a"], "laptop")[0]

    @cached_property
    def token_b(self) -> Any:
        from apps.api import services

        return services.create_api_token(self.p["icb_b"], "theirs")[0]


# --- Effects of the valid submissions ---------------------------------------------------------------------------


def grew(*labels: str) -> Any:
    """The valid submission added a row to each of these tables."""

    def check(world: World, before: dict[str, int], after: dict[str, int]) -> None:
        for label in labels:
            assert after[label] > before[label], f"no new {label}"

    return check


def status_is(get_case: str, status: str) -> Any:
    def check(world: World, before: dict[str, int], after: dict[str, int]) -> None:
        case = getattr(world, get_case)
        case.refresh_from_db()
        assert case.status == status, (case.status, status)

    return check


def pk(attr: str) -> Any:
    return lambda w: (getattr(w, attr).pk,)


def ids(attr: str) -> Any:
    return lambda w: [str(getattr(w, attr).pk)]


# --- Field vocabularies -----------------------------------------------------------------------------------------

TRIED = ("locums", "recruitment", "list_closure")
HELP = ("Workforce support", "Coaching, training, supervision and mentorship", "Diagnostic services")
REFERRAL_FIELDS = (
    Field("concerns", "text", ("Two partners are retiring and nobody applied for the salaried post.",)),
    Field("tried", "choice", TRIED, multi=True),
    Field("help_wanted", "choice", HELP, multi=True),
    Field("urgency", "choice", ("routine", "soon", "urgent")),
)
SURVEY = tuple(Field(q, "number", ("4", "1", "5")) for q in ("workload", "morale", "access", "sustainable"))
TODAY = date.today()
LAST_MONTH = (TODAY - timedelta(days=40)).isoformat(), (TODAY - timedelta(days=10)).isoformat()
SOON = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")


def health_answers(world: World) -> tuple[Field, ...]:
    return ()


def hc_fields() -> tuple[Field, ...]:
    from apps.cases.config import questionnaire

    return tuple(Field(qid, "number", ("3", "1", "5")) for qid in questionnaire().questions)


def plan_fields() -> tuple[Field, ...]:
    return (
        Field("goal-0", "text", ("Fill the GP vacancy",)),
        Field("area-0", "choice", ("workforce", "leadership")),
        Field("action-0", "text", ("Recruit a salaried GP",)),
        Field("owner-0", "text", ("Practice manager",)),
        Field("due-0", "date", ("2027-01-31",)),
        Field("offer-0", "choice", ("gprp-workforce", "")),
        Field("done-0", "flag", ("", "1")),
        Field("rows", "number", ("8", "1")),
    )


FORMS: tuple[Form, ...] = (
    # Cases: ways in
    Form(
        "refer",
        "cases:refer",
        "practice_x",
        REFERRAL_FIELDS,
        effect=grew("cases.Case", "cases.Referral"),
    ),
    Form(
        "nominate-icb",
        "cases:nominate",
        "icb_a",
        (
            Field("practice", "id", lambda w: [w.icb_a_practices[3]], foreign=lambda w: [w.icb_b_practice]),
            *REFERRAL_FIELDS,
            Field("route", "choice", ("icb", "watch_list", "lmc", "self")),
        ),
        effect=grew("cases.Case", "cases.Referral"),
    ),
    Form(
        "nominate-lmc",
        "cases:nominate",
        "lmc",
        (
            Field("practice", "id", lambda w: [w.icb_a_practices[3]], foreign=lambda w: [w.icb_b_practice]),
            *REFERRAL_FIELDS,
        ),
        effect=grew("cases.Case", "cases.Referral"),
    ),
    # Cases: the case's steps
    Form(
        "triage",
        "cases:triage",
        "icb_a",
        (
            Field("scope", "choice", ("high", "medium", "low")),
            Field("impact", "choice", ("medium", "high", "low")),
            Field("rationale", "text", ("Workforce gap the menu can address",)),
        ),
        args=pk("referred"),
        effect=status_is("referred", "triaged"),
    ),
    Form(
        "withdraw",
        "cases:move",
        "practice_x",
        (Field("reason", "text", ("We have recruited a partner after all.",)),),
        args=lambda w: (w.referred.pk, "withdrawn"),
        effect=status_is("referred", "withdrawn"),
    ),
    Form(
        "decline",
        "cases:move",
        "icb_a",
        (Field("reason", "text", ("Another programme fits this practice better.",)),),
        args=lambda w: (w.referred.pk, "declined"),
        effect=status_is("referred", "declined"),
    ),
    Form(
        "close",
        "cases:move",
        "icb_a",
        (Field("reason", "text", ("Support finished; the practice is stable.",)),),
        args=lambda w: (w.diagnosis.pk, "withdrawn"),
        effect=status_is("diagnosis", "withdrawn"),
    ),
    Form(
        "note",
        "cases:add_note",
        "icb_a",
        (Field("text", "text", ("Phoned the practice manager.",)), Field("confidential", "flag", ("", "1"))),
        args=pk("referred"),
        effect=grew("cases.CaseNote"),
    ),
    Form(
        "note-practice",
        "cases:add_note",
        "practice_x",
        (Field("text", "text", ("We have a locum from May.",)), Field("confidential", "flag", ("1", ""))),
        args=pk("referred"),
        effect=grew("cases.CaseNote"),
    ),
    Form(
        "assign-provider",
        "cases:assign",
        "icb_a",
        (Field("provider", "id", lambda w: [str(w.p["provider"].pk)], foreign=lambda w: [str(w.p["icb_b"].pk)]),),
        args=pk("referred"),
        effect=lambda w, b, a: w.referred.refresh_from_db() or w.referred.provider_id == w.p["provider"].pk,
    ),
    Form(
        "health-check",
        "cases:health_check",
        "diagnosis_user",
        (*hc_fields(), Field("action", "choice", ("submit", "save"))),
        args=pk("diagnosis"),
        effect=grew("cases.HealthCheck"),
    ),
    Form(
        "plan",
        "cases:plan",
        "diagnosis_user",
        plan_fields(),
        args=pk("diagnosis"),
        effect=grew("cases.PlanChange"),
    ),
    Form(
        "agree-plan",
        "cases:agree",
        "diagnosis_user",
        args=pk("diagnosis"),
        effect=lambda w, b, a: None,
    ),
    Form(
        "package",
        "cases:package",
        "icb_a",
        (
            Field("units-gprp-coaching", "number", ("3", "", "0")),
            Field("note-gprp-coaching", "text", ("Three sessions for the partners",)),
            Field("units-gprp-diagnostic", "number", ("", "1")),
            Field("group", "lines", ("", "A81002 25")),
            Field("starts", "date", (TODAY.isoformat(),)),
            Field("ends", "date", ("2027-03-31",)),
            Field("action", "choice", ("price", "submit")),
        ),
        args=pk("diagnosis"),
        effect=grew("cases.Package"),
    ),
    Form(
        "approve",
        "cases:decide",
        "icb_a",
        (
            Field("decision", "choice", ("approve", "refuse")),
            Field("note", "text", ("Fits the menu and the budget.",)),
            Field("budget", "id", lambda w: [str(w.budget_a.pk)]),
        ),
        args=lambda w: (w.submitted.case_id, w.submitted.number),
        effect=lambda w, b, a: None,
    ),
    Form(
        "notification-settings",
        "cases:notifications",
        "icb_a",
        (Field("kinds", "choice", ("new_referral", "triaged", "package_submitted", "session_reminder"), multi=True),),
        fixed={"action": "settings"},
    ),
    Form("notifications-read", "cases:notifications", "practice_x", fixed={"action": "read"}),
    # Delivery: faculty, assignment, sessions, outcomes
    Form(
        "faculty-member",
        "delivery:faculty",
        "icb_a",
        (
            Field("name", "text", ("Jo Adviser",)),
            Field("organisation", "id", ids("org")),
            Field("role", "choice", ("adviser", "coach", "apprentice", "specialist")),
            Field("capacity", "number", ("12", "0.5", "")),
            Field("joined_on", "date", ("2025-09-01",)),
            Field("offers", "choice", ("gprp-coaching", "gpdp-pm-coaching"), multi=True),
            Field("icbs", "id", lambda w: [str(w.p["icb_a"].icb_id), str(w.p["icb_b"].icb_id)], multi=True),
            Field("email", "text", ("jo@example.nhs.uk", "")),
            Field("accreditation", "choice", ("in_training", "accredited", "lapsed", "not_required")),
            Field("accredited_on", "date", ("", "2024-05-01")),
            Field("expires", "date", ("", "2027-05-01")),
            Field("supervisor", "id", lambda w: ["", str(w.coach.pk)]),
            Field("new_member", "flag", ("", "1")),
        ),
        effect=grew("delivery.FacultyMember"),
    ),
    Form(
        "apprentice-stage",
        "delivery:member",
        "icb_a",
        (
            Field("stage", "choice", ("enrolled", "foundation", "supervised", "assessment", "accredited")),
            Field("note", "text", ("Enrolled on the course.", "")),
        ),
        args=pk("apprentice"),
        fixed={"action": "stage"},
        effect=grew("delivery.StageChange"),
    ),
    Form(
        "conflict",
        "delivery:member",
        "provider",
        (
            Field("where", "id", lambda w: [w.icb_a_practices[5], "A81001"], foreign=lambda w: [w.icb_b_practice]),
            Field("description", "text", ("My sister is a partner there.",)),
        ),
        args=pk("coach"),
        fixed={"action": "conflict"},
        effect=grew("delivery.ConflictOfInterest"),
    ),
    Form(
        "assign-delivery",
        "delivery:case",
        "icb_a",
        (
            Field("line", "id", ids("line"), foreign=lambda w: [str(w.submitted.lines.get().pk)]),
            Field("who", "choice", lambda w: [f"m-{w.coach.pk}", f"o-{w.org.pk}"]),
            Field("hours", "number", ("", "6", "0.5")),
        ),
        args=pk("approved"),
        effect=grew("delivery.Assignment"),
    ),
    Form(
        "plan-session",
        "delivery:plan_session",
        "provider",
        (
            Field("title", "text", ("Coaching 3",)),
            Field("starts_at", "datetime", (SOON,)),
            Field("hours", "number", ("1.5", "2")),
            Field("assignment", "id", ids("assignment")),
        ),
        args=lambda w: (w.assignment.case_id,),
        effect=grew("delivery.Session"),
    ),
    Form(
        "session-log",
        "delivery:session",
        "provider",
        (
            Field("outcome", "choice", ("delivered", "cancelled")),
            Field("hours", "number", ("1.5", "2")),
            Field("notes", "text", ("Succession plan drafted.",)),
            Field("reason", "text", ("", "Practice closed for snow")),
            *(Field(f"att-{k}", "number", ("1", "", "0")) for k in ("gp_partner", "practice_manager", "other")),
            Field("sign_off", "flag", ("", "1")),
        ),
        args=pk("past_session"),
        fixed={"action": "log"},
        effect=lambda w, b, a: None,
    ),
    Form(
        "session-confirm",
        "delivery:session",
        "approved_user",
        args=pk("signed_off_session"),
        fixed={"action": "confirm"},
    ),
    Form(
        "outcome-hours",
        "delivery:case_outcomes",
        "icb_a",
        (
            Field(
                "plan_action",
                "id",
                lambda w: [str(w.approved.plan.goals.get().actions.get().pk)],
                foreign=lambda w: [str(w.diagnosis.plan.goals.get().actions.get().pk)],
            ),
            Field("clinical", "number", ("4", "0.5")),
            Field("admin", "number", ("2", "")),
            Field("period_start", "date", (LAST_MONTH[0],)),
            Field("period_end", "date", (LAST_MONTH[1],)),
            Field("method", "text", ("Appointment audit before and after",)),
        ),
        args=pk("approved"),
        fixed={"action": "hours"},
        effect=grew("delivery.HoursReleased"),
    ),
    Form(
        "outcome-rag",
        "delivery:case_outcomes",
        "icb_a",
        (
            Field("package", "id", lambda w: [str(w.line.package.number)]),
            Field("rag", "choice", ("amber", "red", "green")),
            Field("reason", "text", ("Two sessions slipped to next month.",)),
        ),
        args=pk("approved"),
        fixed={"action": "rag"},
        effect=grew("delivery.PackageRating"),
    ),
    Form(
        "outcome-survey",
        "delivery:case_outcomes",
        "approved_user",
        (Field("kind", "choice", ("month_6", "baseline", "month_12")), *SURVEY, Field("comment", "text", ("",))),
        args=pk("approved"),
        fixed={"action": "survey"},
        effect=grew("delivery.PracticeSurvey"),
    ),
    Form(
        "outcome-snapshot",
        "delivery:case_outcomes",
        "icb_a",
        (Field("kind", "choice", ("month_6", "month_12", "baseline")),),
        args=pk("baseline_taken_long_ago"),
        fixed={"action": "snapshot"},
        max_examples=10,
    ),
    Form("calendar-renew", "delivery:calendar", "practice_x", max_examples=5),
    # Delivery: networks, coaching, peer review
    Form("network-join", "delivery:network", "practice_x", args=pk("network"), fixed={"action": "join"}),
    Form(
        "network-post",
        "delivery:network",
        "practice_x",
        (
            Field("title", "text", ("Care navigation",)),
            Field("body", "text", ("We trained reception in care navigation.",)),
            Field("tags", "text", ("telephony, access", "")),
        ),
        args=lambda w: (w.meeting.network_id,),
        fixed={"action": "post"},
        effect=grew("delivery.Post"),
    ),
    Form(
        "meeting-new",
        "delivery:new_meeting",
        "lmc",
        (
            Field("title", "text", ("Rota planning",)),
            Field("starts_at", "datetime", (SOON,)),
            Field("minutes", "number", ("90", "60")),
            Field("location", "text", ("Video call",)),
            Field("agenda", "text", ("Rotas; locum rates",)),
        ),
        args=pk("network"),
        effect=grew("delivery.Meeting"),
    ),
    Form(
        "meeting-attendance",
        "delivery:meeting",
        "icb_a",
        (
            Field(
                "attended",
                "id",
                lambda w: [str(w.p["practice_x"].pk)],
                foreign=lambda w: [str(w.p["practice_y"].pk)],
                multi=True,
            ),
        ),
        args=pk("meeting"),
    ),
    Form(
        "coaching-request",
        "delivery:coaching_offer",
        "practice_x",
        (Field("goals", "text", ("Help with rota planning.",)),),
        args=pk("coaching_offer"),
        fixed={"action": "request"},
        effect=grew("delivery.CoachingRequest"),
    ),
    Form(
        "coaching-slots",
        "delivery:coaching_offer",
        "provider",
        (
            Field("slots", "lines", (f"{SOON}\n{TODAY + timedelta(days=9)} 14:00",)),
            Field("location", "text", ("Video",)),
        ),
        args=pk("coaching_offer"),
        fixed={"action": "slots"},
        effect=grew("delivery.Slot"),
    ),
    Form(
        "coaching-book",
        "delivery:coaching_request",
        "practice_x",
        (Field("slot", "id", lambda w: [str(w.coaching_offer.slots.first().pk)]),),
        args=pk("coaching_request"),
        fixed={"action": "book"},
        effect=grew("delivery.Booking"),
    ),
    Form(
        "coaching-cancel",
        "delivery:coaching_request",
        "practice_x",
        (Field("booking", "id", ids("booking")),),
        args=lambda w: (w.booking.request_id,),
        fixed={"action": "cancel"},
    ),
    Form(
        "peer-review",
        "delivery:peer_reviews",
        "provider",
        (
            Field(
                "subject",
                "id",
                lambda w: [str(w.coaching_request.requested_by_id)],
                foreign=lambda w: [str(w.p["practice_y"].pk)],
            ),
            Field("held_on", "date", (TODAY.isoformat(),)),
            Field("strengths", "text", ("Clear rota",)),
            Field("to_develop", "text", ("Delegation",)),
            Field("goal-0", "text", ("Delegate the payroll", "")),
            Field("actions-0", "text", ("Train a deputy", "")),
            Field("due-0", "date", ("2027-03-01", "")),
        ),
        effect=grew("delivery.PeerReview"),
    ),
    Form(
        "peer-goal",
        "delivery:peer_review",
        "practice_x",
        (Field("goal", "id", lambda w: [str(w.peer_review.goals.get().pk)]), Field("done", "flag", ("1", ""))),
        args=pk("peer_review"),
    ),
    # Money
    Form(
        "programme",
        "funding:programme_new",
        "national",
        (
            Field("code", "text", ("FZ2", "NEWP")),
            Field("name", "text", ("Fuzz two",)),
            Field("description", "text", ("", "A test programme")),
            Field("menu", "choice", ("GPRP", "GPDP")),
            Field("line1_code", "text", ("core",)),
            Field("line1_name", "text", ("Core",)),
            Field("line1_cost_centre", "text", ("CC09",)),
            Field("line1_ledger_code", "text", ("5219",)),
            Field("line1_profile", "lines", ("2026-27: 8,500,000\n2027-28: 8,000,000",)),
            Field("line1_total", "money", ("", "16,500,000")),
            Field("line2_code", "text", ("",)),
            Field("line2_profile", "lines", ("",)),
        ),
        effect=grew("funding.Programme", "funding.FundingLine"),
    ),
    Form(
        "allocate",
        "funding:allocate",
        "national",
        (
            Field("fy", "number", lambda w: [str(w.fy)]),
            Field("amount", "money", ("50,000", "", "£1,000.50")),
            Field("formula", "choice", ("fixed_shares", "weighted_patients", "equal")),
            Field("shares", "lines", (f"{ICB_A}, 60\n{ICB_B} 40",)),
            Field("action", "choice", ("preview",)),
        ),
        args=lambda w: (w.fuzz_line.programme.code, w.fuzz_line.code),
    ),
    Form(
        "release",
        "funding:release",
        "national",
        (
            Field("fy", "number", lambda w: [str(w.fy)]),
            Field("amount", "money", ("10,000", "£2,500.50")),
            Field("note", "text", ("Second tranche", "")),
        ),
        args=lambda w: (w.allocated_line.programme.code, w.allocated_line.code),
        effect=grew("funding.Release"),
    ),
    Form(
        "payment",
        "funding:payments",
        "icb_a",
        (
            Field("reference", "id", lambda w: [w.commitment.reference]),
            Field("amount", "money", ("250", "£1,000.50")),
            Field("kind", "choice", ("invoice", "direct")),
            Field("payee", "text", ("Fuzz faculty",)),
            Field("practice_code", "id", lambda w: [""]),
            Field("invoice_number", "text", ("INV-77", "")),
            Field("offer_code", "choice", ("gprp-coaching", "")),
            Field("session_refs", "lines", ("",)),
            Field("memo", "text", ("", "May sessions")),
        ),
        args=lambda w: (ICB_A,),
        fixed={"action": "record"},
        effect=grew("funding.Payment"),
    ),
    Form(
        "payment-decide",
        "funding:payments",
        "icb_a",
        (
            Field("action", "choice", ("approve", "reject")),
            Field("payment", "id", ids("payment")),
            Field("note", "text", ("Checked against the session log", "")),
        ),
        args=lambda w: (ICB_A,),
    ),
    Form(
        "virement",
        "funding:virements",
        "icb_a",
        (
            Field("from_budget", "id", lambda w: [str(w.budget_of(w.allocated_line, ICB_A).pk)]),
            Field("to_budget", "id", lambda w: [str(w.budget_a.pk)]),
            Field("amount", "money", ("1,000", "£250.50")),
            Field("reason", "text", ("Coaching is oversubscribed this year",)),
        ),
        fixed={"action": "request"},
        effect=grew("funding.Virement"),
    ),
    Form(
        "virement-decide",
        "funding:virements",
        "national",
        (
            Field("action", "choice", ("approve", "reject")),
            Field("virement", "id", ids("virement")),
            Field("note", "text", ("Agreed at the programme board", "")),
        ),
    ),
    # Watch list overrides
    Form(
        "watch-override",
        "indicators:watch_practice",
        "icb_a",
        (
            Field("action", "choice", ("add", "remove", "rate", "review")),
            Field("rationale", "text", ("Two partners retiring; list rising fast.",)),
            Field("rating", "choice", ("high", "medium", "low", "")),
        ),
        args=lambda w: (ICB_A, w.icb_a_practices[4]),
        effect=grew("indicators.WatchChange"),
    ),
    # Targeting
    Form(
        "scenario",
        "targeting:scenarios",
        "icb_a",
        (
            Field("name", "text", ("Spring plan",)),
            Field("scope", "choice", ("icb", "national")),
            Field("budget", "money", ("250,000", "£100,000")),
            Field("coach_hours", "number", ("300", "0")),
            Field("practice_cap", "money", ("25000",)),
            Field("floor_on", "flag", ("", "1")),
            Field("floor", "number", ("50", "10")),
        ),
        effect=grew("targeting.Scenario"),
        max_examples=15,
    ),
    Form("scenario-variants", "targeting:variants", "icb_a", args=lambda w: (w.scenario.ref,), max_examples=2),
    # Accounts and API tokens
    Form(
        "sign-in",
        "accounts:login",
        "anonymous",
        (Field("username", "text", ("t-icb_a",)), Field("password", "text", ("x-test-password-1",))),
    ),
    Form("sign-out", "accounts:logout", "icb_a", max_examples=5),
    Form(
        "api-token",
        "apitokens:list",
        "icb_a",
        (Field("name", "text", ("laptop", "CI job")),),
        effect=grew("api.ApiToken"),
    ),
    Form("api-token-revoke", "apitokens:revoke", "icb_a", args=pk("token"), max_examples=5),
)


# --- The tests --------------------------------------------------------------------------------------------------

BY_ID = {f.id: f for f in FORMS}


def _url(form: Form, world: World) -> str:
    return reverse(form.url, args=form.args(world))


def _sign_in(client: Any, world: World, form: Form) -> None:
    if form.persona != "anonymous":
        client.force_login(world.user(form.persona))


@pytest.mark.parametrize("form_id", sorted(BY_ID))
def test_valid_submission_does_what_it_says(client, personas, form_id):
    form = BY_ID[form_id]
    world = World(personas)
    url = _url(form, world)
    _sign_in(client, world, form)
    before, mark = db_state(), AuditRecord.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    response = post(client, url, form.valid_pairs(world))
    outcome = check_response(response, before, db_state(), mark)
    assert outcome.accepted, f"the valid submission was refused: {outcome.status} {outcome.errors}"
    if form.effect:
        form.effect(world, before, db_state())


@pytest.mark.parametrize("form_id", sorted(BY_ID))
def test_hostile_submission_is_refused_cleanly_or_accepted_safely(client, personas, form_id):
    form = BY_ID[form_id]
    world = World(personas)
    url = _url(form, world)
    _sign_in(client, world, form)
    examples = [(form.id, pairs) for fid, pairs in REGRESSIONS if fid == form.id]

    @settings(FUZZ, max_examples=form.max_examples)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        pairs = examples.pop()[1] if examples else data.draw(submissions(form, world), label="POST")
        with transaction.atomic():
            before, mark = db_state(), AuditRecord.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            response = post(client, url, pairs)
            check_response(response, before, db_state(), mark)
            transaction.set_rollback(True)

    run()


def _post_views(resolver: URLResolver | None = None, prefix: str = "") -> set[str]:
    """URL names whose view accepts POST: a class-based view with ``post``, or a function that reads the method."""
    out: set[str] = set()
    for p in (resolver or get_resolver()).url_patterns:
        if isinstance(p, URLResolver):
            if p.namespace == API:
                continue  # the API's writes are fuzzed from its OpenAPI document (apps/api/tests)
            out |= _post_views(p, f"{prefix}{p.namespace}:" if p.namespace else prefix)
        elif isinstance(p, URLPattern) and p.name:
            view = getattr(p.callback, "view_class", None)
            if view is not None:
                accepts = hasattr(view, "post")
            else:
                accepts = "POST" in inspect.getsource(inspect.unwrap(p.callback))
            if accepts:
                out.add(f"{prefix}{p.name}")
    return out


def test_every_post_view_is_fuzzed():
    assert _post_views() - {f.url for f in FORMS} == set(), "add a Form entry to FORMS for each new POST view"
    assert {f.url for f in FORMS} <= _post_views(), "a FORMS entry names a URL whose view no longer takes POST"


# Bugs the fuzz found, kept as regression examples: (form id, the POST body that broke it).
REGRESSIONS: list[tuple[str, list[tuple[str, str]]]] = []
