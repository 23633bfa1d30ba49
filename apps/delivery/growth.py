"""Faculty growth: new members by quarter against the target of at least 100 over three years (GPDP faculty).

A "new member" joined through the apprenticeship route (``new_member``) on or after the programme start. The target
line is straight: 100 spread evenly over the twelve quarters. Change the constants here if the programme's dates or
target change; they are shown on the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from apps.delivery.models import FacultyMember, MemberRole, Stage

GROWTH_START = date(2025, 4, 1)  # ASSUMPTION: the growth programme starts with financial year 2025/26
GROWTH_TARGET = 100
GROWTH_QUARTERS = 12


@dataclass(frozen=True)
class Quarter:
    label: str
    start: date
    joined: int
    cumulative: int
    accredited_cumulative: int
    target_cumulative: float
    future: bool


@dataclass(frozen=True)
class Growth:
    quarters: list[Quarter]
    total_new: int
    accredited_new: int
    apprentices_by_stage: dict[str, int]
    target: int
    start: date

    @property
    def on_track(self) -> bool:
        past = [q for q in self.quarters if not q.future]
        return not past or past[-1].cumulative >= past[-1].target_cumulative

    @property
    def percent_of_target(self) -> float:
        return 100 * self.total_new / self.target


def quarter_starts(start: date, n: int) -> list[date]:
    out = []
    y, m = start.year, start.month
    for _ in range(n):
        out.append(date(y, m, 1))
        m += 3
        if m > 12:
            y, m = y + 1, m - 12
    return out


def _label(d: date) -> str:
    fy = d.year if d.month >= 4 else d.year - 1
    q = (d.month - 4) % 12 // 3 + 1
    return f"{fy}/{str(fy + 1)[2:]} Q{q}"


def faculty_growth(today: date | None = None) -> Growth:
    today = today or timezone.localdate()
    bounds = quarter_starts(GROWTH_START, GROWTH_QUARTERS + 1)
    starts = bounds[:-1]
    members = list(
        FacultyMember.objects.filter(new_member=True, joined_on__gte=GROWTH_START).values_list(
            "joined_on", "accredited_on"
        )
    )
    quarters = []
    for i, s in enumerate(starts):
        end = bounds[i + 1]
        joined = sum(1 for j, _ in members if s <= j < end)
        cumulative = sum(1 for j, _ in members if j < end)
        accredited = sum(1 for _, a in members if a is not None and a < end)
        quarters.append(
            Quarter(
                label=_label(s),
                start=s,
                joined=joined,
                cumulative=cumulative,
                accredited_cumulative=accredited,
                target_cumulative=round(GROWTH_TARGET * (i + 1) / GROWTH_QUARTERS, 1),
                future=s > today,
            )
        )
    stages = {
        st.label: FacultyMember.objects.filter(role=MemberRole.APPRENTICE, active=True, stage=st.value).count()
        for st in Stage
    }
    return Growth(
        quarters=quarters,
        total_new=len(members),
        accredited_new=sum(1 for _, a in members if a is not None),
        apprentices_by_stage=stages,
        target=GROWTH_TARGET,
        start=GROWTH_START,
    )
