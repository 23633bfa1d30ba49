"""Committing money on package approval, varying it and cancelling it (de-commitment)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from analytics import money
from analytics.menu.offers import offers_by_code
from analytics.money import Kind
from apps.accounts.models import User
from apps.core import audit
from apps.funding.errors import FundingError
from apps.funding.lines import funds_offer
from apps.funding.models import (
    Budget,
    Commitment,
    LedgerEntry,
    PayeeCommitment,
    Payment,
)
from apps.funding.policy import can_act_on_budget
from apps.funding.services.ledger import MIN_REASON, InsufficientFunds, _check, _lock, pounds
from apps.practices.models import Practice

# Commitments --------------------------------------------------------------------------------------------------


def _clean_commitment(
    budget: Budget,
    amount: int,
    reference: str,
    recipients: Sequence[tuple[str, int]],
    offers: Mapping[str, int],
    schedule: Sequence[tuple[date, int]],
    for_payee: bool = False,
) -> tuple[list[tuple[str, int]], list[tuple[str, int]], list[tuple[date, int]]]:
    problems: list[str] = []
    if not reference.strip() or len(reference) > 60:
        problems.append("A commitment needs a reference of up to 60 characters")
    if amount <= 0:
        problems.append("The amount to commit must be more than £0")
    today = timezone.localdate()
    if today > money.fy_end(budget.fy):
        problems.append(f"The {budget.fy_label} budget closed on {money.fy_end(budget.fy):%d %B %Y}")
    if for_payee:
        _check_tranches(budget, amount, schedule, problems)
        if problems:
            raise FundingError.all_of([FundingError(p, "schedule" if "ranche" in p else None) for p in problems])
        # One ledger cell naming no practice and no offer: the payee is on the commitment (PayeeCommitment).
        return [("", amount)], [("", amount)], sorted(schedule)
    recips = [(code.strip().upper(), int(p)) for code, p in recipients]
    codes = [c for c, _ in recips]
    if not recips:
        problems.append("Name at least one practice the money is for")
    if len(set(codes)) != len(codes):
        problems.append("A practice is named twice in the recipients")
    known = set(Practice.objects.filter(code__in=codes).values_list("code", flat=True))
    if set(codes) - known:
        problems.append(f"Unknown practice codes: {', '.join(sorted(set(codes) - known))}")
    if any(p <= 0 for _, p in recips):
        problems.append("Each practice's share must be more than £0")
    if sum(p for _, p in recips) != amount:
        problems.append(f"The practices' shares add up to {pounds(sum(p for _, p in recips))}, not {pounds(amount)}")
    menu = offers_by_code()
    offer_items = [(code, int(p)) for code, p in offers.items()]
    for code, p in offer_items:
        offer = menu.get(code)
        if offer is None:
            problems.append(f"{code} is not on the menu of support")
        elif not funds_offer(budget.line, code, offer.programme):
            problems.append(
                f"{offer.title} is on the {offer.programme} menu; this budget funds {budget.line.programme.menu}"
                if offer.programme != budget.line.programme.menu and not budget.line.offer_codes
                else f"{offer.title} is not an offer the line {budget.line.name} funds "
                f"(it funds {', '.join(budget.line.offer_codes)})"
            )
        if p <= 0:
            problems.append(f"The amount for {code} must be more than £0")
    if not offer_items:
        problems.append("Say which offers on the menu the money buys")
    if sum(p for _, p in offer_items) != amount:
        problems.append(f"The offers add up to {pounds(sum(p for _, p in offer_items))}, not {pounds(amount)}")
    plan = list(schedule) or (
        money.even_monthly_schedule(amount, max(today, money.fy_start(budget.fy)), money.fy_end(budget.fy))
        if amount > 0 and today <= money.fy_end(budget.fy)
        else []
    )
    if schedule:
        if any(a <= 0 for _, a in plan):
            problems.append("Each scheduled amount must be more than £0")
        if any(d < money.fy_start(budget.fy) for d, _ in plan):
            problems.append(f"The schedule starts before the {budget.fy_label} financial year")
        if sum(a for _, a in plan) != amount:
            problems.append(f"The schedule adds up to {pounds(sum(a for _, a in plan))}, not {pounds(amount)}")
    if problems:
        raise FundingError.all_of([FundingError(p) for p in problems])
    return recips, offer_items, sorted(plan)


def _check_tranches(budget: Budget, amount: int, schedule: Sequence[tuple[date, int]], problems: list[str]) -> None:
    """A payee's schedule is its tranches: stated (no even monthly default), each more than £0 on its own date
    within the budget's year, adding up to the amount."""
    if not schedule:
        problems.append("Give the schedule of payments: each tranche's date and amount")
        return
    dates = [d for d, _ in schedule]
    if len(set(dates)) != len(dates):
        problems.append("Two tranches fall on the same date: give each its own date")
    if any(a <= 0 for _, a in schedule):
        problems.append("Each tranche must be more than £0")
    if any(not money.fy_start(budget.fy) <= d <= money.fy_end(budget.fy) for d in dates):
        problems.append(f"Each tranche falls within the {budget.fy_label} financial year of the budget")
    if sum(a for _, a in schedule) != amount:
        problems.append(f"The tranches add up to {pounds(sum(a for _, a in schedule))}, not {pounds(amount)}")


