"""Money fixtures: a small programme of our own, allocated to ICB A by fixed shares and partly released."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from analytics.money import financial_year_of
from apps.accounts.models import Role, User
from apps.funding import services
from apps.funding.models import Budget, Formula, FundingLine
from apps.pages.testing import ICB_A
from apps.practices.models import Practice, PracticeStatus

POUND = 100


def make_line(
    national: User, code: str = "TEST", fy: int | None = None, total: int = 100_000 * POUND, menu: str = "GPRP"
) -> FundingLine:
    fy = fy or financial_year_of(timezone.localdate())
    programme = services.create_programme(
        user=national,
        code=code,
        name=f"Test programme {code}",
        menu=menu,
        lines=[services.LineSpec("core", "Core", "CC01", "5210", {fy: total})],
    )
    return programme.lines.get()


def allocate_to(national: User, line: FundingLine, shares: dict[str, float], amount: int | None = None) -> None:
    fy = line.years.get().fy
    amount = amount or line.total_pence
    preview = services.preview_allocation(
        line=line, fy=fy, amount_pence=amount, formula=Formula.FIXED_SHARES, shares=shares
    )
    services.confirm_allocation(
        user=national,
        line=line,
        fy=fy,
        amount_pence=amount,
        formula=Formula.FIXED_SHARES,
        shares=shares,
        fingerprint=preview.fingerprint,
    )


@pytest.fixture
def line(personas: dict[str, Any]) -> FundingLine:
    """£100,000 this year, all to ICB A, £40,000 released."""
    line = make_line(personas["national"])
    allocate_to(personas["national"], line, {ICB_A: 1})
    services.release_tranche(
        user=personas["national"], line=line, fy=line.years.get().fy, amount_pence=40_000 * POUND, note="First £40k"
    )
    return line


@pytest.fixture
def budget(line: FundingLine) -> Budget:
    return Budget.objects.select_related("icb", "line__programme").get(line=line, icb__code=ICB_A)


@pytest.fixture
def practices_a() -> list[str]:
    return list(
        Practice.objects.filter(icb__code=ICB_A, status=PracticeStatus.ACTIVE)
        .order_by("code")
        .values_list("code", flat=True)[:3]
    )


@pytest.fixture
def colleague_a(personas: dict[str, Any]) -> User:
    """A second member of ICB A's team, to approve what the first records."""
    return User.objects.create_user(
        username="t-icb_a2", password="x-test-password-1", role=Role.ICB, icb=personas["icb_a"].icb
    )


def commit(budget: Budget, user: User, practices: list[str], amount: int, reference: str, **kw: Any) -> Any:
    return services.commit_funds(
        budget=budget,
        amount_pence=amount,
        reference=reference,
        user=user,
        recipients=kw.pop("recipients", [(practices[0], amount)]),
        offers=kw.pop("offers", {"gprp-diagnostic": amount}),
        **kw,
    )
