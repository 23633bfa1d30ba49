"""Test helpers for the API: a bearer token per persona, the list of operations read from the OpenAPI document, and
the records the access walk and the API tests act on (practice X's case with a package, the provider's sessions)."""

from __future__ import annotations

import functools
import json
from datetime import date, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from apps.accounts.models import User
from apps.api.main import api
from apps.api.services import create_api_token
from apps.cases import services as case_services
from apps.cases.models import Case, Package, Route
from apps.delivery.models import FacultyMember, ProviderOrganisation, Session, SessionDispute

API_ROOT = "/api/v1"


def tokens_for(personas: dict[str, User]) -> dict[str, str]:
    """One fresh token per persona (``"anonymous"`` gets none)."""
    return {name: create_api_token(user, "test")[1] for name, user in personas.items()}


@functools.cache
def _openapi_text() -> str:
    # Building the document takes about a second and seven test modules read it while they are collected
    return json.dumps(api.get_openapi_schema(path_params={}), cls=DjangoJSONEncoder)


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document exactly as /api/v1/openapi.json serves it (JSON: string keys throughout); a fresh copy
    each time, so a caller may change it."""
    return json.loads(_openapi_text())


def operations() -> list[tuple[str, str, str]]:
    """(operationId, method, path template) of every operation in the API's OpenAPI document."""
    schema = openapi_document()
    return [
        (op["operationId"], method.upper(), path)
        for path, methods in schema["paths"].items()
        for method, op in methods.items()
    ]


def case_with_package(personas: dict[str, User]) -> Case:
    """Practice X's case at diagnosis with a submitted package (number 1), the provider persona assigned (made once
    per test). Provider B is assigned to nothing."""
    px, icb = personas["practice_x"], personas["icb_a"]
    case = Case.objects.filter(practice=px.practice).open().first()
    if case is None:
        case, _ = case_services.refer(
            px, px.practice, Route.SELF, case_services.ReferralInput("We cannot fill GP sessions.")
        )
        case_services.triage(icb, case, "high", "high", "Workforce gap")
        case_services.change_status(icb, case, "diagnosis")
        case_services.assign_provider(icb, case, personas["provider"])
        today = date.today()
        pkg = case_services.build_package(
            icb, case, [case_services.LineInput("gprp-coaching", 3)], [], today, case_services.financial_year_end(today)
        )
        case_services.submit_package(icb, Package.objects.get(pk=pkg.pk))
    return case


def provider_session(personas: dict[str, User], stage: str = "planned") -> Session:
    """A session of the walk case at practice X, delivered by the provider persona, started an hour ago: ``planned``,
    ``delivered`` (logged, not signed off), ``signed_off`` (waiting for the practice to confirm) or ``disputed`` (the
    practice disputes it: waiting for the ICB team)."""
    case = case_with_package(personas)
    prov = personas["provider"]
    org, _ = ProviderOrganisation.objects.get_or_create(name="Walk faculty", kind="faculty", lead_user=prov)
    member, _ = FacultyMember.objects.get_or_create(
        name="Walk coach", organisation=org, user=prov, role="coach", joined_on=date(2024, 1, 1)
    )
    now = timezone.now()
    s = Session.objects.create(
        practice=case.practice,
        case=case,
        member=member,
        title="Walk session",
        starts_at=now - timedelta(hours=1),
        planned_hours=1,
        created_by=personas["icb_a"],
    )
    if stage in ("delivered", "signed_off", "disputed"):
        s.state, s.delivered_hours, s.attendees, s.notes = "delivered", 1, {"practice_manager": 1}, "Rota review."
        s.logged_by, s.logged_at = prov, now
        if stage in ("signed_off", "disputed"):
            s.signed_off_by, s.signed_off_at = prov, now
        s.save()
    if stage == "disputed":
        SessionDispute.objects.create(
            session=s, reason="Nobody from the practice attended.", raised_by=personas["practice_x"]
        )
    return s


def icb_a_commitment(personas: dict[str, User]) -> str:
    """An open commitment of ICB A (from the demo money) with at least £10 neither paid nor awaiting approval."""
    from apps.funding.models import Commitment

    mine = Commitment.objects.filter(budget__icb=personas["icb_a"].icb, status=Commitment.Status.OPEN).filter(
        payee__isnull=True  # a payee's commitment is paid by tranche: the walk's payment names none
    )
    for c in mine.order_by("pk"):
        pending = sum(p.amount_pence for p in c.payments.filter(status="requested"))
        if c.amount_pence - c.paid_pence - pending >= 1000:
            return str(c.pk)
    raise LookupError("the demo money has no open commitment in ICB A with £10 unpaid")


PAYEE_NAME = "Matrixshire LMC support team"


def icb_a_budget(personas: dict[str, User]) -> str:
    """This year's first budget of ICB A (from the demo money) with at least £10 released and not committed."""
    from analytics import money
    from apps.funding import services
    from apps.funding.models import Budget

    fy = money.financial_year_of(timezone.localdate())
    budgets = services.with_balances(Budget.objects.filter(icb=personas["icb_a"].icb, fy=fy).order_by("pk"))
    return str(next(b for b in budgets if b.headroom_pence >= 1000).pk)


def icb_a_payee_commitment(personas: dict[str, User]) -> str:
    """A commitment of ICB A to a payee outside a case (£10 in two tranches of this year's first budget with room),
    made once; its reference. Its payee's name and reference are ICB A's alone."""
    from analytics import money
    from apps.funding import services
    from apps.funding.models import Budget, PayeeCommitment, PayeeKind

    icb_user = personas["icb_a"]
    made = PayeeCommitment.objects.filter(commitment__budget__icb=icb_user.icb, name=PAYEE_NAME).first()
    if made is not None:
        return made.commitment.reference
    end = money.fy_end(money.financial_year_of(timezone.localdate()))
    return services.commit_to_payee(
        budget=Budget.objects.select_related("icb").get(pk=icb_a_budget(personas)),
        user=icb_user,
        kind=PayeeKind.LMC_TEAM,
        name=PAYEE_NAME,
        purpose="Matrix: support to practices in difficulty",
        amount_pence=1000,
        tranches=[(end - timedelta(days=1), 500), (end, 500)],
    ).reference


def icb_a_caseload_csv(personas: dict[str, User]) -> bytes:
    """A one-case caseload file of ICB A, on a practice without an open case: it previews clean and commits."""
    from apps.cases.models import OPEN
    from apps.practices.models import Practice, PracticeStatus

    free = (
        Practice.objects.filter(icb=personas["icb_a"].icb, status=PracticeStatus.ACTIVE)
        .exclude(support_cases__status__in=OPEN)
        .order_by("-code")
        .values_list("code", flat=True)
        .first()
    )
    return f"Case reference,Practice ODS code,Referred on,State\nAPI-WALK-1,{free},1/4/2025,Referred\n".encode()


def icb_a_upload(personas: dict[str, User]) -> str:
    """An upload of ICB A's team (see :func:`icb_a_caseload_csv`), not yet imported."""
    from apps.caseload.services import upload_file

    icb_user = personas["icb_a"]
    made = upload_file(icb=icb_user.icb, user=icb_user, filename="walk.csv", data=icb_a_caseload_csv(personas))
    return str(made.pk)
