"""Setting up a programme, allocating it to ICBs by formula and releasing tranches."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.db.models import Sum

from analytics import money
from apps.funding import services
from apps.funding.errors import FundingError
from apps.funding.models import Allocation, Budget, Formula, LedgerEntry, Programme
from apps.funding.tests.conftest import POUND, allocate_to, make_line
from apps.pages.testing import ICB_A, ICB_B
from apps.practices.models import ICB, PaymentsYear

pytestmark = pytest.mark.django_db


def test_the_demo_gprp_programme_has_the_real_profile():
    gprp = Programme.objects.get(code="GPRP")
    years = {y.fy: y.amount_pence for y in gprp.lines.get().years.all()}
    assert years == {
        2016: 16_000_000 * POUND,
        2017: 8_000_000 * POUND,
        2018: 8_000_000 * POUND,
        2019: 8_000_000 * POUND,
    }
    assert gprp.total_pence == 40_000_000 * POUND


def test_allocation_by_weighted_patients_reconciles_to_the_penny_across_all_icbs(personas):
    line = make_line(personas["national"], total=8_500_000 * POUND + 37)
    fy = line.years.get().fy
    preview = services.preview_allocation(
        line=line, fy=fy, amount_pence=line.total_pence, formula=Formula.WEIGHTED_PATIENTS
    )
    assert Allocation.objects.filter(line=line).count() == 0  # a preview saves nothing
    assert len(preview.rows) == ICB.objects.count() == 42
    assert sum(r.amount_pence for r in preview.rows) == 8_500_000 * POUND + 37
    services.confirm_allocation(
        user=personas["national"],
        line=line,
        fy=fy,
        amount_pence=line.total_pence,
        formula=Formula.WEIGHTED_PATIENTS,
        fingerprint=preview.fingerprint,
    )
    allocation = Allocation.objects.get(line=line)
    assert "Weighted list size" in allocation.data_source and len(allocation.basis) == 42
    # The weights stored are the newest payments file's weighted list sizes summed by ICB (older years are history).
    newest = PaymentsYear.objects.order_by("-financial_year").values_list("financial_year", flat=True).first()
    weighted_a = PaymentsYear.objects.filter(practice__icb__code=ICB_A, financial_year=newest).aggregate(
        s=Sum("weighted_patients")
    )["s"]
    assert allocation.basis[ICB_A] == pytest.approx(weighted_a)
    entries = LedgerEntry.objects.filter(allocation=allocation)
    assert entries.aggregate(s=Sum("amount_pence"))["s"] == line.total_pence
    assert entries.count() == 42 and Budget.objects.filter(line=line).count() == 42
    # Each ICB is within a penny of its exact share.
    total_w = sum(allocation.basis.values())
    for e in entries.select_related("budget__icb"):
        exact = line.total_pence * allocation.basis[e.budget.icb.code] / total_w
        assert abs(e.amount_pence - exact) < 1


def test_a_changed_split_must_be_previewed_again(personas):
    line = make_line(personas["national"])
    fy = line.years.get().fy
    preview = services.preview_allocation(
        line=line, fy=fy, amount_pence=1000, formula=Formula.FIXED_SHARES, shares={ICB_A: 1, ICB_B: 1}
    )
    with pytest.raises(FundingError, match="changed since you previewed"):
        services.confirm_allocation(
            user=personas["national"],
            line=line,
            fy=fy,
            amount_pence=1000,
            formula=Formula.FIXED_SHARES,
            shares={ICB_A: 1, ICB_B: 2},
            fingerprint=preview.fingerprint,
        )
    assert not Allocation.objects.filter(line=line).exists()


def test_more_than_the_years_money_cannot_be_allocated(personas):
    line = make_line(personas["national"], total=1000)
    allocate_to(personas["national"], line, {ICB_A: 1}, amount=600)
    with pytest.raises(FundingError, match=r"Only £4.00 .* is not yet allocated"):
        services.preview_allocation(
            line=line, fy=line.years.get().fy, amount_pence=401, formula=Formula.FIXED_SHARES, shares={ICB_A: 1}
        )


def test_fixed_shares_name_real_icbs_and_are_split_exactly():
    assert services.parse_shares("QHM, 3\nqwe 1\n") == {"QHM": 3.0, "QWE": 1.0}
    with pytest.raises(FundingError, match="not a number"):
        services.parse_shares("QHM, lots")
    with pytest.raises(FundingError, match="Unknown ICB codes in the shares: XXX"):
        services.allocation_weights(Formula.FIXED_SHARES, {"XXX": 1})


def test_only_the_national_team_sets_up_allocates_and_releases(personas, line):
    fy = line.years.get().fy
    for who in ("icb_a", "practice_x", "provider", "lmc"):
        with pytest.raises(PermissionDenied):
            make_line(personas[who], code=f"X-{who}")
        with pytest.raises(PermissionDenied):
            services.release_tranche(user=personas[who], line=line, fy=fy, amount_pence=1, note="Not mine")
        with pytest.raises(PermissionDenied):
            services.confirm_allocation(
                user=personas[who], line=line, fy=fy, amount_pence=1, formula=Formula.FIXED_SHARES, fingerprint=""
            )


def test_programme_setup_names_every_problem(personas):
    with pytest.raises(FundingError) as exc:
        services.create_programme(
            user=personas["national"],
            code="bad code!",
            name="",
            menu="XYZ",
            lines=[services.LineSpec("core", "", "", "", {1999: 0})],
        )
    text = " ".join(exc.value.messages)
    for bit in ("Code must be", "name", "menu of support", "Line 1: enter a name", "cost centre", "not a financial"):
        assert bit in text


def test_a_release_is_split_in_proportion_and_never_exceeds_an_icbs_allocation(personas):
    line = make_line(personas["national"], total=1_000_01)
    fy = line.years.get().fy
    allocate_to(personas["national"], line, {ICB_A: 2, ICB_B: 1})
    services.release_tranche(user=personas["national"], line=line, fy=fy, amount_pence=333_33, note="First third")
    bal = services.balances(Budget.objects.filter(line=line).values_list("pk", flat=True))
    assert sum(b.released for b in bal.values()) == 333_33
    assert all(b.released <= b.allocated for b in bal.values())
    with pytest.raises(FundingError, match="not yet released"):
        services.release_tranche(user=personas["national"], line=line, fy=fy, amount_pence=666_69, note="Too much")
    r = services.release_tranche(user=personas["national"], line=line, fy=fy, amount_pence=666_68, note="The rest")
    assert r.released_by == personas["national"] and r.note == "The rest"
    bal = services.balances(Budget.objects.filter(line=line).values_list("pk", flat=True))
    assert all(b.released == b.allocated for b in bal.values())  # everything released: exactly the allocation


def test_money_cannot_be_released_before_it_is_allocated(personas):
    line = make_line(personas["national"])
    with pytest.raises(FundingError, match="before releasing"):
        services.release_tranche(
            user=personas["national"], line=line, fy=line.years.get().fy, amount_pence=1, note="Too early"
        )


def test_pounds_are_parsed_to_pence_or_refused_in_words():
    assert services.parse_pounds("£16,000,000") == 1_600_000_000
    assert services.parse_pounds("1250.5") == 125_050
    for bad in ("", "12.345", "ten", "-5", "0", "1,00"):
        with pytest.raises(FundingError):
            services.parse_pounds(bad)
    assert money.fy_label(2016) == "2016-17"
