"""The case lifecycle as a plain transition table: which status may follow which, and who may make the move.

Moves that need something done first (a triage decision, an agreed plan, an approved package) are made by the
service that does that thing (``triage_case``, ``agree_plan``, ``approve_package``); the table still lists them, so
there is one place to read the whole machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings

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
    todo: str = ""  # set on the moves that a case waits for: "waiting for me" lists them, worded for the role
    needs: str = ""  # what must be true of the case besides its status (a key of NEEDS); its service checks it


_ICB = frozenset({Role.ICB})
_ICB_OR_PRACTICE = frozenset({Role.ICB, Role.PRACTICE})

_BEFORE_MONEY = (S.REFERRED, S.TRIAGED, S.DIAGNOSIS, S.PLAN_AGREED)
_AGREE = "Agree your action plan"

# The practice health check is a step, not a move: done once the case is triaged, and again at review.
HEALTH_CHECK_STATUSES = (S.TRIAGED, S.DIAGNOSIS, S.PLAN_AGREED, S.REVIEW)


@dataclass(frozen=True)
class Facts:
    """What the rules need to know about a case besides its status. The services read it for one case; "waiting
    for me" reads it for all of a user's cases in one query (``apps.cases.services.waiting``)."""

    plan_written: bool = False  # the action plan has at least one action
    package_submitted: bool = False  # a package awaits the ICB team's decision
    health_check_due: bool = False  # no health check submitted yet (at review: none since the review began)


@dataclass(frozen=True)
class Need:
    refusal: str  # what the service says when the move is tried too early
    first: str = ""  # the step that makes it true, for "waiting for me" (empty: nothing the role can do)


NEEDS: dict[str, Need] = {
    "plan_written": Need(
        "There is no plan to agree yet: add at least one goal with an action.",
        "Write your action plan (with the ICB team if you wish)",
    ),
    "package_submitted": Need("There is no package awaiting approval."),
}

