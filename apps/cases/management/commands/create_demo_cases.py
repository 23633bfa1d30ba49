"""Create demo support cases in every lifecycle state, made through the real services (so histories are real).

Cases go to the practices under most pressure in the demo ICBs (never the demo practice-x / practice-y practices, so
the self-referral journey starts clean). Each case practice gets a demo practice account `practice-<ODS code>`
(password as for the other demo accounts). Some cases are back-dated so overdue steps show in the queue. Also adds
submitted health checks for other practices so benchmarks have something to compare with. Idempotent: skips when the
demo cases exist, unless --reset. Refuses to run when DEBUG is off unless --i-know-this-is-not-production.
"""

from __future__ import annotations

import contextlib
import io
import random
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from apps.accounts.demo import DEMO_PASSWORD
from apps.accounts.models import Role, User
from apps.cases import services
from apps.cases.config import questionnaire
from apps.cases.models import Case, CaseEvent, HealthCheck, Package, Referral, Route, Status
from apps.funding import services as funding
from apps.indicators.models import PracticeScore
from apps.practices.models import Practice, PracticeStatus

# The ladder each demo case climbs, in order; a case stops at its target state.
LADDER = [Status.TRIAGED, Status.DIAGNOSIS, Status.PLAN_AGREED, Status.APPROVED, Status.IN_DELIVERY, Status.REVIEW]
TARGETS = [
    Status.REFERRED,
    Status.REFERRED,
    Status.TRIAGED,
    Status.DIAGNOSIS,
    Status.PLAN_AGREED,
    Status.APPROVED,
    Status.IN_DELIVERY,
    Status.REVIEW,
    Status.CLOSED,
    Status.DECLINED,
    Status.WITHDRAWN,
]
CONCERNS = [
    "Two of our four partners are retiring in March and we have had no applicants for the salaried post since June.",
    "Our practice manager left suddenly and nobody else understands payroll, contracts or the QOF claim.",
    "Phone queues at 8am are over an hour and complaints are rising; the team is exhausted.",
    "We have been asked to take patients from a neighbouring practice that is closing and we cannot absorb them.",
    "The CQC inspection found governance problems and we need help with an action plan quickly.",
]


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reset", action="store_true", help="delete the demo cases first")
        parser.add_argument("--i-know-this-is-not-production", action="store_true", dest="force")

    def handle(self, *args: Any, **opts: Any) -> None:
        if not settings.DEBUG and not opts["force"]:
            raise CommandError("demo cases are for demo and test databases only (DEBUG is off)")
        icb_user = User.objects.filter(username="icb-a", role=Role.ICB).first()
        icb_b_user = User.objects.filter(username="icb-b", role=Role.ICB).first()
        lmc = User.objects.filter(username="lmc", role=Role.LMC).first()
        provider = User.objects.filter(username="provider", role=Role.PROVIDER).first()
        if not (icb_user and icb_b_user and lmc and provider):
            raise CommandError("create the demo accounts first (manage.py create_demo_users)")
        services.sync_menu()
        demo = (
            Case.objects.filter(referrals__made_by__username__startswith="practice-")
            .exclude(referrals__made_by__username__in=["practice-x", "practice-y"])
            .distinct()
        )
        demo = demo | Case.objects.filter(referrals__made_by__in=[icb_user, icb_b_user, lmc]).distinct()
        if demo.exists():
            if not opts["reset"]:
                self.stdout.write(f"Demo cases already exist ({demo.count()}); --reset to make them again")
                return
            with transaction.atomic():
                Case.objects.filter(pk__in=demo.values("pk")).delete()
                HealthCheck.objects.filter(started_by__username__startswith="practice-").delete()
        rng = random.Random(2026)
        # the demo's console mail backend would print every notification email; keep the set-up output readable
        with contextlib.redirect_stdout(io.StringIO()), transaction.atomic():
            made = self._cases(icb_user, lmc, provider, rng, len(TARGETS))
            made += self._cases(icb_b_user, None, provider, rng, 3)
            checks = self._benchmark_checks(rng)
            sharer = self._group_share(icb_user)
        self.stdout.write(f"Demo cases: {made} cases, {checks} extra health checks for benchmarks")
        if sharer:
            self.stdout.write(f"Group share waiting for {sharer} to accept (see its Waiting for me)")

    def _group_share(self, icb_user: User) -> str:
        """The plan-agreed demo case gets a group package, submitted, shared with the practice most likely to take
        its patients (the ripple's nearest neighbour in the same ICB): that practice's demo user has its share to
        accept. Returns that user's name ("" when the case has no neighbour in reach)."""
        case = (
            Case.objects.filter(icb_id=icb_user.icb_id, status=Status.PLAN_AGREED)
            .exclude(referrals__made_by__username__in=["practice-x", "practice-y"])
            .first()
        )
        if case is None:
            return ""
        taken = set(Case.objects.open().values_list("practice__code", flat=True))
        near = [n for n in services.neighbours_of(case.practice) if n.icb_code == case.icb.code]
        other = next((n.code for n in near if n.code not in taken), None)
        if other is None:
            return ""
        sharer = self._practice_user(Practice.objects.get(code=other))  # first, so that it is told
        today = timezone.localdate()
        pkg = services.build_package(
            icb_user,
            case,
            [services.LineInput("gprp-change-management", 4)],
            [(case.practice.code, None), (other, None)],
            today,
            services.financial_year_end(today),
        )
        services.submit_package(icb_user, pkg)
        return sharer.username

    def _practice_user(self, practice: Practice) -> User:
        username = f"practice-{practice.code.lower()}"
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(
                username=username,
                role=Role.PRACTICE,
                practice=practice,
                first_name="Practice",
                last_name="Manager",
                email=f"{username}@example.org",
            )
            user.set_password(DEMO_PASSWORD)
            user.save()
        return user

    def _targets(self, icb_id: int, n: int) -> list[Practice]:
        reserved = set(
            User.objects.filter(username__in=["practice-x", "practice-y"]).values_list("practice_id", flat=True)
        )
        scores = (
            PracticeScore.objects.filter(run__is_current=True, icb_id=icb_id, practice__status=PracticeStatus.ACTIVE)
            .exclude(practice_id__in=reserved)
            .order_by("icb_rank")
            .select_related("practice")[:n]
        )
        practices = [s.practice for s in scores]
        if len(practices) < n:  # no scores yet: any open practices
            practices += list(
                Practice.objects.filter(icb_id=icb_id, status=PracticeStatus.ACTIVE)
                .exclude(pk__in=[p.pk for p in practices] + list(reserved))
                .order_by("-list_size")[: n - len(practices)]
            )
        return practices

    def _cases(self, icb_user: User, lmc: User | None, provider: User, rng: random.Random, n: int) -> int:
        assert icb_user.icb_id is not None
        practices = self._targets(icb_user.icb_id, n)
        targets = TARGETS[:n] if n == len(TARGETS) else [Status.REFERRED, Status.DIAGNOSIS, Status.IN_DELIVERY][:n]
        for i, (practice, target) in enumerate(zip(practices, targets, strict=False)):
            puser = self._practice_user(practice)
            route = [Route.SELF, Route.LMC if lmc else Route.ICB, Route.WATCH_LIST][i % 3]
            actor = {Route.SELF: puser, Route.LMC: lmc, Route.ICB: icb_user, Route.WATCH_LIST: icb_user}[route]
            assert actor is not None
            data = services.ReferralInput(
                CONCERNS[i % len(CONCERNS)],
                tried=rng.sample(sorted(services.TRIED_CHOICES)[:-1], 2),
                help_wanted=["Workforce support", "Coaching, training, supervision and mentorship"],
                urgency=["routine", "soon", "urgent"][i % 3],
            )
            case, _ = services.refer(actor, practice, route, data)
            if target == Status.REFERRED:
                if i == 0:  # one referral left unanswered for six weeks: the queue shows it overdue
                    self._backdate(case, days=42)
                continue
            if target == Status.WITHDRAWN:
                services.change_status(puser, case, Status.WITHDRAWN, "We found a salaried GP ourselves.")
                continue
            self._climb(case, target, icb_user, puser, provider, rng)
            if target == Status.DECLINED:
                continue
        return min(len(practices), len(targets))

    def _climb(self, case: Case, target: str, icb: User, puser: User, provider: User, rng: random.Random) -> None:
        """Walk the case up the lifecycle through the services, as the real users would."""
        impact = "high" if case.urgency == "urgent" else "medium"
        services.triage(icb, case, "high", impact, "Clear workforce gap the menu can address; list of 9,000+ patients.")
        if target == Status.TRIAGED:
            return
        if target == Status.DECLINED:
            services.change_status(icb, case, Status.DECLINED, "Support already arranged through the PCN's own scheme.")
            return
        services.change_status(icb, case, Status.DIAGNOSIS)
        services.save_health_check(puser, case, self._answers(rng), submit=True)
        if target == Status.DIAGNOSIS:
            return
        today = timezone.localdate()
        goals = [
            services.GoalInput(
                "workforce",
                "Fill the GP vacancy",
                [
                    services.ActionInput(
                        "Agree a recruitment plan with the PCN",
                        "Practice manager",
                        today + timedelta(days=30),
                        "gprp-workforce",
                    ),
                    services.ActionInput(
                        "Backfill sessions while recruiting", "Lead partner", today + timedelta(days=60)
                    ),
                ],
            ),
            services.GoalInput(
                "leadership",
                "Succession plan",
                [
                    services.ActionInput(
                        "Coaching for the partners", "Lead partner", today + timedelta(days=90), "gprp-coaching"
                    ),
                ],
            ),
        ]
        services.save_plan(puser, case, goals)
        services.agree_plan(puser, case)
        if target == Status.PLAN_AGREED:
            return
        pkg = services.build_package(
            icb,
            case,
            [services.LineInput("gprp-workforce", 20), services.LineInput("gprp-coaching", 6)],
            [],
            today,
            services.financial_year_end(today),
        )
        services.submit_package(icb, pkg)
        budgets = funding.budgets_for(case.icb, on=today)
        if not budgets:
            raise CommandError("no budget for the demo ICBs this year: run create_demo_funding first")
        budget = max(budgets, key=lambda b: b.headroom_pence)
        services.approve_package(icb, Package.objects.get(pk=pkg.pk), "Approved at the primary-care panel.", budget)
        services.assign_provider(icb, case, provider)
        if target == Status.APPROVED:
            return
        services.change_status(provider, case, Status.IN_DELIVERY)
        if target == Status.IN_DELIVERY:
            return
        services.change_status(icb, case, Status.REVIEW)
        if target == Status.CLOSED:
            services.change_status(icb, case, Status.CLOSED, "Vacancy filled and rota stable for three months.")
        if target == Status.REVIEW:  # this one's review is late
            Case.objects.filter(pk=case.pk).update(review_due=today - timedelta(days=10))

    def _answers(self, rng: random.Random) -> dict[str, str]:
        return {qid: str(rng.randint(1, 5)) for qid in questionnaire().questions}

    def _backdate(self, case: Case, days: int) -> None:
        then = timezone.now() - timedelta(days=days)
        Case.objects.filter(pk=case.pk).update(opened_at=then, status_changed_at=then, first_contact_at=None)
        CaseEvent.objects.filter(case=case).update(at=then)
        Referral.objects.filter(case=case).update(made_at=then)

    def _benchmark_checks(self, rng: random.Random) -> int:
        """Submitted health checks from other practices (no case), so a practice's results have a comparison."""
        practices = Practice.objects.filter(status=PracticeStatus.ACTIVE).order_by("code")[100:130]
        n = 0
        for p in practices:
            user = self._practice_user(p)
            answers = {qid: rng.randint(1, 5) for qid in questionnaire().questions}
            scores, overall = services.score_answers(answers)
            HealthCheck.objects.create(
                practice=p,
                answers=answers,
                area_scores=scores,
                overall=overall,
                questionnaire_version=questionnaire().version,
                started_by=user,
                submitted_by=user,
                submitted_at=timezone.now(),
            )
            n += 1
        return n
