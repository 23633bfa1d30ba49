"""The four-eyes decision, once for payments and virements (``apps.funding.models.FourEyesDecision``).

A request is decided once, by someone other than the person who made it, and a rejection says why. Callers check
who may decide at all (the ICB's team for a payment, the national team for a virement) and lock the budgets the
decision moves first; then :func:`lock_for_decision` locks the request row and applies the rule, and
:func:`settle` records the outcome with the decider and the time.
"""

from __future__ import annotations

from django.utils import timezone

from apps.accounts.models import User
from apps.funding.errors import FundingError
from apps.funding.models import FourEyesDecision
from apps.funding.services.ledger import MIN_REASON

Decision = FourEyesDecision.Decision


def lock_for_decision[D: FourEyesDecision](record: D, user: User, *, what: str, asked: str) -> D:
    """The request, locked (call inside a transaction), once it is known that ``user`` may decide it now: it is
    still awaiting a decision and ``user`` is not who ``asked`` for it (``"recorded"``, ``"asked for"``)."""
    locked = type(record)._default_manager.select_for_update().get(pk=record.pk)
    if locked.status != Decision.REQUESTED:
        raise FundingError(f"This {what} has already been decided")
    if locked.requested_by_id == user.pk:  # type: ignore[attr-defined]
        raise FundingError(f"A {what} is approved by someone other than the person who {asked} it")
    return locked


def check_reason(note: str, what: str) -> str:
    """A rejection needs a reason the requester can act on; the stripped reason."""
    if len(note.strip()) < MIN_REASON:
        raise FundingError(f"Give a reason of at least {MIN_REASON} characters for rejecting the {what}", "note")
    return note.strip()


def settle[D: FourEyesDecision](record: D, user: User, decision: str, note: str) -> D:
    """Record the decision on the locked request (``decision`` is approved or rejected)."""
    record.status = decision
    record.decided_by = user
    record.decided_at = timezone.now()
    record.decision_note = note.strip()
    record.save()
    return record