TRANSITIONS: tuple[Transition, ...] = (
    Transition(S.REFERRED, S.TRIAGED, "Triage", _ICB, via="triage", todo="Triage this referral"),
    Transition(S.TRIAGED, S.TRIAGED, "Re-triage", _ICB, via="triage"),
    Transition(S.TRIAGED, S.DIAGNOSIS, "Start diagnosis", _ICB),
    # A practice that agrees its plan straight after triage has, in effect, done its diagnosis: agreeing records this
    # step first (quietly: the practice and team are told once, of the agreement).
    Transition(
        S.TRIAGED,
        S.DIAGNOSIS,
        "Diagnosis done with the plan",
        frozenset({Role.PRACTICE}),
        via="agree_plan",
        todo=_AGREE,
        needs="plan_written",
    ),
    Transition(
        S.DIAGNOSIS,
        S.PLAN_AGREED,
        "Agree the action plan",
        frozenset({Role.PRACTICE}),
        via="agree_plan",
        todo=_AGREE,
        needs="plan_written",
    ),
    Transition(S.PLAN_AGREED, S.DIAGNOSIS, "Reopen the plan", _ICB_OR_PRACTICE, needs_reason=True),
    Transition(
        S.PLAN_AGREED,
        S.APPROVED,
        "Approve the package",
        _ICB,
        via="approve_package",
        todo="Approve or refuse the package",
        needs="package_submitted",
    ),
    Transition(
        S.APPROVED, S.IN_DELIVERY, "Start delivery", frozenset({Role.ICB, Role.PROVIDER}), todo="Start delivery"
    ),
    Transition(S.IN_DELIVERY, S.REVIEW, "Start the six-monthly review", _ICB),
    Transition(S.REVIEW, S.IN_DELIVERY, "Continue delivery after review", _ICB, needs_reason=True),
    # The ICB team may close a case from any open status, with a reason from CLOSE_REASONS (the close page's
    # list) and its own words; what approved packages committed and did not spend is released (casework).
    *(Transition(s, S.CLOSED, "Close the case", _ICB, needs_reason=True) for s in OPEN),
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

# Why a case is closed: the close page's short list; the chosen label leads the reason kept on the timeline.
CLOSE_REASONS: dict[str, str] = {
    "goals_met": "The goals of the action plan are met",
    "stable": "The practice is stable without further support",
    "support_elsewhere": "Support is arranged elsewhere",
    "no_engagement": "The practice is no longer taking part",
    "merged_or_closed": "The practice has merged or closed",
    "other": "Another reason",
}

# Reopening a closed case is a second life, not a step of the first: it is kept apart from TRANSITIONS (whose ended
# statuses stay final for every plain move) and made only through its own step (``reopen_case``), by the ICB team,
# with a rationale, within ``reopen_window()`` of the closure. A case closed before any money was committed returns
# to the status it was closed from; one closed after approval returns to "plan agreed", because closing released
# its unspent money: further support is a new package, approved against the budget again.
REOPENINGS: tuple[Transition, ...] = tuple(
    Transition(S.CLOSED, s, "Reopen the case", _ICB, needs_reason=True, via="reopen") for s in _BEFORE_MONEY
)
REOPEN_WINDOW_DAYS = 90  # the default; settings.CASE_REOPEN_WINDOW_DAYS overrides it


def reopen_window() -> timedelta:
    """How long after its closure a case may be reopened (``settings.CASE_REOPEN_WINDOW_DAYS``, default 90)."""
    return timedelta(days=int(getattr(settings, "CASE_REOPEN_WINDOW_DAYS", REOPEN_WINDOW_DAYS)))


def reopen_target(closed_from: str) -> Status:
    """The status a closed case returns to, given the status it was closed from."""
    src = Status(closed_from) if closed_from in Status.values else S.PLAN_AGREED
    return src if src in _BEFORE_MONEY else S.PLAN_AGREED


def check_reopen(target: str, role: str, *, reason: str = "") -> Transition:
    """The reopening to ``target`` if ``role`` may make it; :class:`IllegalTransition` if not (the window and the
    practice's other open case are the service's to check: they are facts of the case, not of the table)."""
    t = next((x for x in REOPENINGS if x.target == target), None)
    if t is None:
        raise IllegalTransition("A closed case reopens before approval or at “plan agreed”.")
    if role not in t.roles:
        raise IllegalTransition(f"“{t.label}” is for {' or '.join(Role(r).label for r in sorted(t.roles))}.")
    if not reason.strip():
        raise MissingReason(f"“{t.label}” needs a rationale.")
    return t


_BY_PAIR: dict[tuple[Status, Status], list[Transition]] = {}
for _t in TRANSITIONS:
    _BY_PAIR.setdefault((_t.source, _t.target), []).append(_t)


class IllegalTransition(Exception):
    """A move the lifecycle does not allow, or not for this user; the message says why in words."""


class MissingReason(IllegalTransition):
    """A move that needs a reason, tried without one (the reason box is at fault)."""


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
        raise MissingReason(f"“{t.label}” needs a reason.")
    return t


def unmet(t: Transition, facts: Facts) -> Need | None:
    """The need of ``t`` that the case does not meet yet, if any (the service refuses with its ``refusal``)."""
    if t.needs and not getattr(facts, t.needs):
        return NEEDS[t.needs]
    return None


def todos(status: str) -> list[Transition]:
    """The moves a case in this status waits for (each with its ``roles``)."""
    if Status(status) in ENDED:
        return []
    return [t for t in TRANSITIONS if t.source == status and t.todo]


def moves_for(status: str, role: str) -> list[Transition]:
    """Plain status changes (no ``via``) this role may make from this status: the buttons on the case page."""
    if Status(status) in ENDED:
        return []
    return [t for t in TRANSITIONS if t.source == status and role in t.roles and not t.via]
