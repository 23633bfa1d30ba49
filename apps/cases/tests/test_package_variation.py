"""Issue 16 §3 (vary an approved package) and issue 17's Done-when: a GPRP + GPDP package for a group of practices
is approved in one decision against both budgets, varied, paid, and the ledger conserves in every budget."""

from __future__ import annotations

from typing import Any

import pytest

from analytics import money
from apps.accounts.models import Role, User
from apps.cases import services
from apps.cases.models import Case, CaseEvent, Package
from apps.funding import services as funding
from apps.funding.models import Budget, Commitment, LedgerEntry

from .test_one_decision_several_budgets import committed, gpdp_budget, gprp_budget, group_package

POUND = 100


def _approved(
    personas: dict[str, Any], case: Case, gpdp_released: int = 5_000 * POUND
) -> tuple[Package, Budget, Budget]:
    icb = personas["icb_a"]
    rp, dp = gprp_budget(case), gpdp_budget(personas["national"], gpdp_released)
    pkg = group_package(icb, case)
    services.approve_package(icb, pkg, "Panel approved", rp)
    pkg.refresh_from_db()
    return pkg, rp, dp


def _by_budget(pkg: Package) -> dict[int, Commitment]:
    return {c.budget_id: c for c in funding.commitments_under([pkg.ref])}


def _conserves(budget: Budget) -> money.Balance:
    """Every entry of the budget replayed with every check, and the totals the ledger reads agree."""
    entries = LedgerEntry.objects.filter(budget=budget).order_by("pk").values_list("kind", "amount_pence")
    replayed = money.replay((money.Kind(k), a) for k, a in entries)
    read = funding.balances([budget.pk])[budget.pk]
    assert replayed == read
    assert read.released == read.committed + read.headroom and read.headroom >= 0
    assert 0 <= read.spent <= read.committed
    return read


def test_group_package_across_two_programmes_approved_varied_paid_and_conserving(
    personas: dict[str, Any], agreed_x: Case
) -> None:
    icb = personas["icb_a"]
    pkg, rp, dp = _approved(personas, agreed_x)
    before = committed(rp), committed(dp)
    commitments = _by_budget(pkg)
    assert {c.amount_pence for c in commitments.values()} == {64_000, 120_000}
    entries_before = LedgerEntry.objects.count()

    # Vary: one more workforce unit, the Time for Care line re-priced to £1,000, HR advice added.
    services.vary_package(
        icb,
        pkg,
        [
            services.LineInput("gprp-workforce", 3),
            services.LineInput("gpdp-hia", 1, unit_cost_pence=100_000),
            services.LineInput("gprp-hr-advice", 1),
        ],
        "Panel agreed a third workforce session and the provider's lower price",
    )
    pkg.refresh_from_db()
    assert pkg.total_pence == 96_000 + 100_000 + 9_000
    assert committed(rp) - before[0] == 41_000 and committed(dp) - before[1] == -20_000
    varied = _by_budget(pkg)
    assert varied[rp.pk].offers == {"gprp-workforce": 96_000, "gprp-hr-advice": 9_000}
    assert varied[dp.pk].amount_pence == 100_000
    # Never edits: the original commitment entries are still there, the variation added new ones.
    assert LedgerEntry.objects.count() > entries_before
    assert LedgerEntry.objects.filter(commitment=varied[dp.pk], kind=money.Kind.VARIATION).exists()
    event = CaseEvent.objects.filter(case=agreed_x, kind=CaseEvent.Kind.PACKAGE).latest("pk")
    assert "varied from £1,840.00 to £2,050.00" in event.summary
    assert "Before: 2 × " in event.summary and "After: 3 × " in event.summary and "£1,000.00" in event.summary

    # Pay each budget's commitment (recorded by one member of the team, approved by another).
    colleague = User.objects.create_user(
        username="t-icb_a2-vary", password="x-test-password-1", role=Role.ICB, icb=icb.icb
    )
    for c, amount, offer in ((varied[rp.pk], 32_000, "gprp-workforce"), (varied[dp.pk], 100_000, "gpdp-hia")):
        payment = funding.record_payment(
            reference=c.reference,
            amount_pence=amount,
            kind="invoice",
            payee="Provider Ltd",
            invoice_number=f"INV-{c.pk}",
            offer_code=offer,
            user=icb,
        )
        funding.approve_payment(payment=payment, user=colleague)

    for budget in (rp, dp):
        _conserves(budget)
    assert funding.balances([dp.pk])[dp.pk].spent == 100_000


