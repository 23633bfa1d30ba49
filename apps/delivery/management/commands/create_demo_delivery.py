"""Create demo delivery data on top of the demo cases, through the real services where a user would act.

Makes four provider organisations and 15 faculty members (apprentices at every stage, with stage histories), a
declared conflict of interest, assignments of the lines of the approved demo cases in ICB A (the coaching to the demo
`provider` account), delivered, confirmed, disputed, planned and overdue sessions, outcome baselines and a 6-month
follow-up, hours released and RAG ratings, two practice-manager networks in ICB A with meetings and "what worked"
posts, a peer review, and a coach (the demo `provider`) with published coaching slots. Needs create_demo_users and
create_demo_cases first. Idempotent: skips when the demo organisations exist, unless --reset. Refuses to run when
DEBUG is off unless --i-know-this-is-not-production.
"""

from __future__ import annotations

import contextlib
import io
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Role, User
from apps.cases.models import Case, Package, PlanAction, Status, SupportOffer
from apps.delivery import networks, outcomes, services
from apps.delivery.growth import GROWTH_START
from apps.delivery.models import (
    Accreditation,
    Assignment,
    Booking,
    CoachingOffer,
    CoachingRequest,
    ConflictOfInterest,
    FacultyMember,
    HoursReleased,
    Meeting,
    MemberRole,
    Network,
    OrganisationKind,
    OutcomeSnapshot,
    PackageRating,
    PeerReview,
    PracticeSurvey,
    ProviderOrganisation,
    Rag,
    Session,
    SnapshotKind,
    Stage,
    StageChange,
)
from apps.practices.models import ICB

