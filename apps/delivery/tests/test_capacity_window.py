"""A capacity check reads only the months of the package being checked, so it loads only the assignments that put
hours in those months (not an ICB's years of finished work), and the answer is the same as spreading every one."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from apps.delivery import eligibility
from apps.delivery.models import Assignment
from apps.delivery.tests.test_assignment import coaching_line

pytestmark = pytest.mark.django_db

WINDOW = (date(2026, 4, 15), date(2026, 9, 10))  # its months: April to September 2026
SPANS = [
    (date(2024, 4, 1), date(2025, 3, 31)),  # two years before: no hours in the window
    (date(2025, 4, 1), date(2026, 3, 31)),  # ends the day before April: none
    (date(2025, 4, 1), date(2026, 4, 1)),  # ends on 1 April: April gets its share
    (date(2026, 9, 30), date(2027, 3, 31)),  # starts late in September: its first month is September
    (date(2026, 10, 1), date(2027, 3, 31)),  # starts in October: none
    (date(2026, 5, 1), date(2026, 5, 31)),  # inside
    (date(2025, 1, 1), date(2027, 12, 31)),  # across the whole window
]


def brute_force(starts: date, ends: date) -> bool:
    """Whether the assignment's months (its start's month to its end) meet the window's, by listing them."""
    mine = set(eligibility.months_between(starts, ends))
    return bool(mine & set(eligibility.months_between(*WINDOW)))


def test_only_assignments_with_hours_in_the_windows_months_are_read(personas, approved_x, coach):
    line = coaching_line(approved_x)
    made = [
        Assignment.objects.create(  # ended, so a line may hold several; the window ignores whether they are live
            case=approved_x,
            line=line,
            member=coach,
            organisation=coach.organisation,
            hours=12,
            starts=s,
            ends=e,
            assigned_by=personas["icb_a"],
            ended_at=timezone.now(),
        )
        for s, e in SPANS
    ]
    within = eligibility._assignments_within(Assignment.objects.filter(pk__in=[a.pk for a in made]), WINDOW)
    assert {a.pk for a in within} == {a.pk for a in made if brute_force(a.starts, a.ends)}
    assert len(within) == 4


def test_a_windowed_load_equals_the_full_load_in_the_windows_months(personas, approved_x, coach):
    """What member_loads spreads with and without the window (the assignments are ended so that one line can hold
    them all; member_loads itself reads the live ones)."""
    line = coaching_line(approved_x)
    for i, (s, e) in enumerate(SPANS):
        Assignment.objects.create(
            case=approved_x,
            line=line,
            member=coach,
            organisation=coach.organisation,
            hours=10 + i,
            starts=s,
            ends=e,
            assigned_by=personas["icb_a"],
            ended_at=timezone.now(),
        )
    qs = Assignment.objects.filter(line=line)
    every = eligibility._spread(qs, "member_id")[coach.pk]
    windowed = eligibility._spread(eligibility._assignments_within(qs, WINDOW), "member_id")[coach.pk]
    months = eligibility.months_between(*WINDOW)
    assert [round(windowed.get(m, 0.0), 9) for m in months] == [round(every.get(m, 0.0), 9) for m in months]
    assert all(every.get(m) for m in months) and set(windowed) < set(every)  # and less was spread
