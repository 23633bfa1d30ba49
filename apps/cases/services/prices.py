"""What a menu offer costs an ICB, and where that figure comes from (issue 17 §5).

The menu file gives each offer a price and its source, or says it is a local estimate and who set it when
(``analytics/menu/offers.toml``, ``price_source``). An ICB team may set its own price (a quote, a contract): each is
a new, attributed :class:`~apps.cases.models.LocalPrice` row, never edited, and the newest is in force.

:func:`price_for` is the one answer: the package builder prices from it, the menu page and the builder show its
label, and the optimiser may read it for an ICB's plan.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from analytics.menu.offers import source_label
from apps.accounts.models import User
from apps.cases import policy
from apps.cases.models import LocalPrice, SupportOffer
from apps.cases.services.base import CaseError
from apps.core.formatting import date_uk
from apps.practices.models import ICB

MIN_REASON = 10
MAX_PRICE_PENCE = 10_000_000  # £100,000 a unit: the package builder's own ceiling


def local_price_label(p: LocalPrice) -> str:
    who = p.set_by.get_full_name() or p.set_by.username
    return f"local price set by {who} on {date_uk(timezone.localtime(p.set_at).date())} ({p.reason})"


def price_for(offer: SupportOffer, icb: ICB | None) -> tuple[int, str]:
    """The unit price in force for ``icb`` (pence) and what it rests on: the ICB's newest local price, or the
    menu's price with its source ('source: …' or 'local estimate set by … on …')."""
    if icb is not None:
        local = in_force(icb).get(offer.pk)
        if local is not None:
            return local.price_pence, local_price_label(local)
    return offer.unit_cost_pence, source_label(offer.price_source)


def prices_for(offers: Iterable[SupportOffer], icb: ICB | None) -> dict[str, tuple[int, str]]:
    """:func:`price_for` of many offers at once (one query): ``{offer code: (pence, label)}``."""
    local = in_force(icb) if icb is not None else {}
    return {
        o.code: (local[o.pk].price_pence, local_price_label(local[o.pk]))
        if o.pk in local
        else (o.unit_cost_pence, source_label(o.price_source))
        for o in offers
    }


def in_force(icb: ICB) -> dict[int, LocalPrice]:
    """The ICB's local price in force for each offer that has one: ``{offer id: newest LocalPrice}`` (one query)."""
    found: dict[int, LocalPrice] = {}
    for p in LocalPrice.objects.filter(icb=icb).select_related("set_by").order_by("offer_id", "-set_at", "-id"):
        found.setdefault(p.offer_id, p)
    return found


def check_local_price(offer: SupportOffer, price_pence: int | None, reason: str) -> list[CaseError]:
    """Every problem with a local price as typed, each on its field (the form shows them all at once)."""
    problems = []
    if price_pence is not None and not 0 < price_pence <= MAX_PRICE_PENCE:
        problems.append(CaseError(f"Enter a price between £0.01 and £{MAX_PRICE_PENCE // 100:,}.", "price"))
    if len(reason.strip()) < MIN_REASON:
        problems.append(
            CaseError(
                f"Say where the price comes from (a quote, a contract), in at least {MIN_REASON} characters.", "reason"
            )
        )
    if not offer.active:
        problems.append(CaseError(f"{offer.title} is no longer on the menu.", "price"))
    return problems


def set_local_price(user: User, icb: ICB, offer: SupportOffer, price_pence: int, reason: str) -> LocalPrice:
    """A new local price for ``offer`` in ``icb``, in force from now for the ICB's new packages (audited as a new
    row; never edited)."""
    if not policy.can_set_local_price(user, icb.pk):
        raise CaseError("Only the ICB's own team sets its prices.")
    problems = check_local_price(offer, price_pence, reason)
    if problems:
        raise problems[0]
    with transaction.atomic():
        return LocalPrice.objects.create(
            icb=icb, offer=offer, price_pence=price_pence, reason=reason.strip(), set_by=user
        )
