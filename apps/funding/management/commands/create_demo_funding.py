"""Create demo money: the GPRP programme with its real profile, this year's local scheme allocated to all ICBs by
weighted patients with a first tranche released, and a few commitments and payments in the two demo ICBs.

GPRP (£40m, 2016-17 £16m then £8m a year to 2019-20) and GPDP / Time for Care (£30m and the £96m linked to it, in
four lines) from their templates in apps/funding/programme_templates, with their sources (profile only; those years
are closed). Local scheme:
"GP resilience <this financial year>", £8.5m, allocated by weighted list size (NHS payments file), half released.
Commitments use references DEMO-<ICB>-<n>; payments are recorded by the demo ICB user and approved by a second
ICB user created here (<icb user>-finance), because a payment needs a different approver.

Every other ICB gets a demo commissioner (icb-<code>-demo, no email) and one commitment of its released money, so
the year-end view shows a realistic mix (:data:`YEAR_END_MIX`): most ICBs on track, some forecast to under-spend
beyond the programme's threshold, a few with money scheduled after 31 March.

Idempotent: what already exists is left alone. Run after import_national and create_demo_users. Demo and test
databases only: refuses unless DEBUG is on or --i-know-this-is-not-production is given.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from analytics import money
from analytics.menu.offers import offers_by_code
from apps.accounts.demo import DEMO_PASSWORD
from apps.accounts.models import Role, User
from apps.funding import services
from apps.funding.models import Budget, Commitment, Formula, FundingLine, Payment, Programme, Release
from apps.funding.programme_templates import line_specs, templates
from apps.practices.models import Practice, PracticeStatus

POUND = 100
LOCAL_TOTAL = 8_500_000 * POUND
FIRST_TRANCHE = 4_250_000 * POUND


# The other ICBs' year-end position, by their place in code order (i % 7): share of the released money committed,
# and the share of that scheduled after 31 March. 4 in 7 on track (within the default 5%), 2 in 7 under-spending,
# 1 in 7 slipping past year end.
YEAR_END_MIX = (
    (0.98, 0.0),
    (0.97, 0.0),
    (0.99, 0.0),
    (0.96, 0.0),
    (0.80, 0.0),
    (0.70, 0.0),
    (0.98, 0.35),
)


class _DryRun(Exception):
    pass


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Do everything, then roll it back")
        parser.add_argument("--i-know-this-is-not-production", action="store_true", dest="force")

    def handle(self, *args: Any, **opts: Any) -> None:
        if not settings.DEBUG and not opts["force"]:
            raise CommandError("demo money is for demo and test databases only (DEBUG is off)")
        national = User.objects.filter(username="national", role=Role.NATIONAL).first()
        icb_users = [
            u for u in (User.objects.filter(username=n, role=Role.ICB).first() for n in ("icb-a", "icb-b")) if u
        ]
        if national is None or len(icb_users) != 2:
            raise CommandError("run create_demo_users first: the national and ICB demo accounts are needed")
        self.counts: dict[str, int] = {}
        try:
            with transaction.atomic():
                self._gprp(national)
                line = self._local_scheme(national)
                for n, user in enumerate(icb_users):
                    self._icb(line, user, self._finance_user(user), n)
                self._other_icbs(line, {u.icb_id for u in icb_users})
                if opts["dry_run"]:
                    raise _DryRun
        except _DryRun:
            self.stdout.write("dry run: rolled back")
        made = ", ".join(f"{v} {k}" for k, v in self.counts.items()) or "nothing new"
        self.stdout.write(f"demo funding: {made}")

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def _gprp(self, national: User) -> None:
        """GPRP and GPDP (Time for Care) as they ran, from their templates (apps/funding/programme_templates):
        every line with the offers it funds, whether it is targeted or universal, and each figure's source. Their
        years are closed: no budgets this year."""
        for key, finance in (
            ("gprp", {"core": ("GPRP01", "5210")}),
            (
                "gpdp",
                {
                    "time-for-care": ("GPDP01", "5220"),
                    "pm-development": ("GPDP02", "5221"),
                    "reception-training": ("GPDP03", "5222"),
                    "online-consultation": ("GPDP04", "5223"),
                },
            ),
        ):
            t = templates()[key]
            if Programme.objects.filter(code=t.code).exists():
                continue
            services.create_programme(
                user=national,
                code=t.code,
                name=t.name,
                description=t.description,
                menu=t.menu,
                lines=line_specs(t, finance),
                virement_rule=t.virement_rule,
                template=key,
            )
            self._count("programmes")

    def _local_scheme(self, national: User) -> FundingLine:
        fy = money.financial_year_of(timezone.localdate())
        code = f"GPR-{fy}"
        programme = Programme.objects.filter(code=code).first()
        if programme is None:
            programme = services.create_programme(
                user=national,
                code=code,
                name=f"GP resilience {money.fy_label(fy)}",
                description="The successor to GPRP: £8.5m a year of primary-care service development money, "
                "managed by ICBs, for practices under most pressure.",
                menu="GPRP",
                lines=[services.LineSpec("core", "Resilience support", "PCSD26", "5211", {fy: LOCAL_TOTAL})],
            )
            self._count("programmes")
        line = programme.lines.get(code="core")
        if not line.allocations.filter(fy=fy).exists():
            preview = services.preview_allocation(
                line=line, fy=fy, amount_pence=LOCAL_TOTAL, formula=Formula.WEIGHTED_PATIENTS
            )
            services.confirm_allocation(
                user=national,
                line=line,
                fy=fy,
                amount_pence=LOCAL_TOTAL,
                formula=Formula.WEIGHTED_PATIENTS,
                fingerprint=preview.fingerprint,
            )
            self._count("allocations")
        if not Release.objects.filter(line=line, fy=fy).exists():
            services.release_tranche(
                user=national, line=line, fy=fy, amount_pence=FIRST_TRANCHE, note="First tranche: £4.25m of £8.5m"
            )
            self._count("releases")
        return line

    def _finance_user(self, user: User) -> User:
        assert user.icb is not None
        name = f"{user.username}-finance"
        finance = User.objects.filter(username=name).first()
        if finance is None:
            finance = User(username=name, first_name="Finance", last_name=f"Officer ({user.icb.short_name})")
            finance.role, finance.icb, finance.email = Role.ICB, user.icb, f"{name}@example.org"
            finance.set_password(DEMO_PASSWORD)
            finance.save()
            self._count("finance users")
        return finance

    def _icb(self, line: FundingLine, user: User, finance: User, n: int) -> None:
        assert user.icb is not None
        icb = user.icb
        fy = money.financial_year_of(timezone.localdate())
        budget = Budget.objects.get(line=line, fy=fy, icb=icb)
        menu = offers_by_code()
        practices = list(
            Practice.objects.filter(icb=icb, status=PracticeStatus.ACTIVE).order_by("code").values_list("code", "name")
        )[1:4]
        diag = menu["gprp-diagnostic"].standard_cost_pence
        hr = menu["gprp-hr-advice"].standard_cost_pence
        end = money.fy_end(fy)
        plans = [
            # One practice: a diagnostic and HR advice, evenly through the rest of the year.
            (f"DEMO-{icb.code}-1", [(practices[0][0], diag + hr)], {"gprp-diagnostic": diag, "gprp-hr-advice": hr}, ()),
            # Two neighbouring practices sharing HR advice; part scheduled after 31 March, so it is at risk.
            (
                f"DEMO-{icb.code}-2",
                [(practices[1][0], hr), (practices[2][0], hr)],
                {"gprp-hr-advice": 2 * hr},
                ((date(end.year, 2, 28), hr), (date(end.year, 5, 31), hr)),
            ),
        ]
        for reference, recipients, offers, schedule in plans:
            if Commitment.objects.filter(reference=reference).exists():
                continue
            services.commit_funds(
                budget=budget,
                amount_pence=sum(offers.values()),
                reference=reference,
                user=user,
                recipients=recipients,
                offers=offers,
                schedule=schedule,
                memo="Demo package",
            )
            self._count("commitments")
        first = f"DEMO-{icb.code}-1"
        if not Payment.objects.filter(commitment__reference=first).exists():
            invoice = services.record_payment(
                reference=first,
                amount_pence=diag,
                kind=Payment.Kind.INVOICE,
                payee="Practice Support Partnership (demo provider)",
                invoice_number=f"INV-{icb.code}-{101 + n}",
                offer_code="gprp-diagnostic",
                user=user,
            )
            services.approve_payment(payment=invoice, user=finance, note="Diagnostic report received")
            backfill = services.record_payment(
                reference=first,
                amount_pence=hr // 3,
                kind=Payment.Kind.DIRECT,
                payee="",
                practice_code=practices[0][0],
                offer_code="gprp-hr-advice",
                memo="Backfill for the practice manager's time",
                user=user,
            )
            services.approve_payment(payment=backfill, user=finance)
            services.record_payment(
                reference=first,
                amount_pence=hr // 3,
                kind=Payment.Kind.INVOICE,
                payee="Practice Support Partnership (demo provider)",
                invoice_number=f"INV-{icb.code}-{201 + n}",
                offer_code="gprp-hr-advice",
                user=user,
            )
            self._count("payments")

    def _other_icbs(self, line: FundingLine, skip: set[int | None]) -> None:
        fy = money.financial_year_of(timezone.localdate())
        end = money.fy_end(fy)
        budgets = Budget.objects.filter(line=line, fy=fy).exclude(icb_id__in=skip).select_related("icb")
        for i, budget in enumerate(budgets.order_by("icb__code")):
            icb = budget.icb
            reference = f"DEMO-{icb.code}-1"
            if Commitment.objects.filter(reference=reference).exists():
                continue
            practice = (
                Practice.objects.filter(icb=icb, status=PracticeStatus.ACTIVE)
                .order_by("code")
                .values_list("code", flat=True)
                .first()
            )
            if practice is None:
                continue
            share, late = YEAR_END_MIX[i % len(YEAR_END_MIX)]
            amount = int(budget.balance().headroom * share)
            if amount <= 0:
                continue
            after = int(amount * late)
            schedule = ((date(end.year, 2, 15), amount - after), (date(end.year, 5, 31), after)) if after else ()
            services.commit_funds(
                budget=budget,
                amount_pence=amount,
                reference=reference,
                user=self._commissioner(icb),
                recipients=[(practice, amount)],
                offers={"gprp-coaching": amount},
                schedule=schedule,
                memo="Demo commitment: the ICB's support programme for the year",
            )
            self._count("commitments")

    def _commissioner(self, icb: Any) -> User:
        name = f"icb-{icb.code.lower()}-demo"
        user = User.objects.filter(username=name).first()
        if user is None:
            user = User(username=name, first_name="Demo", last_name=f"Commissioner ({icb.short_name})")
            user.role, user.icb = Role.ICB, icb
            user.set_unusable_password()
            user.save()
            self._count("demo commissioners")
        return user
