"""The scale bench's dataset builder (issue 19 §1): grows the demo through the services' own functions.

A size is a multiple of the demo's cases: ``N``x adds ``(N - 1)`` x the demo's cases, spread over the two demo ICBs
(70% ICB A, 30% ICB B), as a deployment that has run for a few years holds them: most cases (``CLOSED_SHARE``) have
run their whole course — referral, triage, health check, plan, package, approval against the ICB budget, delivery
with ``sessions`` coaching sessions planned, logged and signed off by a faculty member, ``payments`` monthly provider
invoices recorded by one ICB user and approved by another, review, closure — and the rest stop at each state of the
demo's ladder in turn. Closed cases free their practice for its next case, so an ICB's practices take case after case
as years would bring them. The faculty grows with the work: a new coach joins when the current ones are full (the
capacity rule refuses the next line), as a growing service would recruit.

Every step is a service call that checks its rules (nothing skips them); what the builder does itself is what the
demo commands do too: it back-dates a package's start to the start of the financial year so past sessions fall in
it, links a faculty login (no service for that, as in ``create_demo_delivery``), and funds the growth with a bench
programme allocated and released by the national team (the demo's £8.5m would be spent after a few dozen packages).

Speed (why a 100x build takes minutes, not hours): one transaction per case, the users, practices, faculty, menu
and budgets read once and reused, no e-mail sent (the dummy mail backend), and no re-reading of the national data.
"""

from __future__ import annotations

import contextlib
import io
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

# of the grown cases: closed after their whole course (a few years of use); the rest follow the ladder
CLOSED_SHARE = 0.8
BENCH_PROGRAMME = "BENCH-SCALE"
BENCH_TOTAL_PENCE = 50_000_000_000 * 100  # enough that no approval of a bench build is refused for money
COACH_CAPACITY = 200.0  # hours a month, the most the faculty rules allow


@dataclass
class Shape:
    """What one case carries once delivered: sessions and monthly invoices."""

    sessions: int = 6
    payments: int = 6
    busiest: float = 0.7  # the share of the grown cases in ICB A (the rest in ICB B)


@dataclass
class Made:
    cases: int = 0
    refused: int = 0
    payments: int = 0
    sessions: int = 0
    coaches: int = 0
    first_refusal: str = ""
    by_target: dict[str, int] = field(default_factory=dict)

    def refuse(self, what: str, exc: Exception) -> None:
        self.refused += 1
        if not self.first_refusal:
            self.first_refusal = f"{what}: {type(exc).__name__}: {exc}"


def _aware(day: date, hour: int) -> datetime:
    from django.utils import timezone

    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def fund_growth() -> None:
    """A bench programme for this financial year, allocated to every ICB by weighted patients and all released, by
    the national team through the funding services (idempotent)."""
    from django.utils import timezone

    from analytics import money
    from apps.accounts.models import User
    from apps.funding import services
    from apps.funding.models import Formula, Programme, Release

    national = User.objects.get(username="national")
    fy = money.financial_year_of(timezone.localdate())
    programme = Programme.objects.filter(code=f"{BENCH_PROGRAMME}-{fy}").first()
    if programme is None:
        programme = services.create_programme(
            user=national,
            code=f"{BENCH_PROGRAMME}-{fy}",
            name=f"Scale bench money {money.fy_label(fy)}",
            description="Money for the scale bench's grown cases, so approvals are not refused for want of budget.",
            menu="GPRP",
            lines=[services.LineSpec("core", "Scale bench support", "PCSD99", "5299", {fy: BENCH_TOTAL_PENCE})],
        )
    line = programme.lines.get(code="core")
    if not line.allocations.filter(fy=fy).exists():
        preview = services.preview_allocation(
            line=line, fy=fy, amount_pence=BENCH_TOTAL_PENCE, formula=Formula.WEIGHTED_PATIENTS
        )
        services.confirm_allocation(
            user=national,
            line=line,
            fy=fy,
            amount_pence=BENCH_TOTAL_PENCE,
            formula=Formula.WEIGHTED_PATIENTS,
            fingerprint=preview.fingerprint,
        )
    if not Release.objects.filter(line=line, fy=fy).exists():
        services.release_tranche(
            user=national, line=line, fy=fy, amount_pence=BENCH_TOTAL_PENCE, note="Scale bench: all of it"
        )


