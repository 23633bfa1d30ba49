"""Package builder: lines priced from the menu, shared across a group of practices, submitted for approval."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db import transaction

from analytics import money
from analytics.targeting.dispersal import NeighbourResult
from apps.accounts.models import User
from apps.cases import notify
from apps.cases import policy as access
from apps.cases.models import (
    Case,
    CaseEvent,
    NotificationKind,
    Package,
    PackageLine,
    PackagePractice,
    Status,
    SupportOffer,
)
from apps.cases.services import shares
from apps.cases.services.base import CaseError, _contact, _event, _locked
from apps.cases.services.prices import in_force
from apps.core import audit
from apps.practices.models import PaymentsYear, Practice, PracticeStatus

MAX_UNIT_PENCE = 10_000_000
"""No unit of support costs more than £100,000 (the dearest menu offer is a fraction of it): a larger agreed price
is a typing slip, and stays inside the unit-cost column."""


@dataclass(frozen=True)
class LineInput:
    offer_code: str
    units: int
    note: str = ""
    unit_cost_pence: int | None = None
    """An agreed price per unit instead of the menu's (a variation re-pricing a line); ``None``: the menu's."""


def financial_year_end(d: date) -> date:
    return date(d.year + (1 if d.month >= 4 else 0), 3, 31)


def build_package(
    user: User,
    case: Case,
    lines: Sequence[LineInput],
    practices: Sequence[tuple[str, int | None]],
    starts: date,
    ends: date,
) -> Package:
    """Price a draft package from the menu. ``practices``: (ODS code, share in basis points or ``None`` to share by
    list size, :func:`resolve_shares`), lead included. A practice in another ICB may join when it is one of the
    lead practice's neighbours (:func:`neighbours_of`); its own ICB approves its share (``services.shares``).

    Eligibility: offers needing a higher triage impact are refused; a line shared by several practices must be a
    group offer; units within the offer's limit; delivery within one financial year (the money is year-bound).
    """
    case.refresh_from_db()
    if not access.can_edit_plan(user, case):
        raise CaseError("Packages are built by the case's ICB team or the practice while the case is open.")
    if case.status in (Status.REFERRED,):
        raise CaseError("Triage the case before building a package.")
    if not lines:
        raise CaseError("Add at least one line from the menu of support.")
    if ends < starts:
        raise CaseError("Delivery must end after it starts.", "ends")
    if financial_year_end(starts) != financial_year_end(ends):
        raise CaseError(f"Delivery must end by {financial_year_end(starts):%d %B %Y}: the money is year-bound.", "ends")
    codes = [c.upper() for c, _ in practices] or [case.practice.code]
    if case.practice.code not in codes:
        raise CaseError("The package must cover the case's own practice.", "group")
    if len(set(codes)) != len(codes):
        raise CaseError("A practice is listed twice.", "group")
    found = {p.code: p for p in Practice.objects.filter(code__in=codes)}
    across = {p.code for p in found.values() if p.icb_id != case.icb_id}
    near = {n.code for n in neighbours_of(case.practice)} if across else set()
    for c in codes:
        p = found.get(c)
        if p is None or p.status != PracticeStatus.ACTIVE:
            raise CaseError(f"{c} is not an open practice.", "group")
        if c in across and c not in near:
            raise CaseError(
                f"{p.display_name} is in another ICB and is not a neighbour of {case.practice.display_name}: a "
                "practice across the border joins only when it would take this practice's patients.",
                "group",
            )
    shares = resolve_shares([(c.upper(), bp) for c, bp in practices], found) if practices else [10_000]
    priced = price_lines(case, lines, [found[c] for c in codes])
    total = sum(p.total_pence for p in priced)
    with transaction.atomic():
        case = _locked(case)
        pkg = case.packages.filter(state=Package.State.DRAFT).first()
        if pkg is None:
            number = (case.packages.order_by("-number").values_list("number", flat=True).first() or 0) + 1
            pkg = Package(case=case, number=number, created_by=user, starts=starts, ends=ends)
        pkg.starts, pkg.ends, pkg.total_pence = starts, ends, total
        pkg.save()
        pkg.lines.all().delete()
        pkg.practices.all().delete()
        for line in priced:
            line.package = pkg
        audit.bulk_create(PackageLine, priced)
        audit.bulk_create(
            PackagePractice,
            [
                PackagePractice(package=pkg, practice=found[c], share_bp=bp, share_pence=pence)
                for c, bp, pence in zip(codes, shares, money.largest_remainder(total, shares), strict=True)
            ],
        )
        _contact(case, user)
        case.save()
        _event(
            case,
            user,
            CaseEvent.Kind.PACKAGE,
            f"Package {pkg.number} priced at £{total / 100:,.2f}"
            + (f" for {len(codes)} practices" if len(codes) > 1 else ""),
        )
    return pkg


def resolve_shares(practices: Sequence[tuple[str, int | None]], found: dict[str, Practice]) -> list[int]:
    """Each practice's share in basis points: a given share stands; the blank ones share what is left by list size
    (largest remainder, so the shares add up to 10,000 exactly). All blank: every share by list size."""
    given = sum(bp for _, bp in practices if bp is not None)
    blank = [c for c, bp in practices if bp is None]
    if any(bp is not None and bp <= 0 for _, bp in practices):
        raise CaseError("Each practice's share must be above 0%.", "group")
    if not blank:
        if given != 10_000:
            raise CaseError(f"The practices' shares add up to {given / 100:g}%, not 100%.", "group")
        return [bp or 0 for _, bp in practices]
    if given >= 10_000:
        raise CaseError("The shares given leave nothing for the practices without one.", "group")
    sizes = [found[c].list_size or 0 for c in blank]
    if not all(sizes):
        missing = next(found[c].display_name for c in blank if not found[c].list_size)
        raise CaseError(f"{missing} has no list size to share by: give its share.", "group")
    split = dict(zip(blank, money.largest_remainder(10_000 - given, [int(n) for n in sizes]), strict=True))
    out = [split[c] if bp is None else bp for c, bp in practices]
    if any(bp <= 0 for bp in out):
        raise CaseError("A practice's share by list size rounds to 0%: give the shares.", "group")
    return out


def neighbours_of(practice: Practice) -> list[NeighbourResult]:
    """The practices most likely to take this practice's patients were it to close (the ripple's dispersal model:
    nearest and most able first), across ICB borders; none when the practice cannot be simulated."""
    from django.core.exceptions import ValidationError

    from apps.targeting.services import simulate_closure  # the ripple is the targeting app's

    try:
        dispersal = simulate_closure(practice)
    except ValidationError:
        return []
    return sorted(dispersal.neighbours, key=lambda n: (-n.received, n.km))


def price_lines(case: Case, lines: Sequence[LineInput], practices: Sequence[Practice]) -> list[PackageLine]:
    """Price lines from the menu for these practices (unsaved): the eligibility rules, units within the offer's
    limit, per-patient offers by each practice's list. A variation prices its new lines the same way."""
    offers = {o.code: o for o in SupportOffer.objects.filter(active=True)}
    local = in_force(case.icb)  # the ICB's own prices, where it has set them (services.prices.price_for)
    codes = [p.code for p in practices]
    p_by_code = {p.code: p for p in practices}
    priced: list[PackageLine] = []
    for ln in lines:
        offer = offers.get(ln.offer_code)
        if offer is None:
            raise CaseError(f"Unknown or retired support offer {ln.offer_code}.", f"units-{ln.offer_code}")
        if ln.units < 1 or ln.units > offer.max_units:
            raise CaseError(f"{offer.title}: between 1 and {offer.max_units} {offer.unit}s.", f"units-{offer.code}")
        if offer.requires_impact and case.triage_impact not in offer.requires_impact:
            raise CaseError(
                f"{offer.title} is only for cases triaged with {' or '.join(offer.requires_impact)} impact.",
                f"units-{offer.code}",
            )
        if len(codes) > 1 and not offer.group and offer.unit_basis == "fixed":
            raise CaseError(
                f"{offer.title} is for one practice; it cannot be shared across a group.", f"units-{offer.code}"
            )
        if offer.unit_basis == "fixed":
            units = ln.units
        else:
            units = 0
            for c in codes:
                p = p_by_code[c]
                n = p.list_size if offer.unit_basis == "patients" else _weighted_list(p)
                if not n:
                    raise CaseError(
                        f"{offer.title} is paid per patient and {p.display_name} has no list size.",
                        f"units-{offer.code}",
                    )
                units += int(n)
            units *= ln.units
        default = local[offer.pk].price_pence if offer.pk in local else offer.unit_cost_pence
        price = default if ln.unit_cost_pence is None else ln.unit_cost_pence
        if price <= 0 or price > MAX_UNIT_PENCE:
            raise CaseError(
                f"{offer.title}: the price per {offer.unit} must be between £0.01 and £{MAX_UNIT_PENCE // 100:,}.",
                f"price-{offer.code}",
            )
        priced.append(
            PackageLine(
                offer=offer,
                requested_units=ln.units,
                units=units,
                unit_cost_pence=price,
                total_pence=units * price,
                note=ln.note.strip()[:300],
            )
        )
    return priced


def _weighted_list(p: Practice) -> float | None:
    """The newest weighted list size (NHS payments file)."""
    return (
        PaymentsYear.objects.filter(practice=p, weighted_patients__isnull=False)
        .order_by("-financial_year")
        .values_list("weighted_patients", flat=True)
        .first()
    )


def submit_package(user: User, package: Package) -> Package:
    package.refresh_from_db()
    case = package.case
    if not access.can_edit_plan(user, case):
        raise CaseError("You cannot submit this package.")
    if package.state != Package.State.DRAFT:
        raise CaseError("Only a draft package can be submitted.")
    with transaction.atomic():
        _locked(case)
        package.state = Package.State.SUBMITTED
        package.save(update_fields=["state"])
        shares.reset_shares(package)
        shares.ask_for_shares(package, user)
        _event(
            case,
            user,
            CaseEvent.Kind.PACKAGE,
            f"Package {package.number} submitted for approval (£{package.total_pence / 100:,.2f})",
        )
        notify.notify(
            notify.icb_team(case),
            NotificationKind.PACKAGE_SUBMITTED,
            case,
            f"{package.ref} is waiting for approval.",
            actor=user,
        )
    return package
