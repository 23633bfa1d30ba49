"""The world the form fuzz acts on (``test_fuzz_forms.py``): objects in the states the forms need, made on first use
through the real services, as the personas of :mod:`apps.pages.testing`.

One open case per practice, so each case state has its own ICB A practice (with its own practice user).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cached_property
from typing import Any

from django.utils import timezone

from apps.pages.testing import ICB_A


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

    # The day-one import: a small caseload file of ICB A and its upload
    @cached_property
    def caseload_csv(self) -> str:
        from apps.cases.models import OPEN
        from apps.practices.models import Practice, PracticeStatus

        free = (
            Practice.objects.filter(icb__code=ICB_A, status=PracticeStatus.ACTIVE)
            .exclude(support_cases__status__in=OPEN)
            .exclude(code__in=[*self.icb_a_practices, self.p["practice_x"].practice.code])
            .order_by("-code")
            .values_list("code", flat=True)[:2]
        )
        lines = [f"FUZZ-{n},{code},Self-referral,1/4/2025,Referred,Partners retiring" for n, code in enumerate(free)]
        return "\n".join(["Case ID,ODS code,Referral source,Date referred,Status,Comments", *lines]) + "\n"

    @cached_property
    def caseload_upload(self) -> Any:
        from apps.caseload.services import upload_file

        icb_user = self.p["icb_a"]
        return upload_file(icb=icb_user.icb, user=icb_user, filename="fuzz.csv", data=self.caseload_csv.encode())

    def user(self, name: str) -> Any:
        """A persona (apps/pages/testing.py) or a practice user of the world (``diagnosis_user``, ``approved_user``)."""
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

    @cached_property
    def closed(self) -> Any:
        """A case closed by ICB A's team at triage, within the reopening window (the last ICB A practice by code, so
        it is never one of ``icb_a_practices``)."""
        from apps.cases import services
        from apps.cases.models import Route
        from apps.practices.models import Practice, PracticeStatus

        icb = self.p["icb_a"]
        practice = Practice.objects.filter(icb__code=ICB_A, status=PracticeStatus.ACTIVE).order_by("-code").first()
        case, _ = services.refer(icb, practice, Route.ICB, services.ReferralInput("The list has grown by a third."))
        services.triage(icb, case, "medium", "medium", "Growth the practice cannot staff")
        services.close_case(icb, case, "stable", "The practice recruited two GPs.")
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
    def suggested_neighbour(self) -> str:
        """A neighbour the package builder suggests for the diagnosis case's practice (in its ICB, not A81002)."""
        from apps.cases import services

        case = self.diagnosis
        return next(n.code for n in services.neighbours_of(case.practice) if n.icb_code == ICB_A and n.code != "A81002")

    def _agreed_case(self, code: str) -> Any:
        from apps.cases import services
        from apps.cases.models import Route

        pu = self.practice_user(code)
        case, _ = services.refer(pu, pu.practice, Route.SELF, services.ReferralInput("Two partners are retiring."))
        services.triage(self.p["icb_a"], case, "high", "high", "Workforce gap")
        services.save_plan(pu, case, self.goals())
        services.agree_plan(pu, case)
        return case

    def _group_package(self, case: Any, other: str) -> Any:
        from apps.cases import services

        today = timezone.localdate()
        pkg = services.build_package(
            self.p["icb_a"],
            case,
            [services.LineInput("gprp-change-management", 4)],
            [(case.practice.code, None), (other, None)],
            today,
            services.financial_year_end(today),
        )
        return services.submit_package(self.p["icb_a"], pkg)

    @cached_property
    def group_submitted(self) -> Any:
        """A group package of two ICB A practices, submitted: the second practice is asked to accept its share."""
        return self._group_package(self._agreed_case(self.icb_a_practices[4]), self.icb_a_practices[5])

    @cached_property
    def share_user(self) -> Any:
        """The user of the practice covered by :attr:`group_submitted` (not its lead)."""
        return self.practice_user(
            self.group_submitted.practices.exclude(practice=self.group_submitted.case.practice).get().practice.code
        )

    @cached_property
    def cross_submitted(self) -> Any:
        """A group package of a practice on ICB A's border and its neighbour across it, accepted by that neighbour:
        its own ICB is asked to approve its share."""
        from apps.cases import services

        case = self._agreed_case("A81005")
        other = next(n.code for n in services.neighbours_of(case.practice) if n.icb_code != ICB_A)
        pkg = self._group_package(case, other)
        services.decide_share(self.practice_user(other), pkg, True)
        return pkg

    @cached_property
    def share_icb(self) -> Any:
        """A team member of the ICB across the border from :attr:`cross_submitted`."""
        from apps.accounts.models import Role, User

        other = self.cross_submitted.practices.exclude(practice__icb__code=ICB_A).select_related("practice").get()
        return User.objects.create_user(username="t-icb-across", password="x", role=Role.ICB, icb=other.practice.icb)

    @cached_property
    def share_icb_budget(self) -> Any:
        from apps.funding import services as funding

        return max(funding.budgets_for(self.share_icb.icb), key=lambda b: b.headroom_pence)

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
    def disputed_session(self) -> Any:
        """A signed-off session the practice disputes: the ICB team resolves it."""
        from apps.delivery import services
        from apps.delivery.models import Session

        a = self.assignment
        s = Session.objects.create(
            practice=a.case.practice,
            case=a.case,
            assignment=a,
            member=a.member,
            title="Coaching 3",
            starts_at=timezone.now() - timedelta(hours=8),
            planned_hours=2,
            created_by=self.p["provider"],
        )
        log = services.LogInput(
            delivered=True, hours=2, attendees={"gp_partner": 1}, notes="Rota plan reviewed.", sign_off=True
        )
        services.log_session(self.p["provider"], s, log)
        services.dispute_session(self.approved_user, s, "Nobody from the practice attended this one.")
        return s

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

    # Team administration
    @cached_property
    def invitation_pair(self) -> tuple[Any, str]:
        """An ICB A lead's waiting invitation for a colleague, with its raw link token."""
        from apps.accounts.models import Role, TeamRole
        from apps.teams import services

        data = services.InviteInput("fuzz.invitee@nhs.net", "Fuzz", "Invitee", Role.ICB, TeamRole.MEMBER)
        return services.invite(self.p["icb_a"], data)

    @cached_property
    def invitation(self) -> Any:
        return self.invitation_pair[0]

    @cached_property
    def reset_link(self) -> tuple[str, str]:
        """practice X's password-reset link (uid, token), as the reset email gives it."""
        from django.contrib.auth.tokens import default_token_generator
        from django.utils.encoding import force_bytes
        from django.utils.http import urlsafe_base64_encode

        user = self.p["practice_x"]
        return urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)

    # Cohorts: ICB A's open cohort (no interest yet), one with interest to allocate, and practice X's places
    def _cohort(self, title: str) -> Any:
        from apps.cohorts import demo, services
        from apps.cohorts.models import Mode, Rule

        starts = timezone.localdate() + timedelta(days=28)
        org = demo.provider()
        org.lead_user = self.p["provider"]
        org.save()
        data = services.CohortInput(
            offer_code=demo.PM_OFFER,
            line_id=self.cohort_line.pk,
            title=title,
            starts_on=starts,
            ends_on=starts + timedelta(days=30),
            closes_on=timezone.localdate() + timedelta(days=7),
            places=2,
            mode=Mode.ONLINE,
            provider_id=org.pk,
            cost_per_place_pence=150_000,
            rule=Rule.FIRST_COME,
        )
        return services.create_cohort(self.p["icb_a"], data)

    @cached_property
    def cohort_line(self) -> Any:
        from analytics.money import financial_year_of
        from apps.cohorts import demo

        return demo.universal_line(self.p["national"], financial_year_of(timezone.localdate() + timedelta(days=28)))

    @cached_property
    def cohort(self) -> Any:
        return self._cohort("Fuzz cohort")

    @cached_property
    def cohort_with_interest(self) -> Any:
        from apps.cohorts import services

        cohort = self._cohort("Fuzz cohort with interest")
        px = self.p["practice_x"]
        services.express_interest(px, cohort, px.practice, "Fuzz Manager", "practice_manager")
        return cohort

    @cached_property
    def cohort_place(self) -> Any:
        """Practice X's place offered in an allocated cohort."""
        from apps.cohorts import services

        cohort = self.cohort_with_interest
        services.allocate(self.p["icb_a"], cohort)
        return cohort.interests.get()

    @cached_property
    def accepted_place(self) -> Any:
        """Practice X's place accepted, in a cohort that has started (attendance can be recorded)."""
        from apps.cohorts import services
        from apps.cohorts.models import Cohort

        place = services.accept(self.p["practice_x"], self.cohort_place)
        Cohort.objects.filter(pk=place.cohort_id).update(starts_on=timezone.localdate())
        place.refresh_from_db()
        return place
