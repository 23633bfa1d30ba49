"""The scoring command stores versioned runs; exactly one is current; old runs stay readable."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.management import call_command

from apps.indicators.models import PracticeScore, ScoringRun

pytestmark = pytest.mark.django_db


def test_a_new_run_becomes_current_and_the_old_one_stays_readable():
    old = ScoringRun.objects.get(is_current=True)
    call_command("score_practices", as_of=date(2024, 4, 1), stdout=io.StringIO())
    new = ScoringRun.objects.get(is_current=True)
    assert new.pk != old.pk and new.as_of == date(2024, 4, 1)
    old.refresh_from_db()
    assert not old.is_current and PracticeScore.objects.filter(run=old).count() == old.practice_count
    assert new.data_periods and new.definitions_sha256 == old.definitions_sha256


def test_if_stale_does_nothing_when_the_current_run_is_up_to_date():
    out = io.StringIO()
    # One as-of date for both calls: by default each call reads today's date, and a run passing midnight between
    # them scored the new day again (docs/testing.md, "Flakes fixed").
    today = date.today()
    call_command("score_practices", if_stale=True, as_of=today, stdout=out)
    call_command("score_practices", if_stale=True, as_of=today, stdout=out)
    assert "up to date" in out.getvalue()
    assert ScoringRun.objects.filter(as_of=today).count() == 1


def test_an_earlier_as_of_date_uses_only_earlier_data():
    call_command("score_practices", as_of=date(2023, 4, 1), stdout=io.StringIO())
    run = ScoringRun.objects.get(is_current=True)
    later = ("2023-24", "2024-25", "2023/24", "2024/25", "2025-04", "Apr 2025")
    for period in run.data_periods.values():
        assert not any(x in period for x in later), run.data_periods
    # CQC ratings come from the April 2024 file, but only ratings published before the as-of date are used
    assert "published" in run.data_periods["cqc_rating"]


def test_dormant_practices_are_out_of_the_current_run():
    from apps.practices.models import Practice, PracticeStatus

    run = ScoringRun.objects.get(is_current=True)
    dormant = Practice.objects.filter(status=PracticeStatus.DORMANT)
    assert dormant.count() > 100  # ODS 2025 lists a few hundred dormant English codes without a close date
    assert dormant.filter(close_date__isnull=True).exists()
    assert not PracticeScore.objects.filter(run=run, practice__in=dormant).exists()
    # scored from today's ODS snapshot: every active practice is in it
    active = Practice.objects.filter(status=PracticeStatus.ACTIVE).count()
    assert run.practice_count >= active - 5
