"""Caseload import fixtures: a programme with released money for ICB A, and ICB A's practices without an open case."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.utils import timezone

from analytics.money import financial_year_of
from apps.cases.models import OPEN, Case
from apps.funding import services
from apps.funding.models import Budget, Formula
from apps.pages.testing import ICB_A, ICB_B
from apps.practices.models import Practice, PracticeStatus

POUND = 100
PROGRAMME = "IMPT"
OFFER = "gprp-management-advice"


@pytest.fixture
def today() -> date:
    return timezone.localdate()


@pytest.fixture
def budget(personas: dict[str, Any], today: date) -> Budget:
    """£200,000 for ICB A this year, of which £150,000 released (so £150,000 can be committed)."""
    national = personas["national"]
    fy = financial_year_of(today)
    programme = services.create_programme(
        user=national,
        code=PROGRAMME,
        name="Import test programme",
        menu="GPRP",
        lines=[services.LineSpec("core", "Core", "CC01", "5210", {fy: 400_000 * POUND})],
    )
    line = programme.lines.get()
    shares = {ICB_A: 1.0, ICB_B: 1.0}
    preview = services.preview_allocation(
        line=line, fy=fy, amount_pence=400_000 * POUND, formula=Formula.FIXED_SHARES, shares=shares
    )
    services.confirm_allocation(
        user=national, line=line, fy=fy, amount_pence=400_000 * POUND, formula=Formula.FIXED_SHARES,
        shares=shares, fingerprint=preview.fingerprint,
    )  # fmt: skip
    services.release_tranche(user=national, line=line, fy=fy, amount_pence=300_000 * POUND, note="Test tranche")
    return Budget.objects.get(line=line, fy=fy, icb__code=ICB_A)


@pytest.fixture
def free_practices(personas: dict[str, Any]) -> list[str]:
    """ICB A's open practices without an open case (an import may open one each)."""
    busy = set(Case.objects.filter(status__in=OPEN).values_list("practice_id", flat=True))
    codes = Practice.objects.filter(icb__code=ICB_A, status=PracticeStatus.ACTIVE).order_by("code")
    return [p.code for p in codes if p.pk not in busy]