FACULTY = "Northern Improvement Faculty (demo)"
ORGS = [
    (FACULTY, OrganisationKind.FACULTY, 120, ["QHM", "QWE"]),
    ("North East and North Cumbria LMC support team (demo)", OrganisationKind.LMC_TEAM, 40, ["QHM"]),
    ("Lean Works Ltd (demo)", OrganisationKind.SPECIALIST, 60, ["QHM", "QWE"]),
    ("Experienced GP pool North (demo)", OrganisationKind.GP_POOL, 0, ["QHM"]),
]
COACH_OFFERS = ["gprp-coaching", "gpdp-pm-coaching", "gpdp-hia", "gprp-diagnostic", "gpdp-pm-development"]
# name, organisation index, role, capacity, accreditation, offers, stage (apprentices), months after growth start
MEMBERS: list[tuple[str, int, str, float, str, list[str], str, int | None]] = [
    ("Dr Helen Carter", 0, MemberRole.COACH, 40, Accreditation.ACCREDITED, COACH_OFFERS, "", None),
    ("Dr Sam Whitfield", 0, MemberRole.COACH, 30, Accreditation.ACCREDITED, COACH_OFFERS, "", None),
    (
        "Ayesha Rahman",
        0,
        MemberRole.ADVISER,
        50,
        Accreditation.ACCREDITED,
        ["gpdp-hia", "gpdp-pm-development"],
        "",
        None,
    ),
    (
        "Mark Pearson",
        1,
        MemberRole.ADVISER,
        20,
        Accreditation.ACCREDITED,
        ["gprp-management-advice", "gprp-hr-advice"],
        "",
        None,
    ),
    (
        "Julie Barnes",
        2,
        MemberRole.SPECIALIST,
        60,
        Accreditation.NOT_REQUIRED,
        ["gprp-change-management", "gpdp-hia", "gprp-finance-advice"],
        "",
        None,
    ),
    (
        "Dr Ruth Adeyemi",
        3,
        MemberRole.SPECIALIST,
        10,
        Accreditation.NOT_REQUIRED,
        ["gprp-workforce", "gprp-rapid-intervention"],
        "",
        None,
    ),
    ("Tom Lindqvist", 0, MemberRole.APPRENTICE, 16, "", ["gprp-coaching", "gpdp-pm-coaching"], Stage.ACCREDITED, 1),
    ("Grace Obi", 0, MemberRole.APPRENTICE, 16, "", ["gprp-coaching", "gpdp-pm-coaching"], Stage.ACCREDITED, 2),
    ("Daniel Hughes", 0, MemberRole.APPRENTICE, 12, "", ["gprp-coaching"], Stage.ASSESSMENT, 4),
    ("Priti Shah", 0, MemberRole.APPRENTICE, 12, "", ["gprp-coaching", "gpdp-hia"], Stage.SUPERVISED_PRACTICE, 5),
    ("Owen Price", 0, MemberRole.APPRENTICE, 12, "", ["gpdp-hia"], Stage.SUPERVISED_PRACTICE, 7),
    ("Fatima Noor", 0, MemberRole.APPRENTICE, 8, "", ["gprp-coaching"], Stage.FOUNDATION, 9),
    ("Lewis Grant", 1, MemberRole.APPRENTICE, 8, "", ["gprp-management-advice"], Stage.FOUNDATION, 11),
    ("Chloe Martin", 0, MemberRole.APPRENTICE, 8, "", ["gpdp-pm-coaching"], Stage.ENROLLED, 13),
    ("Ben Asante", 0, MemberRole.APPRENTICE, 8, "", ["gprp-coaching"], Stage.ENROLLED, 14),
]
POSTS = [
    (
        "Care navigation cut our 8am queue by a third",
        "We trained all five receptionists in care navigation over two afternoons and put a one-page signposting "
        "guide by every phone. Within six weeks the 8am queue fell from 55 to 35 minutes and GP requests for "
        "pharmacy-appropriate problems dropped noticeably.",
        "care-navigation, telephony, reception",
    ),
    (
        "Document workflow: coders now action 70% of letters",
        "Our GPs were reading every hospital letter. We agreed a protocol with the partners so trained coders file "
        "and action routine letters; only about 30% now reach a GP. It releases roughly six GP hours a week.",
        "workflow, correspondence, admin",
    ),
    (
        "Rota template that survived two partners retiring",
        "We moved to a duty-doctor model with a shared rota template across the PCN so locums and ARRS staff slot "
        "in; happy to share the spreadsheet.",
        "rota, workforce, pcn",
    ),
]


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reset", action="store_true", help="delete the demo delivery data first")
        parser.add_argument("--i-know-this-is-not-production", action="store_true", dest="force")

    def handle(self, *args: Any, **opts: Any) -> None:
        if not settings.DEBUG and not opts["force"]:
            raise CommandError("demo delivery data is for demo and test databases only (DEBUG is off)")
        self.icb_user = User.objects.filter(username="icb-a", role=Role.ICB).first()
        self.national = User.objects.filter(username="national", role=Role.NATIONAL).first()
        self.provider = User.objects.filter(username="provider", role=Role.PROVIDER).first()
        if not (self.icb_user and self.national and self.provider):
            raise CommandError("create the demo accounts first (manage.py create_demo_users)")
        if ProviderOrganisation.objects.filter(name=FACULTY).exists():
            if not opts["reset"]:
                self.stdout.write("Demo delivery data already exists; --reset to make it again")
                return
            self._reset()
        self.disputed = False
        with contextlib.redirect_stdout(io.StringIO()), transaction.atomic():
            members = self._faculty()
            assigned = self._assignments(members)
            nets = self._networks()
            slots = self._coaching(members)
        self.stdout.write(
            f"Demo delivery: {ProviderOrganisation.objects.count()} organisations, {len(members)} faculty members, "
            f"{assigned} assignments, {Session.objects.count()} sessions, {nets} networks, {slots} coaching slots"
        )

    # --- reset ------------------------------------------------------------------------------------------------

    def _reset(self) -> None:
        orgs = ProviderOrganisation.objects.filter(name__endswith="(demo)")
        members = FacultyMember.objects.filter(organisation__in=orgs)
        with transaction.atomic():
            Session.objects.filter(member__in=members).delete()
            Booking.objects.filter(request__coaching_offer__coach__in=members).delete()
            CoachingRequest.objects.filter(coaching_offer__coach__in=members).delete()
            CoachingOffer.objects.filter(coach__in=members).delete()
            cases = Assignment.objects.filter(organisation__in=orgs).values("case_id")
            for model in (OutcomeSnapshot, PracticeSurvey, HoursReleased):
                model.objects.filter(case_id__in=cases).delete()  # queryset delete: history guard is per row
            PackageRating.objects.filter(package__case_id__in=cases).delete()
            Assignment.objects.filter(organisation__in=orgs).delete()
            StageChange.objects.filter(member__in=members).delete()
            ConflictOfInterest.objects.filter(member__in=members).delete()
            members.update(supervisor=None)
            members.delete()
            orgs.delete()
            PeerReview.objects.filter(network__name__endswith="(demo)").delete()
            Network.objects.filter(name__endswith="(demo)").delete()

    # --- faculty ----------------------------------------------------------------------------------------------

    def _faculty(self) -> dict[str, FacultyMember]:
        icbs = {i.code: i for i in ICB.objects.filter(code__in=["QHM", "QWE"])}
        offers = {o.code: o for o in SupportOffer.objects.filter(active=True)}
        orgs = []
        for name, kind, cap, codes in ORGS:
            org = ProviderOrganisation.objects.create(
                name=name, kind=kind, capacity_hours_per_month=cap, lead_user=self.provider if name == FACULTY else None
            )
            org.icbs.set([icbs[c] for c in codes if c in icbs])
            orgs.append(org)
        orgs[0].offers.set([offers[c] for c in [*COACH_OFFERS, "gpdp-hia"] if c in offers])
        orgs[2].offers.set([offers[c] for c in ("gprp-change-management", "gpdp-hia") if c in offers])
        orgs[3].offers.set([offers[c] for c in ("gprp-workforce",) if c in offers])
        members: dict[str, FacultyMember] = {}
        long_ago = date(2019, 6, 1)
        helen = None
        for name, org_i, role, cap, accreditation, codes, stage, months in MEMBERS:
            joined = _add_months(GROWTH_START, months) if months is not None else long_ago
            icb_ids = tuple(icbs[c].pk for c in ORGS[org_i][3] if c in icbs)
            data = services.MemberInput(
                name=name,
                organisation_id=orgs[org_i].pk,
                role=role,
                capacity_hours_per_month=cap,
                joined_on=joined,
                offer_codes=tuple(c for c in codes if c in offers),
                icb_ids=icb_ids,
                email=f"{name.split()[-1].lower()}@faculty.example.org",
                accreditation=accreditation or Accreditation.IN_TRAINING,
                accredited_on=date(2020, 3, 1) if accreditation == Accreditation.ACCREDITED else None,
                accreditation_expires=date(2028, 3, 1) if accreditation == Accreditation.ACCREDITED else None,
                supervisor_id=helen.pk if helen and role == MemberRole.APPRENTICE else None,
            )
            m = services.add_member(self.national, data)
            if name == "Dr Helen Carter":
                helen = m
            if role == MemberRole.APPRENTICE:
                self._climb(m, stage, joined)
            members[name] = m
        # the demo provider login is a coach in the faculty: it sees the work assigned to it
        chris = services.add_member(
            self.national,
            services.MemberInput(
                name="Chris Evans",
                organisation_id=orgs[0].pk,
                role=MemberRole.COACH,
                capacity_hours_per_month=40,
                joined_on=long_ago,
                offer_codes=tuple(c for c in COACH_OFFERS if c in offers),
                icb_ids=tuple(i.pk for i in icbs.values()),
                email="provider@example.org",
                accreditation=Accreditation.ACCREDITED,
                accredited_on=date(2021, 9, 1),
                accreditation_expires=date(2027, 9, 1),
            ),
        )
        FacultyMember.objects.filter(pk=chris.pk).update(user=self.provider)
        chris.refresh_from_db()
        members[chris.name] = chris
        # A declared interest: Dr Whitfield is a partner in the practice now in delivery, so is never assigned to it.
        case = Case.objects.filter(icb__code="QHM", status=Status.IN_DELIVERY).select_related("practice").first()
        if case is not None:
            services.declare_conflict(
                self.national, members["Dr Sam Whitfield"], "Partner in the practice", practice=case.practice
            )
        return members

    def _climb(self, m: FacultyMember, stage: str, joined: date) -> None:
        """Walk an apprentice along the route to ``stage``, a few months a step, with attributed stage changes."""
        order = list(Stage.values)
        for i, st in enumerate(order[1 : order.index(stage) + 1], start=1):
            on = min(_add_months(joined, 3 * i), timezone.localdate())
            services.record_stage(self.national, m, st, f"Completed {Stage(order[i - 1]).label.lower()}", on=on)
            StageChange.objects.filter(member=m, to_stage=st).update(at=_aware(on, 10))

    # --- assignments, sessions and outcomes --------------------------------------------------------------------

    def _assignments(self, members: dict[str, FacultyMember]) -> int:
        n = 0
        cases = Case.objects.filter(
            icb__code="QHM", status__in=[Status.APPROVED, Status.IN_DELIVERY, Status.REVIEW, Status.CLOSED]
        ).select_related("practice")
        now = timezone.now()
        today = timezone.localdate()
        for case in cases:
            pkg = case.packages.filter(state=Package.State.APPROVED).first()
            if pkg is None:
                continue
            months_back = {Status.APPROVED: 0, Status.IN_DELIVERY: 2, Status.REVIEW: 7, Status.CLOSED: 7}[case.status]
            start = _add_months(today, -months_back) if months_back else pkg.starts
            Package.objects.filter(pk=pkg.pk).update(starts=start)
            pkg.refresh_from_db()
            if not case.outcome_snapshots.exists():
                outcomes.take_snapshot(self.icb_user, case, SnapshotKind.BASELINE, system=True)
            OutcomeSnapshot.objects.filter(case=case, kind=SnapshotKind.BASELINE).update(taken_at=_aware(start, 9))
            if case.status == Status.CLOSED:
                continue  # closed: history only, nothing to assign now
            for line in pkg.lines.select_related("offer"):
                if line.offer.code == "gprp-coaching":
                    a = services.assign_work(self.icb_user, line, member=members["Chris Evans"])
                elif line.offer.code == "gprp-workforce":
                    a = services.assign_work(self.icb_user, line, member=members["Dr Ruth Adeyemi"])
                else:
                    continue
                n += 1
                if line.offer.code == "gprp-coaching" and case.status != Status.APPROVED:
                    self._sessions(case, a, start, now)
            if case.status in (Status.IN_DELIVERY, Status.REVIEW):
                self._outcomes(case, pkg, start)
        return n

    def _sessions(self, case: Case, a: Assignment, start: date, now: datetime) -> None:
        puser = User.objects.filter(role=Role.PRACTICE, practice=case.practice).first()
        review = case.status == Status.REVIEW
        past = [start + timedelta(days=14 * i + 7) for i in range(4 if review else 3)]
        for i, day in enumerate(past, 1):
            s = Session.objects.create(
                practice=case.practice,
                case=case,
                assignment=a,
                member=a.member,
                title=f"Partners' coaching session {i}",
                starts_at=_aware(day, 13),
                planned_hours=2,
                created_by=self.provider,
            )
            services.log_session(
                self.provider,
                s,
                services.LogInput(
                    delivered=True,
                    hours=2,
                    attendees={"gp_partner": 3, "practice_manager": 1},
                    notes=[
                        "Mapped the succession risks and agreed who leads each.",
                        "Worked through the partnership agreement changes and the recruitment pitch.",
                        "Reviewed the rota after the new salaried GP started; agreed the duty-doctor trial.",
                        "Closing session: what to keep doing.",
                    ][i - 1],
                    sign_off=True,
                ),
            )
            if puser and not review and not self.disputed and i == len(past) - 1:
                # one log the practice disputes, so the ICB team sees a dispute to resolve in "waiting for me" (the
                # session after it stays for the practice to confirm)
                services.dispute_session(
                    puser, s, "Only two partners were there, and the session ended after an hour and a half."
                )
                self.disputed = True
            elif puser and (review or i < len(past)):
                services.confirm_session(puser, s)
        if not review:
            # a session that happened but is not logged yet (the reminder command chases it), and two ahead
            Session.objects.create(
                practice=case.practice,
                case=case,
                assignment=a,
                member=a.member,
                title="Partners' coaching session 4",
                starts_at=now - timedelta(days=5),
                planned_hours=2,
                created_by=self.provider,
            )
            for d, title in ((1, "Partners' coaching session 5"), (15, "Partners' coaching session 6")):
                when = timezone.localtime(now + timedelta(days=d)).replace(hour=13, minute=0, second=0, microsecond=0)
                services.plan_session(self.provider, a, when, 2, title)

    def _outcomes(self, case: Case, pkg: Package, start: date) -> None:
        puser = User.objects.filter(role=Role.PRACTICE, practice=case.practice).first()
        if puser:
            outcomes.record_survey(
                puser, case, SnapshotKind.BASELINE, {"workload": "2", "morale": "2", "access": "3", "sustainable": "2"}
            )
        if case.status == Status.REVIEW:
            outcomes.take_snapshot(self.icb_user, case, SnapshotKind.MONTH_6)
            if puser:
                outcomes.record_survey(
                    puser,
                    case,
                    SnapshotKind.MONTH_6,
                    {"workload": "3", "morale": "4", "access": "4", "sustainable": "3"},
                    "The rota is steadier and we have stopped losing locum sessions at short notice.",
                )
        actions = list(PlanAction.objects.filter(goal__plan__case=case))
        today = timezone.localdate()
        for act, (cl, ad) in zip(actions, [(12.0, 30.0), (24.0, 6.0), (6.0, 4.0)], strict=False):
            outcomes.record_hours_released(
                self.provider,
                case,
                act,
                cl,
                ad,
                start,
                min(today, start + timedelta(days=60)),
                "Appointment and workflow audit, four weeks before and after",
            )
        rag, reason = (
            (Rag.GREEN, "Sessions on plan, salaried GP recruited, partners report the rota is stable.")
            if case.status == Status.REVIEW
            else (Rag.AMBER, "Coaching on track but the GP vacancy is still open; backfill sessions in use.")
        )
        outcomes.rate_package(self.icb_user, pkg, rag, reason)

    # --- networks and coaching --------------------------------------------------------------------------------

    def _networks(self) -> int:
        px = User.objects.get(username="practice-x")
        assert px.practice is not None and self.icb_user.icb is not None
        wide = Network.objects.create(
            name="North East and North Cumbria practice managers (demo)",
            description="Every practice manager in the ICB: monthly meetings, and what worked, shared.",
            footprint="icb",
            icb=self.icb_user.icb,
            created_by=self.icb_user,
        )
        place = Network.objects.create(
            name=f"{px.practice.sub_icb.name if px.practice.sub_icb else 'Place'} practice managers (demo)",
            description="Practice managers in this place: peer support and peer review.",
            footprint="place",
            icb=self.icb_user.icb,
            sub_icb=px.practice.sub_icb,
            created_by=self.icb_user,
        )
        case_users = list(
            User.objects.filter(role=Role.PRACTICE, practice__icb=self.icb_user.icb, username__startswith="practice-")
            .exclude(username__in=["practice-x", "practice-y"])
            .filter(practice__support_cases__isnull=False)
            .distinct()
            .order_by("username")
        )
        for u in case_users:
            networks.join_network(u, wide)
            if u.practice and u.practice.sub_icb_id == place.sub_icb_id:
                networks.join_network(u, place)
        now = timezone.now()
        for net in (wide, place):
            m = networks.schedule_meeting(
                self.icb_user,
                net,
                "Managing winter demand",
                now + timedelta(days=1),
                90,
                "Video call",
                "1. Winter access plans\n2. Sharing locum lists\n3. Any other business",
            )
            Meeting.objects.filter(pk=m.pk).update(starts_at=now - timedelta(days=28))
            m.refresh_from_db()
            members = list(net.memberships.values_list("user_id", flat=True))
            networks.record_attendance(self.icb_user, m, members[: max(1, len(members) - 1)])
            networks.schedule_meeting(
                self.icb_user,
                net,
                "Peer review pairs and the new GP contract",
                timezone.localtime(now + timedelta(days=16)).replace(hour=14, minute=0, second=0, microsecond=0),
                90,
                "Room 2, ICB offices" if net is wide else "Video call",
                "1. Pairing up for peer review\n2. Contract changes from April\n3. What worked this month",
            )
        for (title, body, tags), author in zip(POSTS, case_users, strict=False):
            networks.share_post(author, wide, title, body, tags)
        pair = [u for u in case_users if networks.is_member(u, wide)][:2]
        if len(pair) == 2:
            networks.record_peer_review(
                pair[0],
                pair[1],
                timezone.localdate() - timedelta(days=10),
                "Clear financial control; a team that trusts her.",
                "Delegating the rota; time for strategic planning with the partners.",
                [
                    networks.GoalInput(
                        "Delegate the rota",
                        "Train the deputy; hand over by March",
                        timezone.localdate() + timedelta(days=90),
                    ),
                    networks.GoalInput(
                        "Quarterly planning with partners",
                        "Book a half-day each quarter",
                        timezone.localdate() + timedelta(days=60),
                    ),
                ],
                network=wide,
            )
        return 2

    def _coaching(self, members: dict[str, FacultyMember]) -> int:
        pm = SupportOffer.objects.filter(code="gpdp-pm-coaching").first()
        if pm is None:
            return 0
        offer = CoachingOffer.objects.create(
            coach=members["Chris Evans"],
            offer=pm,
            title="Practice-manager coaching: three 90-minute sessions",
            description="One-to-one coaching for a practice manager: priorities, workload, leading the team through "
            "change. Three 90-minute sessions, by video or at your practice.",
        )
        CoachingOffer.objects.create(
            coach=members["Grace Obi"],
            offer=pm,
            title="New practice managers: first-year coaching",
            description="Three 90-minute sessions for practice managers in their first year.",
        )
        now = timezone.localtime(timezone.now())
        starts = []
        day = now.date() + timedelta(days=2)
        while len(starts) < 12:
            if day.weekday() < 5:
                starts += [_aware(day, 10), _aware(day, 14)]
            day += timedelta(days=1)
        return networks.publish_slots(self.provider, offer, starts)


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, min(d.day, 28))


def _aware(d: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(d, time(hour, 0)), timezone.get_current_timezone())
