"""The case lifecycle as a plain transition table: which status may follow which, and who may make the move.

Moves that need something done first (a triage decision, an agreed plan, an approved package) are made by the
service that does that thing (``triage_case``, ``agree_plan``, ``approve_package``); the table still lists them, so
there is one place to read the whole machine.
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.accounts.models import Role
from apps.cases.models import ENDED, OPEN, Status

S = Status


@dataclass(frozen=True)
class Transition:
    source: Status
    target: Status
    label: str
    roles: frozenset[str]
    needs_reason: bool = False
    via: str = ""  # the service that makes this move, when it is not a plain status change


_ICB = frozenset({Role.ICB})
_ICB_OR_PRACTICE = frozenset({Role.ICB, Role.PRACTICE})

_BEFORE_MONEY = (S.REFERRED, S.TRIAGED, S.DIAGNOSIS, S.PLAN_AGREED)

TRANSITIONS: tuple[Transition, ...] = (
    Transition(S.REFERRED, S.TRIAGED, "Triage", _ICB, via="triage"),
    Transition(S.TRIAGED, S.TRIAGED, "Re-triage", _ICB, via="triage"),
    Transition(S.TRIAGED, S.DIAGNOSIS, "Start diagnosis", _ICB),
    # A practice that agrees its plan straight after triage has, in effect, done its diagnosis: agreeing records this
    # step first (quietly: the practice and team are told once, of the agreement).
    Transition(S.TRIAGED, S.DIAGNOSIS, "Diagnosis done with the plan", frozenset({Role.PRACTICE}), via="agree_plan"),
    Transition(S.DIAGNOSIS, S.PLAN_AGREED, "Agree the action plan", frozenset({Role.PRACTICE}), via="agree_plan"),
    Transition(S.PLAN_AGREED, S.DIAGNOSIS, "Reopen the plan", _ICB_OR_PRACTICE, needs_reason=True),
    Transition(S.PLAN_AGREED, S.APPROVED, "Approve the package", _ICB, via="approve_package"),
    Transition(S.APPROVED, S.IN_DELIVERY, "Start delivery", frozenset({Role.ICB, Role.PROVIDER})),
    Transition(S.IN_DELIVERY, S.REVIEW, "Start the six-monthly review", _ICB),
    Transition(S.REVIEW, S.IN_DELIVERY, "Continue delivery after review", _ICB, needs_reason=True),
    Transition(S.REVIEW, S.CLOSED, "Close the case", _ICB, needs_reason=True),
    *(
        Transition(s, S.DECLINED, "Decline", _ICB, needs_reason=True)
        for s in (S.REFERRED, S.TRIAGED, S.DIAGNOSIS, S.PLAN_AGREED)
    ),
    # Before approval the practice may withdraw; once money is committed, the ICB team withdraws (and releases it).
    *(
        Transition(s, S.WITHDRAWN, "Withdraw", _ICB_OR_PRACTICE if s in _BEFORE_MONEY else _ICB, needs_reason=True)
        for s in OPEN
    ),
)

_BY_PAIR: dict[tuple[Status, Status], list[Transition]] = {}
for _t in TRANSITIONS:
    _BY_PAIR.setdefault((_t.source, _t.target), []).append(_t)


class IllegalTransition(Exception):
    """A move the lifecycle does not allow, or not for this user; the message says why in words."""


def find(source: str, target: str, via: str = "") -> Transition | None:
    """The move between two statuses made through ``via`` (a service's own step), else the plain one, else any."""
    candidates = _BY_PAIR.get((Status(source), Status(target)), [])
    for wanted in (via, ""):
        for t in candidates:
            if t.via == wanted:
                return t
    return candidates[0] if candidates else None


def check(source: str, target: str, role: str, *, via: str = "", reason: str = "") -> Transition:
    """The transition if ``role`` may move a case from ``source`` to ``target``; :class:`IllegalTransition` if not."""
    src, dst = Status(source), Status(target)
    if src in ENDED:
        raise IllegalTransition(f"The case is {src.label.lower()}: it cannot change any more. Open a new referral.")
    t = find(src, dst, via)
    if t is None:
        nexts = ", ".join(x.target.label.lower() for x in TRANSITIONS if x.source == src and x.target != src)
        raise IllegalTransition(
            f"A case that is {src.label.lower()} cannot move to {dst.label.lower()}. Next: {nexts}."
        )
    if role not in t.roles:
        raise IllegalTransition(f"“{t.label}” is for {' or '.join(Role(r).label for r in sorted(t.roles))}.")
    if t.via and t.via != via:
        raise IllegalTransition(f"“{t.label}” happens through its own step ({t.via.replace('_', ' ')}), not directly.")
    if t.needs_reason and not reason.strip():
        raise IllegalTransition(f"“{t.label}” needs a reason.")
    return t


def moves_for(status: str, role: str) -> list[Transition]:
    """Plain status changes (no ``via``) this role may make from this status: the buttons on the case page."""
    if Status(status) in ENDED:
        return []
    return [t for t in TRANSITIONS if t.source == status and role in t.roles and not t.via]