def _cells(commitment: Commitment) -> dict[tuple[str, str], int]:
    """The commitment's current amount by (practice, offer), from its ledger entries."""
    rows = (
        commitment.entries.filter(kind__in=[Kind.COMMITMENT, Kind.VARIATION, Kind.DECOMMITMENT])
        .order_by()
        .values_list("practice_code", "offer_code")
        .annotate(t=Sum("amount_pence"))
    )
    return {(p, o): t for p, o, t in rows}


def _store_cells(commitment: Commitment, cells: Mapping[tuple[str, str], int]) -> None:
    by_practice: dict[str, int] = {}
    by_offer: dict[str, int] = {}
    for (p, o), t in cells.items():
        if t and p:  # a payee's cell names no practice and no offer
            by_practice[p] = by_practice.get(p, 0) + t
        if t and o:
            by_offer[o] = by_offer.get(o, 0) + t
    commitment.recipients = [[p, t] for p, t in by_practice.items()]
    commitment.offers = by_offer


def _schedule_json(plan: Sequence[tuple[date, int]]) -> list[list[object]]:
    return [[d.isoformat(), a] for d, a in plan]


def schedule_of(commitment: Commitment) -> list[tuple[date, int]]:
    return [(date.fromisoformat(d), int(a)) for d, a in commitment.schedule]


@dataclass(frozen=True)
class CommitPart:
    """One budget's share of a decision: what :func:`commit_funds` takes, for :func:`commit_funds_together`.

    ``label`` names the part in a shortfall message (for a package: its lines on this budget)."""

    budget: Budget
    amount_pence: int
    reference: str
    recipients: Sequence[tuple[str, int]]
    offers: Mapping[str, int]
    schedule: Sequence[tuple[date, int]] = ()
    label: str = ""
    payee: PayeeSpec | None = None


@dataclass(frozen=True)
class PayeeSpec:
    """Who a commitment outside a practice case pays (``PayeeCommitment``): a part with one has no recipients and
    no offers, and its schedule is its tranches."""

    kind: str
    name: str
    purpose: str
    organisation_code: str = ""


class PartShortfall(InsufficientFunds):
    """:class:`InsufficientFunds` on one part of a decision across budgets, naming the part and its budget."""

    def __init__(self, part: CommitPart, inner: InsufficientFunds) -> None:
        super().__init__(inner.budget, inner.missing_pence, inner.available_pence)
        self.part = part
        if part.label:
            self.args = (f"{part.label}: {self.message}",)


def commit_funds(
    *,
    budget: Budget,
    amount_pence: int,
    reference: str,
    user: User,
    recipients: Sequence[tuple[str, int]],
    offers: Mapping[str, int],
    schedule: Sequence[tuple[date, int]] = (),
    memo: str = "",
) -> Commitment:
    """Commit released money on package approval. Raises :class:`InsufficientFunds` (saying how much is missing)
    when the budget's headroom is too small, ``FundingError`` for bad input, ``PermissionDenied`` unless the
    user is on the budget's ICB team.

    The ledger gets one entry per (practice, offer) cell: the recipients' shares split across the offers in
    proportion (``analytics.money.cross_split``), so both totals reconcile. Safe when called concurrently and
    inside the caller's ``transaction.atomic()`` (it opens a savepoint and locks the budget row).
    """
    part = CommitPart(budget, amount_pence, reference, recipients, offers, schedule)
    try:
        return commit_funds_together([part], user=user, memo=memo)[0]
    except PartShortfall as e:  # one budget: the plain shortfall, as callers have always seen it
        raise InsufficientFunds(e.budget, e.missing_pence, e.available_pence) from e


def clean_parts(parts: Sequence[CommitPart]) -> list[tuple[CommitPart, Any]]:
    """Every part's input checked before anything is locked or written, each part with its cleaned recipients,
    offers and schedule; the problems of all parts are raised together (``FundingError.all_of``)."""
    problems: list[FundingError] = []
    cleaned: list[tuple[CommitPart, Any]] = []
    for part in parts:
        try:
            cleaned.append(
                (
                    part,
                    _clean_commitment(
                        part.budget,
                        part.amount_pence,
                        part.reference,
                        part.recipients,
                        part.offers,
                        part.schedule,
                        for_payee=part.payee is not None,
                    ),
                )
            )
        except FundingError as e:
            problems.extend(e.problems)
    if problems:
        raise FundingError.all_of(problems)
    return cleaned