def test_a_variation_over_a_budgets_headroom_changes_nothing_and_names_the_line(
    personas: dict[str, Any], agreed_x: Case
) -> None:
    pkg, rp, dp = _approved(personas, agreed_x, gpdp_released=1_500 * POUND)  # £300 left on GPDP
    before = committed(rp), committed(dp), LedgerEntry.objects.count()
    with pytest.raises(services.CaseError) as refused:
        services.vary_package(
            personas["icb_a"],
            pkg,
            [services.LineInput("gprp-workforce", 3), services.LineInput("gpdp-hia", 2)],
            "Two Time for Care workshops after all",
        )
    assert "Time for Care improvement programme: £900.00 short" in refused.value.message
    assert str(dp) in refused.value.message
    assert (committed(rp), committed(dp), LedgerEntry.objects.count()) == before  # GPRP's increase not kept either
    pkg.refresh_from_db()
    assert pkg.total_pence == 184_000


def test_removing_a_programmes_lines_releases_its_budget(personas: dict[str, Any], agreed_x: Case) -> None:
    pkg, _, dp = _approved(personas, agreed_x)
    before = committed(dp)
    services.vary_package(
        personas["icb_a"], pkg, [services.LineInput("gprp-workforce", 2)], "The practice will not take up GPDP"
    )
    assert committed(dp) == before - 120_000
    assert _by_budget(pkg)[dp.pk].status == Commitment.Status.CANCELLED
    assert LedgerEntry.objects.filter(budget=dp, kind=money.Kind.DECOMMITMENT).exists()
    _conserves(dp)


def test_a_variation_cannot_go_below_what_is_paid(personas: dict[str, Any], agreed_x: Case) -> None:
    pkg, rp, _ = _approved(personas, agreed_x)
    c = _by_budget(pkg)[rp.pk]
    funding.record_payment(
        reference=c.reference,
        amount_pence=64_000,
        kind="invoice",
        payee="Provider Ltd",
        invoice_number="INV-ALL",
        offer_code="gprp-workforce",
        user=personas["icb_a"],
    )
    with pytest.raises(services.CaseError, match=r"cannot go below £640\.00"):
        services.vary_package(
            personas["icb_a"],
            pkg,
            [services.LineInput("gprp-workforce", 1), services.LineInput("gpdp-hia", 1)],
            "One workforce session is enough now",
        )


def test_variation_rules(personas: dict[str, Any], agreed_x: Case) -> None:
    pkg, _, _ = _approved(personas, agreed_x)
    lines = [services.LineInput("gprp-workforce", 2), services.LineInput("gpdp-hia", 1)]
    with pytest.raises(services.CaseError, match="Only the case's ICB team"):
        services.vary_package(personas["practice_x"], pkg, lines[:1], "We would like less support")
    with pytest.raises(services.CaseError, match="Say why"):
        services.vary_package(personas["icb_a"], pkg, lines[:1], "short")
    with pytest.raises(services.CaseError, match="Nothing changes"):
        services.vary_package(personas["icb_a"], pkg, lines, "Re-saving the same lines")
    with pytest.raises(services.CaseError, match=r"between £0\.01"):
        services.vary_package(
            personas["icb_a"],
            pkg,
            [services.LineInput("gprp-workforce", 2, unit_cost_pence=0)],
            "A price of nothing is a slip",
        )


def test_the_vary_page_varies_and_shows_every_refusal_at_its_box(
    personas: dict[str, Any], agreed_x: Case, client_for: Any
) -> None:
    pkg, rp, _ = _approved(personas, agreed_x)
    url = f"/cases/{agreed_x.pk}/package/{pkg.number}/vary/"
    client = client_for("icb_a")
    page = client.get(url).content.decode()
    assert 'name="units-gprp-workforce"' in page and 'value="2"' in page and 'value="320.00"' in page
    assert client_for("practice_x").get(url).status_code == 403
    client = client_for("icb_a")  # one test client, signed in as whoever was asked for last

    bad = client.post(url, {"units-gprp-workforce": "two", "units-gpdp-hia": "1", "price-gpdp-hia": "lots"})
    assert bad.status_code == 400
    text = bad.content.decode()
    assert 'href="#units-gprp-workforce"' in text and 'href="#price-gpdp-hia"' in text and 'href="#reason"' in text
    assert funding.balances([rp.pk])[rp.pk].committed == committed(rp)

    before = committed(rp)
    ok = client.post(
        url,
        {
            "units-gprp-workforce": "3",
            "price-gprp-workforce": "320.00",
            "units-gpdp-hia": "1",
            "reason": "A third session agreed",
        },
    )
    assert ok.status_code == 302
    assert committed(rp) == before + 32_000
