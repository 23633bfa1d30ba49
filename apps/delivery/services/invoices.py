"""The hand-over to provider invoices: delivered, signed-off and confirmed sessions priced from their package line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Exists, OuterRef
from django.utils import timezone

from apps.cases.models import Case
from apps.delivery.models import (
    ProviderOrganisation,
    Session,
    SessionDispute,
)

# --- Hand-over to provider invoices (the funding app builds invoices from these) --------------------------------


@dataclass(frozen=True)
class InvoiceLine:
    """One delivered session ready to invoice. ``amount_pence`` = hours ÷ offer hours per unit × unit cost."""

    session_id: int
    delivered_on: date
    hours: float
    member: str
    package_line_id: int
    offer_code: str
    offer_unit: str
    units: float
    unit_cost_pence: int
    amount_pence: int


def delivered_sessions_for_invoice(
    organisation: ProviderOrganisation, case: Case | None, period_start: date, period_end: date
) -> list[InvoiceLine]:
    """Sessions the organisation may invoice for in [period_start, period_end]: delivered, signed off by the provider
    and confirmed by the practice (or upheld by the ICB team after a dispute), with no dispute open, on an assignment
    (so tied to a priced package line). Prices come from the line (the price the package was approved at), never the
    current menu. Units = hours ÷ the offer's hours per unit (one unit per session when the offer has no provider
    hours). This is the hand-over point to the funding app."""
    # A disputed session is never invoiced while the dispute is open (its confirmation is withheld, and an amended log
    # loses the confirmation of the log it replaced); the open-dispute filter says so outright all the same.
    disputed = SessionDispute.objects.filter(session=OuterRef("pk"), resolution__isnull=True)
    qs = (
        Session.objects.filter(
            assignment__organisation=organisation,
            state=Session.State.DELIVERED,
            signed_off_at__isnull=False,
            confirmed_at__isnull=False,
        )
        .exclude(Exists(disputed))
        .select_related("assignment__line__offer", "member")
    )
    if case is not None:
        qs = qs.filter(case=case)
    out = []
    for s in qs.order_by("starts_at", "pk"):
        day = timezone.localtime(s.starts_at).date()
        if not period_start <= day <= period_end:
            continue
        assert s.assignment is not None and s.delivered_hours is not None
        line = s.assignment.line
        per_unit = line.offer.coach_hours_per_unit
        units = s.delivered_hours / per_unit if per_unit else 1.0
        out.append(
            InvoiceLine(
                session_id=s.pk,
                delivered_on=day,
                hours=s.delivered_hours,
                member=s.member.name,
                package_line_id=line.pk,
                offer_code=line.offer.code,
                offer_unit=line.offer.unit,
                units=round(units, 4),
                unit_cost_pence=line.unit_cost_pence,
                amount_pence=round(units * line.unit_cost_pence),
            )
        )
    return out