def commit_funds_together(
    parts: Sequence[CommitPart], *, user: User, memo: str = "", under_standing_decision: bool = False
) -> list[Commitment]:
    """One decision across several budgets: a commitment per part, all or none.

    ``under_standing_decision``: the caller's own policy has already decided that ``user`` commits under a decision
    the budget's holder made beforehand — a cohort of a universal offer, whose places and cost per place its ICB (or
    the national team) set, commits a place's cost when the practice accepts it (``apps.cohorts``). Only then is the
    ICB-team check skipped; the lock, the no-overdraw check and the ledger are the same, and the ledger names ``user``.

    Every budget is locked first (in id order, as everywhere, so two decisions sharing budgets queue rather than
    deadlock), every part's headroom is checked, then every ledger entry is written. If any part would overdraw
    its budget, :class:`PartShortfall` names it and nothing is committed. Each budget appears in one part only
    (the caller sums a budget's lines), so a check cannot pass twice on the same headroom.
    """
    if not parts:
        raise FundingError("Nothing to commit")
    if len({p.budget.pk for p in parts}) != len(parts):
        raise FundingError("A budget appears twice in one decision: put its lines together")
    if len({p.reference for p in parts}) != len(parts):
        raise FundingError("Two parts of one decision share a reference")
    for part in parts:
        if not under_standing_decision and not can_act_on_budget(user, part.budget.icb):
            raise PermissionDenied("only the ICB's own team commits its budget")
    cleaned = clean_parts(parts)
    references = [p.reference for p in parts]
    made: list[Commitment] = []
    try:
        with transaction.atomic():
            locked = _lock(p.budget.pk for p in parts)
            taken = Commitment.objects.filter(reference__in=references).values_list("reference", flat=True).first()
            if taken:
                raise FundingError(f"A commitment with reference {taken} already exists")
            for part, _ in cleaned:
                try:
                    _check(locked[part.budget.pk], Kind.COMMITMENT, part.amount_pence)
                except InsufficientFunds as e:
                    raise PartShortfall(part, e) from e
            movement = uuid.uuid4()  # one decision, one movement across its budgets
            for part, (recips, offer_items, plan) in cleaned:
                made.append(
                    _write_commitment(locked[part.budget.pk], part, recips, offer_items, plan, movement, user, memo)
                )
    except IntegrityError as e:  # a concurrent call took the same reference first
        raise FundingError(f"A commitment with reference {', '.join(references)} already exists") from e
    for part in parts:
        part.budget.balance_ = None  # type: ignore[attr-defined]  # the caller's copy is out of date
    return made


def _write_commitment(
    budget: Budget,
    part: CommitPart,
    recips: list[tuple[str, int]],
    offer_items: list[tuple[str, int]],
    plan: list[tuple[date, int]],
    movement: uuid.UUID,
    user: User,
    memo: str,
) -> Commitment:
    commitment = Commitment.objects.create(
        budget=budget,
        reference=part.reference,
        amount_pence=part.amount_pence,
        recipients=[list(r) for r in recips if r[0]],
        offers={code: p for code, p in offer_items if code},
        schedule=_schedule_json(plan),
        memo=memo,
        created_by=user,
    )
    if part.payee is not None:
        PayeeCommitment.objects.create(
            commitment=commitment,
            kind=part.payee.kind,
            name=part.payee.name,
            organisation_code=part.payee.organisation_code,
            purpose=part.payee.purpose,
        )
    table = money.cross_split([p for _, p in recips], [p for _, p in offer_items])
    audit.bulk_create(
        LedgerEntry,
        [
            LedgerEntry(
                budget=budget,
                kind=Kind.COMMITMENT,
                amount_pence=cell,
                movement=movement,
                reference=part.reference,
                practice_code=practice,
                offer_code=offer,
                commitment=commitment,
                memo=memo[:500],
                created_by=user,
            )
            for (practice, _), row in zip(recips, table, strict=True)
            for (offer, _), cell in zip(offer_items, row, strict=True)
            if cell
        ],
    )
    return commitment


def commitments_under(references: Sequence[str]) -> QuerySet[Commitment]:
    """The commitments made under these decision references: the reference itself (one budget) or the reference
    followed by ``/`` and the budget's line (one commitment per budget, :func:`commit_funds_together`)."""
    match = Q(pk__in=[])
    for ref in references:
        match |= Q(reference=ref) | Q(reference__startswith=f"{ref}/")
    return Commitment.objects.filter(match)


