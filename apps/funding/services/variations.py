"""Varying a decision across its budgets: each budget's commitment restated to its new lines, all or nothing.

A variation never edits a ledger entry: for every (practice, offer) cell whose amount changes it writes a new
VARIATION entry of the difference (a DE-COMMITMENT when a budget's part falls to £0, a COMMITMENT when a budget is
new to the decision). Every budget is locked first in id order (as :func:`commit_funds_together` does, so a
variation and an approval sharing budgets queue rather than deadlock), every budget's net change is checked
against its headroom, and a part cannot fall below what is already paid or awaiting payment against it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Sum

from analytics import money
from analytics.money import Kind
from apps.accounts.models import User
from apps.core import audit
from apps.funding.errors import FundingError
from apps.funding.models import Budget, Commitment, LedgerEntry, Payment
from apps.funding.policy import can_act_on_budget
from apps.funding.services.commitments import (
    CommitPart,
    PartShortfall,
    _cells,
    _schedule_json,
    _store_cells,
    _write_commitment,
    clean_parts,
)
from apps.funding.services.ledger import MIN_REASON, InsufficientFunds, _check, _lock, pounds


def _target_cells(part: CommitPart) -> dict[tuple[str, str], int]:
    if part.payee is not None:  # one cell naming no practice and no offer, as when it was committed
        return {("", ""): part.amount_pence}
    recips = list(part.recipients)
    offers = list(part.offers.items())
    table = money.cross_split([p for _, p in recips], [p for _, p in offers])
    return {
        (practice, offer): cell
        for (practice, _), row in zip(recips, table, strict=True)
        for (offer, _), cell in zip(offers, row, strict=True)
        if cell
    }


def vary_together(
    parts: Sequence[CommitPart], *, drop: Sequence[str] = (), user: User, reason: str
) -> list[Commitment]:
    """Restate a decision's commitments: each part is a budget's new share (its commitment found by reference, or
    made if the budget is new to the decision); each reference in ``drop`` falls to £0 and is cancelled.

    Raises :class:`PartShortfall` naming the part whose budget lacks the headroom for its increase, and
    ``FundingError`` when a part would fall below what is paid or awaiting payment. Nothing is written unless
    every part can be.
    """
    if len(reason.strip()) < MIN_REASON:
        raise FundingError(f"Give a reason of at least {MIN_REASON} characters for the variation", "reason")
    if len({p.budget.pk for p in parts}) != len(parts):
        raise FundingError("A budget appears twice in one variation: put its lines together")
    for part in parts:
        if not can_act_on_budget(user, part.budget.icb):
            raise PermissionDenied("only the ICB's own team changes its commitments")
    cleaned = clean_parts(parts)  # every part's input checked once, before anything is locked
    memo = reason.strip()
    out: list[Commitment] = []
    with transaction.atomic():
        existing = {
            c.reference: c
            for c in Commitment.objects.filter(reference__in=[*(p.reference for p in parts), *drop]).select_related(
                "budget__icb"
            )
        }
        if any(not can_act_on_budget(user, c.budget.icb) for c in existing.values()):
            raise PermissionDenied("only the ICB's own team changes its commitments")
        locked = _lock([*(p.budget.pk for p in parts), *(c.budget_id for c in existing.values())])
        current = {ref: Commitment.objects.select_for_update().get(pk=c.pk) for ref, c in sorted(existing.items())}
        for part in parts:
            c = current.get(part.reference)
            if c is not None and (c.budget_id != part.budget.pk or c.status != Commitment.Status.OPEN):
                raise FundingError(f"{part.reference} is not an open commitment on {part.budget}")
        movement = uuid.uuid4()
        # Check every budget's net change first, so a refusal leaves nothing written.
        for part in parts:
            c = current.get(part.reference)
            delta = part.amount_pence - (c.amount_pence if c else 0)
            if c is not None:
                _refuse_below_paid(c, part.amount_pence)
            if delta:
                try:
                    _check(locked[part.budget.pk], Kind.VARIATION if c else Kind.COMMITMENT, delta)
                except InsufficientFunds as e:
                    raise PartShortfall(part, e) from e
        for ref in drop:
            c = current.get(ref)
            if c is None or c.status != Commitment.Status.OPEN:
                continue
            _refuse_below_paid(c, 0)
            out.append(_restate(c, locked[c.budget_id], {}, Kind.DECOMMITMENT, movement, user, memo, []))
        for part, clean in cleaned:
            c = current.get(part.reference)
            if c is None:
                out.append(_write_commitment(locked[part.budget.pk], part, *clean, movement, user, memo))
            else:
                plan = clean[2]
                out.append(
                    _restate(c, locked[c.budget_id], _target_cells(part), Kind.VARIATION, movement, user, memo, plan)
                )
    return out


def _refuse_below_paid(c: Commitment, new_amount: int) -> None:
    paid = c.paid_pence
    pending = int(c.payments.filter(status=Payment.Status.REQUESTED).aggregate(t=Sum("amount_pence"))["t"] or 0)
    if new_amount < paid + pending:
        raise FundingError(
            f"{c.reference} cannot go below {pounds(paid + pending)}: that much is paid or awaiting payment",
            "amount",
        )


def _restate(
    c: Commitment,
    budget: Budget,
    target: dict[tuple[str, str], int],
    kind: Kind,
    movement: uuid.UUID,
    user: User,
    memo: str,
    plan: Sequence[tuple[date, int]],
) -> Commitment:
    """Write the difference between the commitment's cells and ``target`` as new entries; store the new totals."""
    cells = _cells(c)
    keys = sorted(set(cells) | set(target))
    diffs = [(k, target.get(k, 0) - cells.get(k, 0)) for k in keys]
    audit.bulk_create(
        LedgerEntry,
        [
            LedgerEntry(
                budget=budget,
                kind=kind,
                amount_pence=d,
                movement=movement,
                reference=c.reference,
                practice_code=k[0],
                offer_code=k[1],
                commitment=c,
                memo=memo[:500],
                created_by=user,
            )
            for k, d in diffs
            if d
        ],
    )
    _store_cells(c, target)
    c.amount_pence = sum(target.values())
    if c.amount_pence == 0:
        c.status = Commitment.Status.CANCELLED
    else:
        c.schedule = _schedule_json(plan)
    c.save()
    return c
