"""Demo cohorts: the Time for Care development offers' universal line, and one open cohort of practice-manager
development with some expressions of interest (``manage.py create_demo_cohorts``; tests use the same pieces).

The line is made only when no universal line funding practice-manager development exists for the year yet (the
programme templates may already have made one); it is allocated to every ICB by registered patients and released
in full, so a national cohort can pay for a place from any practice's ICB.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from analytics import money
from apps.accounts.models import User
from apps.cases.services import sync_menu
from apps.cohorts import services
from apps.cohorts.models import AttendeeRole, Cohort, Mode, Rule
from apps.delivery.models import OrganisationKind, ProviderOrganisation
from apps.funding import services as funding
from apps.funding.lines import funds_offer, is_universal
from apps.funding.models import Formula, FundingLine, LineAccess, Programme
from apps.practices.models import Practice, PracticeStatus

PM_OFFER = "gpdp-pm-development"
LINE_TOTAL_PENCE = 2_000_000 * 100  # £2m: a year of the £6m practice-manager development over three years
PROVIDER_NAME = "Practice Manager Development Faculty"
DEMO_TITLE = "Practice-manager development: spring cohort"


def universal_line(national: User, fy: int) -> FundingLine:
    """A universal line that funds practice-manager development with released budgets in ``fy`` (made if none)."""
    sync_menu()
    for line in FundingLine.objects.select_related("programme").filter(access=LineAccess.UNIVERSAL):
        if funds_offer(line, PM_OFFER, "GPDP") and line.budgets.filter(fy=fy).exists():
            return line
    code = f"TFC-{fy}"
    programme = Programme.objects.filter(code=code).first() or funding.create_programme(
        user=national,
        code=code,
        name=f"Time for Care development offers {money.fy_label(fy)}",
        description="The General Practice Development Programme's universal offers, open to every practice by "
        "expression of interest: practice-manager development, reception and clerical training, online "
        "consultation, learning collaboratives.",
        menu="GPDP",
        lines=[
            funding.LineSpec(
                "universal",
                "Universal development offers",
                "GPDP02",
                "5220",
                {fy: LINE_TOTAL_PENCE},
                offer_codes=(PM_OFFER, "gpdp-pm-coaching", "gpdp-reception-training", "gpdp-hia"),
                access=LineAccess.UNIVERSAL,
            )
        ],
    )
    line = programme.lines.get(code="universal")
    assert is_universal(line)
    if not line.allocations.filter(fy=fy).exists():
        formula = Formula.REGISTERED_PATIENTS
        preview = funding.preview_allocation(line=line, fy=fy, amount_pence=LINE_TOTAL_PENCE, formula=formula)
        funding.confirm_allocation(
            user=national,
            line=line,
            fy=fy,
            amount_pence=LINE_TOTAL_PENCE,
            formula=formula,
            fingerprint=preview.fingerprint,
        )
        funding.release_tranche(user=national, line=line, fy=fy, amount_pence=LINE_TOTAL_PENCE, note="Released in full")
    return line


def provider() -> ProviderOrganisation:
    org, _ = ProviderOrganisation.objects.get_or_create(
        name=PROVIDER_NAME, defaults={"kind": OrganisationKind.FACULTY, "capacity_hours_per_month": 0}
    )
    return org


def demo_cohort(icb_user: User, national: User, lead: User | None = None) -> Cohort | None:
    """One open cohort of practice-manager development in the ICB user's ICB with interest from four of its
    practices (the ICB expresses it on their behalf); None if it exists already."""
    assert icb_user.icb is not None
    if Cohort.objects.filter(title=DEMO_TITLE, icb=icb_user.icb).exists():
        return None
    today = timezone.localdate()
    starts = today + timedelta(days=28)
    line = universal_line(national, money.financial_year_of(starts))
    org = provider()
    if lead is not None and org.lead_user_id is None:
        org.lead_user = lead
        org.save(update_fields=["lead_user"])
    org.icbs.add(icb_user.icb)
    cohort = services.create_cohort(
        icb_user,
        services.CohortInput(
            offer_code=PM_OFFER,
            line_id=line.pk,
            title=DEMO_TITLE,
            description="Six half-day modules for practice managers: leading the team, workload and rotas, "
            "finance and contracts, quality improvement; with a peer network that carries on afterwards.",
            starts_on=starts,
            ends_on=starts + timedelta(days=84),
            closes_on=today + timedelta(days=14),
            places=3,
            mode=Mode.VENUE,
            venue="Durham County Hall, Durham DH1 5UL",
            provider_id=org.pk,
            cost_per_place_pence=150_000,
            rule=Rule.PRESSURE,
            practice_managers_only=True,
        ),
    )
    practices = Practice.objects.filter(icb=icb_user.icb, status=PracticeStatus.ACTIVE).order_by("code")[1:5]
    for n, practice in enumerate(practices):
        services.express_interest(
            icb_user, cohort, practice, f"Practice manager {n + 1}", AttendeeRole.PRACTICE_MANAGER, ""
        )
    return cohort