def _locked_commitment(reference: str, user: User, under_standing_decision: bool = False) -> tuple[Commitment, Budget]:
    commitment = Commitment.objects.select_related("budget__icb").filter(reference=reference).first()
    if commitment is None:
        raise FundingError(f"No commitment with reference {reference}")
    if not under_standing_decision and not can_act_on_budget(user, commitment.budget.icb):
        raise PermissionDenied("only the ICB's own team changes its commitments")
    budget = _lock([commitment.budget_id])[commitment.budget_id]
    commitment = Commitment.objects.select_for_update().get(pk=commitment.pk)
    return commitment, budget


def _change_amount(commitment: Commitment, budget: Budget, kind: Kind, delta: int, user: User, reason: str) -> None:
    """Write a variation or de-commitment of ``delta`` spread over the commitment's cells in proportion."""
    cells = _cells(commitment)
    keys = sorted(k for k, v in cells.items() if v > 0)
    amounts = [cells[k] for k in keys]
    parts = money.largest_remainder(delta, amounts) if delta > 0 else [-p for p in money.capped_split(-delta, amounts)]
    movement = uuid.uuid4()
    audit.bulk_create(
        LedgerEntry,
        [
            LedgerEntry(
                budget=budget,
                kind=kind,
                amount_pence=part,
                movement=movement,
                reference=commitment.reference,
                practice_code=p,
                offer_code=o,
                commitment=commitment,
                memo=reason[:500],
                created_by=user,
            )
            for (p, o), part in zip(keys, parts, strict=True)
            if part
        ],
    )
    for k, part in zip(keys, parts, strict=True):
        cells[k] += part
    _store_cells(commitment, cells)
    commitment.amount_pence += delta
    old = schedule_of(commitment)
    if commitment.amount_pence and old:
        new = money.largest_remainder(commitment.amount_pence, [a for _, a in old])
        commitment.schedule = _schedule_json([(d, a) for (d, _), a in zip(old, new, strict=True) if a])


def vary_commitment(*, reference: str, new_amount_pence: int, user: User, reason: str) -> Commitment:
    """Change a commitment's amount. An increase needs headroom (:class:`InsufficientFunds` otherwise); a decrease
    cannot go below what is already paid. The change is spread over the practices and offers in proportion, and
    the spending schedule is rescaled."""
    if len(reason.strip()) < MIN_REASON:
        raise FundingError(f"Give a reason of at least {MIN_REASON} characters for the variation", "reason")
    if new_amount_pence <= 0:
        raise FundingError("A commitment cannot be varied to £0: cancel it instead (de-commit)", "amount")
    with transaction.atomic():
        commitment, budget = _locked_commitment(reference, user)
        if commitment.status != Commitment.Status.OPEN:
            raise FundingError(f"{reference} is cancelled")
        if PayeeCommitment.objects.filter(commitment=commitment).exists():
            # Rescaling would change tranches already paid: a payee's variation states its new tranches.
            raise FundingError(f"{reference} pays a payee in tranches: vary it with its new schedule", "schedule")
        delta = new_amount_pence - commitment.amount_pence
        if delta == 0:
            raise FundingError(f"{reference} is already {pounds(new_amount_pence)}")
        paid = commitment.paid_pence
        if new_amount_pence < paid:
            raise FundingError(f"{pounds(paid)} has already been paid against {reference}")
        _check(budget, Kind.VARIATION, delta)
        _change_amount(commitment, budget, Kind.VARIATION, delta, user, reason.strip())
        commitment.save()
    return commitment


def decommit(*, reference: str, user: User, reason: str, under_standing_decision: bool = False) -> Commitment:
    """Cancel a commitment: what is committed and not yet paid goes back to the budget's headroom.

    ``under_standing_decision`` as for :func:`commit_funds_together`: a practice withdrawing from a cohort place it
    accepted releases the place's commitment (``apps.cohorts``)."""
    if len(reason.strip()) < MIN_REASON:
        raise FundingError(f"Give a reason of at least {MIN_REASON} characters for cancelling", "reason")
    with transaction.atomic():
        commitment, budget = _locked_commitment(reference, user, under_standing_decision)
        if commitment.status != Commitment.Status.OPEN:
            raise FundingError(f"{reference} is already cancelled")
        if commitment.payments.filter(status=Payment.Status.REQUESTED).exists():
            raise FundingError(f"Approve or reject the payments awaiting approval on {reference} first")
        unpaid = commitment.amount_pence - commitment.paid_pence
        if unpaid:
            _check(budget, Kind.DECOMMITMENT, -unpaid)
            _change_amount(commitment, budget, Kind.DECOMMITMENT, -unpaid, user, reason.strip())
        commitment.status = Commitment.Status.CANCELLED
        commitment.save()
    return commitment