class Builder:
    """State reused across cases: the users, the ICB's practice pool, the faculty coach taking new lines."""

    def __init__(self, seed: int, shape: Shape) -> None:
        from apps.accounts.models import User
        from apps.cases.management.commands.create_demo_cases import Command as DemoCases

        self.rng = random.Random(seed)
        self.shape = shape
        self.demo = DemoCases(stdout=io.StringIO())
        self.provider = User.objects.get(username="provider")
        self.national = User.objects.get(username="national")
        self.made = Made()
        self.coach: Any = None
        self.coach_user: Any = None
        self.puser_of: dict[int, Any] = {}
        self.seq = 0
        self.password_hash = ""

    # --- the faculty -------------------------------------------------------------------------------------------

    def _new_coach(self, icb_ids: list[int]) -> None:
        from apps.accounts.models import Role, User
        from apps.delivery import services as delivery
        from apps.delivery.models import Accreditation, FacultyMember, MemberRole, ProviderOrganisation

        n = FacultyMember.objects.count() + 1
        org = ProviderOrganisation.objects.filter(active=True).order_by("pk").first()
        assert org is not None, "run create_demo_delivery first"
        member = delivery.add_member(
            self.national,
            delivery.MemberInput(
                name=f"Bench Coach {n}",
                organisation_id=org.pk,
                role=MemberRole.COACH,
                capacity_hours_per_month=COACH_CAPACITY,
                joined_on=date(2020, 1, 1),
                offer_codes=("gprp-coaching",),
                icb_ids=tuple(icb_ids),
                email=f"bench-coach-{n}@example.org",
                accreditation=Accreditation.ACCREDITED,
                accredited_on=date(2021, 1, 1),
                accreditation_expires=date(2030, 1, 1),
            ),
        )
        login, _ = User.objects.get_or_create(
            username=f"bench-coach-{n}", defaults={"role": Role.PROVIDER, "email": f"bench-coach-{n}@example.org"}
        )
        FacultyMember.objects.filter(pk=member.pk).update(user=login)  # as create_demo_delivery links its coach
        member.refresh_from_db()
        self.coach, self.coach_user = member, login
        self.made.coaches += 1

    def _assign_coaching(self, icb: Any, case: Any, pkg: Any, icb_ids: list[int]) -> Any:
        from apps.delivery import services as delivery
        from apps.delivery.errors import DeliveryError

        line = next(ln for ln in pkg.lines.select_related("offer") if ln.offer.code == "gprp-coaching")
        for _ in range(2):
            if self.coach is None:
                self._new_coach(icb_ids)
            try:
                return delivery.assign_work(icb, line, member=self.coach)
            except DeliveryError:
                self.coach = None  # full (the capacity rule): the next coach joins
        raise RuntimeError("a new coach could not take the line")

    # --- one case ----------------------------------------------------------------------------------------------

    def practice_user(self, practice: Any) -> Any:
        """The practice's demo account (``practice-<code>``), made once; its password is the demo one, hashed once
        for the whole build (hashing is slow on purpose: it cost half a second per new practice)."""
        from apps.accounts.demo import DEMO_PASSWORD
        from apps.accounts.models import Role, User

        if practice.pk not in self.puser_of:
            username = f"practice-{practice.code.lower()}"
            user = User.objects.filter(username=username).first()
            if user is None:
                if not self.password_hash:
                    probe = User()
                    probe.set_password(DEMO_PASSWORD)
                    self.password_hash = probe.password
                user = User.objects.create(
                    username=username,
                    role=Role.PRACTICE,
                    practice=practice,
                    first_name="Practice",
                    last_name="Manager",
                    email=f"{username}@example.org",
                    password=self.password_hash,
                )
            self.puser_of[practice.pk] = user
        return self.puser_of[practice.pk]

    def case(self, icb: Any, colleague: Any, practice: Any, target: str, budget: Any, icb_ids: list[int]) -> Any:
        """One case, climbed to ``target`` through the case, delivery and funding services."""
        from django.utils import timezone

        from analytics import money
        from apps.cases import services
        from apps.cases.management.commands.create_demo_cases import CONCERNS
        from apps.cases.models import Package, Route, Status

        rng, i = self.rng, self.seq
        self.seq += 1
        puser = self.practice_user(practice)
        data = services.ReferralInput(
            CONCERNS[i % len(CONCERNS)],
            tried=rng.sample(sorted(services.TRIED_CHOICES)[:-1], 2),
            help_wanted=["Workforce support"],
            urgency=["routine", "soon", "urgent"][i % 3],
        )
        case, _ = services.refer(icb, practice, Route.ICB, data)
        if target == Status.REFERRED:
            return case
        if target == Status.WITHDRAWN:
            services.change_status(puser, case, Status.WITHDRAWN, "Sorted locally.")
            return case
        impact = "high" if case.urgency == "urgent" else "medium"
        services.triage(icb, case, "high", impact, "Clear workforce gap the menu can address.")
        if target == Status.TRIAGED:
            return case
        if target == Status.DECLINED:
            services.change_status(icb, case, Status.DECLINED, "Support already arranged through the PCN.")
            return case
        services.change_status(icb, case, Status.DIAGNOSIS)
        services.save_health_check(puser, case, self.demo._answers(rng), submit=True)
        if target == Status.DIAGNOSIS:
            return case
        today = timezone.localdate()
        fy_start = money.fy_start(money.financial_year_of(today))
        goals = [
            services.GoalInput(
                "workforce",
                "Fill the GP vacancy",
                [services.ActionInput("Agree a recruitment plan", "Practice manager", today + timedelta(days=30))],
            )
        ]
        services.save_plan(puser, case, goals)
        services.agree_plan(puser, case)
        if target == Status.PLAN_AGREED:
            return case
        # delivery started at the beginning of the financial year, so past sessions and invoices fall inside it
        pkg = services.build_package(
            icb,
            case,
            [services.LineInput("gprp-workforce", 20), services.LineInput("gprp-coaching", 6)],
            [],
            fy_start,
            services.financial_year_end(today),
        )
        services.submit_package(icb, pkg)
        services.approve_package(icb, Package.objects.get(pk=pkg.pk), "Approved at the panel.", budget)
        if target == Status.APPROVED:
            services.assign_provider(icb, case, self.provider)
            return case
        a = self._assign_coaching(icb, case, pkg, icb_ids)
        services.change_status(self.coach_user, case, Status.IN_DELIVERY)
        self._deliver(a, fy_start, today)
        self._pay(pkg, icb, colleague)
        if target == Status.IN_DELIVERY:
            return case
        services.change_status(icb, case, Status.REVIEW)
        if target == Status.CLOSED:
            services.change_status(icb, case, Status.CLOSED, "Vacancy filled and rota stable for three months.")
        return case

    def _deliver(self, a: Any, start: date, today: date) -> None:
        from apps.delivery import services as delivery

        n = self.shape.sessions
        days = max(1, (today - start).days - 1)
        for k in range(n):
            day = start + timedelta(days=days * k // max(1, n))
            s = delivery.plan_session(self.coach_user, a, _aware(day, 10), 2, f"Coaching session {k + 1}")
            delivery.log_session(
                self.coach_user,
                s,
                delivery.LogInput(
                    delivered=True,
                    hours=2,
                    attendees={"gp_partner": 2, "practice_manager": 1},
                    notes="Worked through the rota and the recruitment plan.",
                    sign_off=True,
                ),
            )
            self.made.sessions += 1

    def _pay(self, pkg: Any, icb: Any, colleague: Any) -> None:
        from apps.funding import services as funding
        from apps.funding.models import Commitment

        n = self.shape.payments
        pkg.refresh_from_db()
        for commitment in Commitment.objects.filter(reference=pkg.commitment_ref, status=Commitment.Status.OPEN):
            each = commitment.amount_pence // (n + 1)
            for k in range(n):
                payment = funding.record_payment(
                    reference=commitment.reference,
                    amount_pence=max(1, each),
                    kind="invoice",
                    payee="Bench Provider Ltd",
                    user=colleague,
                    invoice_number=f"BENCH-{commitment.pk}-{k + 1}",
                )
                funding.approve_payment(payment=payment, user=icb)
                self.made.payments += 1


def grow(extra_cases: int, seed: int, shape: Shape) -> Made:
    """Add ``extra_cases`` cases to ICB A (``shape.busiest``, 70% by default) and ICB B (the rest), each in one
    transaction; a case a rule refuses is counted and rolled back, the rest kept."""
    from django.db import transaction

    from apps.accounts.models import Role, User
    from apps.cases.management.commands.create_demo_cases import TARGETS
    from apps.cases.models import Case, Status
    from apps.core.errors import DomainError
    from apps.funding import services as funding
    from apps.funding.models import Budget
    from apps.indicators.models import PracticeScore
    from apps.practices.models import PracticeStatus

    fund_growth()
    builder = Builder(seed, shape)
    icb_ids = list(User.objects.filter(username__in=["icb-a", "icb-b"]).values_list("icb_id", flat=True))
    for icb_name, share in (("icb-a", shape.busiest), ("icb-b", 1 - shape.busiest)):
        if share <= 0:
            continue
        icb = User.objects.select_related("icb").get(username=icb_name)
        colleague, _ = User.objects.get_or_create(
            username=f"{icb_name}-bench-colleague", defaults={"role": Role.ICB, "icb_id": icb.icb_id}
        )
        budget = max(funding.budgets_for(icb.icb), key=lambda b: b.headroom_pence)
        budget = Budget.objects.get(pk=budget.pk)
        reserved = User.objects.filter(username__in=["practice-x", "practice-y"]).values_list("practice_id")
        pool = [
            s.practice
            for s in PracticeScore.objects.filter(
                run__is_current=True, icb_id=icb.icb_id, practice__status=PracticeStatus.ACTIVE
            )
            .exclude(practice_id__in=reserved)
            .select_related("practice")
            .order_by("icb_rank")
        ]
        busy = set(Case.objects.open().values_list("practice_id", flat=True))
        want = round(extra_cases * share)
        ladder = list(TARGETS)
        k = 0
        for n in range(want):
            free = [p for p in pool if p.pk not in busy]
            if not free:
                break  # every practice of the ICB has an open case: the rest would be refused anyway
            practice = free[n % len(free)]
            closed = builder.rng.random() < CLOSED_SHARE
            target = Status.CLOSED if closed else ladder[k % len(ladder)]
            k += 0 if closed else 1
            try:
                with contextlib.redirect_stdout(io.StringIO()), transaction.atomic():
                    case = builder.case(icb, colleague, practice, target, budget, icb_ids)
                builder.made.cases += 1
                builder.made.by_target[target] = builder.made.by_target.get(target, 0) + 1
                if target not in (Status.CLOSED, Status.WITHDRAWN, Status.DECLINED):
                    busy.add(case.practice_id)  # an open case: the practice takes no other until it closes
            except DomainError as exc:
                builder.made.refuse(f"case for {practice.code} to {target}", exc)
    return builder.made
