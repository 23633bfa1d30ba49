"""Stage clocks: how long a case has been in its stage, in working days, against a target for that stage.

The targets are data (``clocks.toml``: each with its source and rationale); an ICB lead may set its own
(:class:`apps.cases.models.ClockTarget`, newest row per ICB and key wins, older rows are the history). Working days
leave out weekends and the England and Wales bank holidays in ``bank_holidays.toml`` (shipped with the code, never
fetched). The triage clock runs from the case's opening and its target depends on the referral's urgency; every
other clock runs from the day the case entered its stage.

A clock is *breached* once today is past its due date: a target of 2 working days on a case opened on a Monday is
due on Wednesday and breached on Thursday. Ended cases have no clock.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path

from django.db.models import QuerySet
from django.utils import timezone

from apps.accounts.models import User
from apps.cases.models import OPEN, Case, ClockTarget, Status
from apps.core.errors import DomainError

HERE = Path(__file__).parent
MAX_TARGET_DAYS = 260  # a working year: a longer target is a typing slip, not a standard


@dataclass(frozen=True)
class Target:
    key: str
    stage: str
    urgency: str  # "" unless the target is one urgency's triage clock
    label: str
    working_days: int
    source: str
    rationale: str


@dataclass(frozen=True)
class Holidays:
    days: frozenset[date]
    covered_until: date
    source: str


@dataclass(frozen=True)
class Clock:
    key: str
    label: str
    started: date
    due: date
    target_days: int
    elapsed_days: int  # working days since the start, the start day not counted
    today: date

    @property
    def breached(self) -> bool:
        return self.today > self.due

    @property
    def days_late(self) -> int:
        return max(0, self.elapsed_days - self.target_days)

    @property
    def days_left(self) -> int:
        return max(0, self.target_days - self.elapsed_days)


@dataclass(frozen=True)
class Breach:
    case_id: int
    icb_id: int
    practice_id: int
    status: str
    clock: Clock


@cache
def default_targets() -> tuple[Target, ...]:
    data = tomllib.loads((HERE / "clocks.toml").read_text(encoding="utf-8"))
    targets = tuple(
        Target(
            t["key"],
            t["stage"],
            t.get("urgency", ""),
            t["label"],
            int(t["working_days"]),
            t["source"],
            t["rationale"],
        )
        for t in data["target"]
    )
    keys = [t.key for t in targets]
    if len(set(keys)) != len(keys):
        raise ValueError("clocks.toml: a target key is used twice")
    open_stages = {str(s) for s in OPEN}
    covered = {t.stage for t in targets}
    if covered != open_stages:
        raise ValueError(f"clocks.toml: targets must cover exactly the open stages, missing {open_stages - covered}")
    return targets


def target_by_key() -> dict[str, Target]:
    return {t.key: t for t in default_targets()}


@cache
def holidays() -> Holidays:
    data = tomllib.loads((HERE / "bank_holidays.toml").read_text(encoding="utf-8"))
    return Holidays(frozenset(d["date"] for d in data["day"]), data["covered_until"], data["source"])


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in holidays().days


def add_working_days(start: date, n: int) -> date:
    """The date ``n`` working days after ``start`` (``start`` itself not counted)."""
    day = start
    while n > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            n -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end`` is not after ``start``)."""
    if end <= start:
        return 0
    days = (end - start).days
    weeks, rest = divmod(days, 7)
    count = weeks * 5
    for i in range(1, rest + 1):
        if (start + timedelta(days=i)).weekday() < 5:
            count += 1
    hol = holidays().days
    return count - sum(1 for h in hol if start < h <= end and h.weekday() < 5)


def targets_for_icbs(icb_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Working-day targets per ICB: the defaults, overridden by each ICB's newest setting per key (one query)."""
    base = {t.key: t.working_days for t in default_targets()}
    out = {i: dict(base) for i in icb_ids}
    rows = (
        ClockTarget.objects.filter(icb_id__in=list(out), key__in=list(base))
        .order_by("icb_id", "key", "-set_at", "-pk")
        .values_list("icb_id", "key", "working_days")
    )
    seen: set[tuple[int, str]] = set()
    for icb_id, key, days in rows:
        if (icb_id, key) not in seen:
            seen.add((icb_id, key))
            out[icb_id][key] = days
    return out


def targets_for(icb_id: int) -> dict[str, int]:
    return targets_for_icbs([icb_id])[icb_id]


def clock_key(status: str, urgency: str) -> str | None:
    """Which target times a case in this stage (None for an ended case)."""
    for t in default_targets():
        if t.stage == status and (not t.urgency or t.urgency == urgency):
            return t.key
    return None


def _local_date(at: datetime) -> date:
    return timezone.localtime(at).date()


def clock_of(
    status: str, urgency: str, opened_at: datetime, status_changed_at: datetime, targets: dict[str, int], today: date
) -> Clock | None:
    key = clock_key(status, urgency)
    if key is None:
        return None
    started = _local_date(opened_at if status == Status.REFERRED else status_changed_at)
    days = targets[key]
    return Clock(
        key,
        target_by_key()[key].label,
        started,
        add_working_days(started, days),
        days,
        working_days_between(started, today),
        today,
    )


def clock_for(case: Case, today: date | None = None) -> Clock | None:
    """The running clock of one case (its ICB's targets), or None once the case has ended."""
    if not case.is_open:
        return None
    return clock_of(
        case.status,
        case.urgency,
        case.opened_at,
        case.status_changed_at,
        targets_for(case.icb_id),
        today or timezone.localdate(),
    )


def clocks_of(cases: QuerySet[Case], today: date | None = None) -> list[Breach]:
    """Every open case of ``cases`` with its clock, most overdue first, in two queries however many cases (only
    the columns a clock needs are read)."""
    today = today or timezone.localdate()
    rows = list(
        cases.filter(status__in=OPEN)
        .order_by()
        .values_list("pk", "icb_id", "practice_id", "status", "urgency", "opened_at", "status_changed_at")
    )
    targets = targets_for_icbs({r[1] for r in rows})
    out = []
    for pk, icb_id, practice_id, status, urgency, opened, changed in rows:
        clock = clock_of(status, urgency, opened, changed, targets[icb_id], today)
        if clock is not None:
            out.append(Breach(pk, icb_id, practice_id, status, clock))
    out.sort(key=lambda b: (-b.clock.days_late, b.clock.due, b.case_id))
    return out


def breaches(cases: QuerySet[Case], today: date | None = None) -> list[Breach]:
    """The open cases of ``cases`` whose clock is past its due date, most late first."""
    return [b for b in clocks_of(cases, today) if b.clock.breached]


def set_target(icb_id: int, key: str, working_days: int, by: User) -> ClockTarget | None:
    """Record an ICB's own target for one clock (a new row: the earlier settings stay as history). Setting the value
    already in force records nothing and returns None."""
    if key not in target_by_key():
        raise DomainError("Choose one of the listed clocks.", field="key")
    if not 1 <= working_days <= MAX_TARGET_DAYS:
        raise DomainError(f"Enter a whole number of working days from 1 to {MAX_TARGET_DAYS}.", field=key)
    if targets_for(icb_id)[key] == working_days:
        return None
    return ClockTarget.objects.create(icb_id=icb_id, key=key, working_days=working_days, set_by=by)
