"""Scenarios by funding line (issue 17 §6): each line's budget buys only the offers the programme's rule
(``funds_offer``) lets it fund, universal lines buy places, results are stored per line and compared side by side."""

from __future__ import annotations

import pytest
from django.urls import reverse

from analytics.menu.offers import load_menu
from apps.funding.models import FundingLine, LineAccess, Programme
from apps.pages.testing import ICB_A
from apps.practices.models import ICB
from apps.targeting import scenarios
from apps.targeting.lines import default_line_budgets, parse_line_budgets
from apps.targeting.models import Scenario

pytestmark = pytest.mark.django_db

HR_ONLY = ["gprp-hr-advice", "gprp-coaching"]


@pytest.fixture
def lines(personas) -> dict[str, FundingLine]:
    """A GPRP line that funds two offers only, and a universal GPDP line (its programme's whole menu)."""
    national = personas["national"]
    gprp = Programme.objects.create(code="GPRP-T", name="Test resilience", menu="GPRP", created_by=national)
    gpdp = Programme.objects.create(code="GPDP-T", name="Test development", menu="GPDP", created_by=national)
    return {
        "hr": FundingLine.objects.create(
            programme=gprp, code="hr", name="HR and coaching", total_pence=10**8, cost_centre="C1", ledger_code="L1",
            offer_codes=HR_ONLY,
        ),
        "dev": FundingLine.objects.create(
            programme=gpdp, code="dev", name="Development places", total_pence=10**8, cost_centre="C2",
            ledger_code="L2", access=LineAccess.UNIVERSAL,
        ),
    }  # fmt: skip


def test_typed_line_budgets_carry_the_offers_each_line_funds(lines):
    parsed = parse_line_budgets("GPRP-T/HR 20000\ngpdp-t/dev 5000\n")
    got = [(x.key, x.pence, x.universal) for x in parsed]
    assert got == [("GPRP-T/HR", 2_000_000, False), ("GPDP-T/DEV", 500_000, True)]
    assert list(parsed[0].offers) == HR_ONLY
    assert set(parsed[1].offers) == {o.code for o in load_menu() if o.programme == "GPDP"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("NOPE/CORE 1000", "there is no funding line NOPE/CORE"),
        ("GPRP-T/HR 1000\nGPRP-T/HR 500", "GPRP-T/HR is named twice"),
        ("GPRP-T/HR lots", "must be an amount in pounds"),
        ("GPRP-T/HR 20,000", "without commas"),
    ],
)
def test_bad_line_budgets_are_refused_on_the_page_and_nothing_is_saved(client_for, lines, text, message):
    data = {"name": "By line", "scope": "icb", "line_budgets": text, "coach_hours": "1500", "practice_cap": "25000"}
    response = client_for("icb_a").post(reverse("targeting:scenarios"), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is a problem" in html and message in html
    assert not Scenario.objects.exists()


def test_the_form_starts_from_the_icbs_budgets_with_money_left(client_for):
    text = default_line_budgets(ICB.objects.get(code=ICB_A))
    assert text and all(len(row.split()) == 2 and "/" in row for row in text.splitlines())
    page = client_for("icb_a").get(reverse("targeting:scenarios")).content.decode()
    assert "Budget by funding line" in page and text.splitlines()[0] in page


def test_each_line_spends_only_on_its_offers_and_universal_money_buys_places(client_for, personas, lines):
    parsed = parse_line_budgets("GPRP-T/HR 30000\nGPDP-T/DEV 20000")
    icb = ICB.objects.get(code=ICB_A)
    s = scenarios.run_scenario(
        personas["icb_a"], name="By line", scope="icb", icb=icb, budget_pence=sum(x.pence for x in parsed),
        coach_hours=5000, practice_cap_pence=2_500_000, line_budgets=[x.stored() for x in parsed],
    )  # fmt: skip
    assert s.feasible and s.gap is not None and s.gap <= 0.001 + 1e-12
    by_line = {r["code"]: r for r in s.line_results}
    assert by_line["GPRP-T/HR"]["spend_pence"] <= 3_000_000 and by_line["GPRP-T/HR"]["spend_pence"] > 0
    assert by_line["GPDP-T/DEV"]["spend_pence"] <= 2_000_000 and by_line["GPDP-T/DEV"]["places"] > 0
    assert by_line["GPDP-T/DEV"]["packages"] == 0  # universal money is planned as places, not packages
    # every package bought for a practice is an offer its paying line funds
    titles = {o.title: o.code for o in load_menu()}
    offers_of = {x.name: set(x.offers) for x in parsed}
    paid = [w for r in s.practice_results for w in r["why"]]
    assert paid
    for why in paid:
        title, _, rest = why.partition(": effect ")
        line_name = rest.split(", paid from ")[1].split(";")[0]
        assert titles[title] in offers_of[line_name]
    assert all(p["offer_code"] in offers_of[p["line"]] for p in s.place_results)
    # benefit is in patients: the funded list is ordered by patients protected, and says why
    funded = s.funded_results
    assert [r["benefit"] for r in funded] == sorted((r["benefit"] for r in funded), reverse=True)
    assert all(r["patients"] > 0 and "registered patients" in r["reason"] for r in funded)
    page = client_for("icb_a").get(reverse("targeting:scenario", args=[s.ref])).content.decode()
    assert "By funding line" in page and "Places on universal offers" in page and "patients protected" in page
    assert f"paid from {lines['hr']}" in page


def test_two_scenarios_compare_line_by_line(client_for, personas, lines):
    icb = ICB.objects.get(code=ICB_A)
    made = []
    for pounds in (10000, 40000):
        parsed = parse_line_budgets(f"GPRP-T/HR {pounds}\nGPDP-T/DEV 5000")
        made.append(
            scenarios.run_scenario(
                personas["icb_a"], name=f"HR {pounds}", scope="icb", icb=icb,
                budget_pence=sum(x.pence for x in parsed), coach_hours=5000, practice_cap_pence=2_500_000,
                line_budgets=[x.stored() for x in parsed],
            )
        )  # fmt: skip
    url = f"{reverse('targeting:compare')}?s={made[0].ref}&s={made[1].ref}"
    page = client_for("icb_a").get(url).content.decode()
    name = str(lines["hr"])
    assert f"{name}: spend" in page and f"{name}: patients protected" in page
    assert "£10,000 of £10,000" in page or "of £10,000" in page
    assert made[1].objective > made[0].objective  # more HR money protects more patients
