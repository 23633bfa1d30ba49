"""An ICB brings in the budgets of its own schemes with its caseload (the XLSX's Budgets sheet): previewed row by row,
recorded first in the same all-or-nothing import, drawn on by the case rows of the same file, never a second time,
and never a national programme's budget (that is the national team's to set)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from analytics import money
from apps.caseload import sample, services
from apps.caseload.tests.conftest import OFFER, POUND, PROGRAMME
from apps.funding.models import Budget, Programme
from apps.funding.services import balances
from apps.funding.services.local import record_local_budget

pytestmark = pytest.mark.django_db
SCHEME = "LRS-TEST"


def _cases(free: list[str], today: date, programme: str, packages: int = 2, amount: str = "£20,000.00") -> list:
    rows = sample.caseload(
        free[:10], free, cases=4, packages=packages, programme=programme, fy=money.financial_year_of(today),
        offer=OFFER, today=today, prefix="BUD",
    )  # fmt: skip
    for r in rows[:packages]:
        r["amount"], r["paid"], r["invoice"] = amount, "", ""
    return rows


def _budget(today: date, code: str = SCHEME, amount: str = "£60,000.00") -> dict[str, str]:
    fy = money.fy_label(money.financial_year_of(today))
    return {"programme": code, "programme_name": "Local resilience scheme", "financial_year": fy, "amount": amount}


def _upload(user: Any, cases: list, budgets: list, name: str = "tracker.xlsx") -> Any:
    data = sample.as_xlsx(cases, budgets)
    return services.upload_file(icb=user.icb, user=user, filename=name, data=data)


def test_a_scheme_of_the_icbs_own_is_recorded_and_its_cases_draw_on_it_in_one_import(personas, free_practices, today):
    icb_a = personas["icb_a"]
    upload = _upload(icb_a, _cases(free_practices, today, SCHEME), [_budget(today)])
    seen = services.preview(upload)
    assert seen.plan is not None and [b.action for b in seen.plan.budgets] == ["create"]
    assert "£60,000.00 recorded as your ICB's own budget (a new scheme, funding the GPRP menu)" in (
        seen.plan.budgets[0].summary
    )
    assert not seen.plan.errors, [r.reasons for r in seen.plan.errors]
    assert not Programme.objects.filter(code=SCHEME).exists()  # the preview writes nothing

    services.commit_upload(upload=upload, user=icb_a)
    scheme = Programme.objects.get(code=SCHEME)
    assert scheme.owner_icb == icb_a.icb and scheme.menu == "GPRP"
    budget = Budget.objects.get(line__programme=scheme, icb=icb_a.icb)
    bal = balances([budget.pk])[budget.pk]
    assert (bal.allocated, bal.released, bal.committed) == (60_000 * POUND, 60_000 * POUND, 40_000 * POUND)

    again = _upload(icb_a, _cases(free_practices, today, SCHEME), [_budget(today)], name="tracker-again.xlsx")
    seen = services.preview(again)
    assert [b.action for b in seen.plan.budgets] == ["unchanged"]
    assert {r.action for r in seen.plan.rows} == {"unchanged"}


def test_the_cases_cannot_draw_more_than_the_sheet_records(personas, free_practices, today):
    upload = _upload(personas["icb_a"], _cases(free_practices, today, SCHEME, amount="£40,000.00"), [_budget(today)])
    seen = services.preview(upload)
    assert [r.number for r in seen.plan.errors] == [3]
    assert "would overdraw the LRS-TEST" in " ".join(seen.plan.errors[0].reasons)
    with pytest.raises(services.ImportRefused):
        services.commit_upload(upload=upload, user=personas["icb_a"])
    assert not Programme.objects.filter(code=SCHEME).exists()  # all or nothing: the budget is not recorded either


def test_a_national_programmes_budget_is_checked_not_set(personas, budget, free_practices, today):
    allocated = balances([budget.pk])[budget.pk].allocated
    same = _budget(today, code=PROGRAMME, amount=f"{allocated // POUND}")
    other = _budget(today, code=PROGRAMME, amount="£1.00")
    other["line"] = "Extra"
    seen = services.preview(_upload(personas["icb_a"], _cases(free_practices, today, PROGRAMME), [same, other]))
    assert [b.action for b in seen.plan.budgets] == ["unchanged", "error"]
    assert "IMPT is a national programme: its budgets are set by the national team" in seen.plan.budgets[1].reasons[0]
    with pytest.raises(services.ImportRefused, match="1 budget row in error"):
        services.commit_upload(upload=seen.upload, user=personas["icb_a"])


def test_another_icbs_scheme_and_bad_cells_are_refused_with_reasons(personas, free_practices, today):
    record_local_budget(
        user=personas["icb_b"], icb=personas["icb_b"].icb, code="THEIRS", name="B's scheme", menu="GPRP",
        line_name="Core", fy=money.financial_year_of(today), amount_pence=10_000 * POUND, source="test",
    )  # fmt: skip
    rows = [
        _budget(today, code="THEIRS"),
        {**_budget(today), "financial_year": "next year"},
        {**_budget(today), "amount": "lots"},
        {**_budget(today, code="NEW-ONE"), "menu": "XYZ"},
    ]
    seen = services.preview(_upload(personas["icb_a"], _cases(free_practices, today, SCHEME, packages=0), rows))
    reasons = [" ".join(b.reasons) for b in seen.plan.budgets]
    assert "THEIRS is another ICB's own scheme" in reasons[0]
    assert reasons[1].startswith("Financial year:")
    assert reasons[2].startswith("Budget:")
    assert "Say which menu of support the scheme funds" in reasons[3]


def test_only_the_icbs_own_team_records_its_budgets(personas, today):
    for name in ("national", "icb_b", "practice_x", "provider"):
        with pytest.raises(PermissionDenied):
            record_local_budget(
                user=personas[name], icb=personas["icb_a"].icb, code="NOPE", name="x", menu="GPRP", line_name="Core",
                fy=money.financial_year_of(today), amount_pence=POUND, source="test",
            )  # fmt: skip


def test_the_national_team_does_not_allocate_or_release_an_icbs_own_scheme(personas, today):
    from apps.funding import services as money_services
    from apps.funding.errors import FundingError
    from apps.funding.models import Formula

    budget = record_local_budget(
        user=personas["icb_a"], icb=personas["icb_a"].icb, code="OWN-1", name="Own", menu="GPRP", line_name="Core",
        fy=money.financial_year_of(today), amount_pence=5_000 * POUND, source="test",
    )  # fmt: skip
    with pytest.raises(FundingError, match="own scheme: its team records its budgets"):
        money_services.release_tranche(
            user=personas["national"], line=budget.line, fy=budget.fy, amount_pence=POUND, note="More money"
        )
    with pytest.raises(FundingError, match="own scheme"):
        money_services.confirm_allocation(
            user=personas["national"], line=budget.line, fy=budget.fy, amount_pence=POUND,
            formula=Formula.FIXED_SHARES, shares={"QHM": 1.0}, fingerprint="x",
        )  # fmt: skip
