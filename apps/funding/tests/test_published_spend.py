"""Published spend in the 360Giving standard (issue 17 §7): the downloads validate against the shipped package schema;
amounts are net of variations; a cancelled award is shown at its final amount and a withdrawn one left out; the
programme decides whether practices are named, and aggregated, no group of fewer than 5 practices is shown alone."""

from __future__ import annotations

import io
import json

import polars as pl
import pytest
from django.urls import reverse

from apps.funding import giving, services
from apps.funding.models import PublishRecipients
from apps.funding.tests.conftest import POUND, allocate_to, commit, make_line
from apps.pages.testing import ICB_A, ICB_B
from apps.practices.models import Practice, PracticeStatus

pytestmark = pytest.mark.django_db


def _practices(icb: str, n: int) -> list[str]:
    active = Practice.objects.filter(icb__code=icb, status=PracticeStatus.ACTIVE).order_by("code")
    return list(active.values_list("code", flat=True)[:n])


def _mine(budget) -> list[giving.PublishedGrant]:
    return [g for g in giving.published_grants() if g.programme == budget.line.programme]


def _commit_each(budget, user, practices, offer: str, ref: str, amount: int = 1_000 * POUND) -> None:
    for i, p in enumerate(practices):
        commit(budget, user, [p], amount, f"{ref}-{i}", offers={offer: amount})


def test_the_downloads_validate_against_the_360giving_package_schema(client, budget, personas):
    _commit_each(budget, personas["icb_a"], _practices(ICB_A, 6), "gprp-diagnostic", "CASE-V")
    package = client.get(reverse("funding:spend_json")).json()
    assert package["grants"] and giving.schema_problems(package) == []
    assert all(g["id"].startswith("360G-") for g in package["grants"])
    # the spreadsheet carries the same grants under the standard's column titles, and validates when read back
    sheet = pl.read_excel(io.BytesIO(client.get(reverse("funding:spend_xlsx")).content))
    assert sheet.columns == giving.SPREADSHEET_COLUMNS and sheet.height == len(package["grants"])
    back = {
        "grants": [
            {"id": r["Identifier"], "title": r["Title"], "description": r["Description"], "currency": r["Currency"],
             "amountAwarded": r["Amount Awarded"], "awardDate": r["Award Date"],
             "recipientOrganization": [{"id": r["Recipient Org:Identifier"], "name": r["Recipient Org:Name"]}],
             "fundingOrganization": [{"id": r["Funding Org:Identifier"], "name": r["Funding Org:Name"]}]}
            for r in sheet.iter_rows(named=True)
        ]
    }  # fmt: skip
    assert giving.schema_problems(back) == []


def test_the_schema_refuses_a_grant_without_what_the_standard_requires():
    grant = giving.grant_json(giving.published_grants()[0])
    broken = {k: v for k, v in grant.items() if k not in ("id", "recipientOrganization")} | {"currency": "pounds"}
    problems = giving.schema_problems({"grants": [broken]})
    assert any('"id" is a required property' in p for p in problems)
    assert any("recipientOrganization" in p for p in problems)
    assert any(p.startswith("grants/0/currency") for p in problems)
    required = json.loads(giving.SCHEMA.read_text())["definitions"]["grant"]["required"]
    assert required[:3] == ["id", "title", "description"]


def test_amounts_are_net_of_variations_and_cancelled_awards_show_their_final_amount(budget, personas, colleague_a):
    practices = _practices(ICB_A, 6)
    _commit_each(budget, personas["icb_a"], practices[:5], "gprp-diagnostic", "CASE-N")
    services.vary_commitment(reference="CASE-N-0", new_amount_pence=600 * POUND, user=personas["icb_a"],
                             reason="Fewer days needed")  # fmt: skip
    # paid £250 of £1,000, then cancelled: published at the £250 paid
    payment = services.record_payment(
        reference="CASE-N-1", amount_pence=250 * POUND, kind="direct", payee="", practice_code=practices[1],
        offer_code="gprp-diagnostic", user=personas["icb_a"],
    )  # fmt: skip
    services.approve_payment(payment=payment, user=colleague_a)
    services.decommit(reference="CASE-N-1", user=personas["icb_a"], reason="Practice merged with a neighbour")
    # withdrawn before any payment: left out, with its practice
    commit(budget, personas["icb_a"], [practices[5]], 700 * POUND, "CASE-W", offers={"gprp-diagnostic": 700 * POUND})
    services.decommit(reference="CASE-W", user=personas["icb_a"], reason="Practice no longer needs it")
    (grant,) = _mine(budget)
    assert grant.heading == "Diagnostic services" and grant.icb is not None and grant.icb.code == ICB_A
    assert grant.awarded_pence == (600 + 250 + 3 * 1_000) * POUND
    assert grant.disbursed_pence == 250 * POUND
    assert grant.practices == 5  # the withdrawn award's practice is not counted
    assert giving.published_spend().withdrawn >= 1


def test_aggregated_groups_of_fewer_than_5_practices_are_merged_never_shown_alone(budget, personas):
    practices = _practices(ICB_A, 8)
    _commit_each(budget, personas["icb_a"], practices[:5], "gprp-diagnostic", "CASE-D")  # 5: its own grant
    _commit_each(budget, personas["icb_a"], practices[5:7], "gprp-coaching", "CASE-C")  # 2 ...
    _commit_each(budget, personas["icb_a"], practices[:3], "gprp-hr-advice", "CASE-H")  # ... and 3 (2 new)
    grants = {g.heading: g for g in _mine(budget)}
    assert set(grants) == {"Diagnostic services", giving.OTHER_HEADING}
    other = grants[giving.OTHER_HEADING]
    assert other.icb is not None and other.practices == 5  # practices 5, 6 and 0, 1, 2
    assert other.awarded_pence == 5 * 1_000 * POUND
    assert all(g.practices >= giving.MIN_GROUP for g in _mine(budget))
    text = json.dumps(giving.package_json(_mine(budget)))
    assert not any(code in text for code in practices)


def test_icbs_with_fewer_than_5_practices_are_merged_across_icbs_or_else_suppressed(personas):
    line = make_line(personas["national"], code="TINY")
    allocate_to(personas["national"], line, {ICB_A: 0.5, ICB_B: 0.5})
    services.release_tranche(user=personas["national"], line=line, fy=line.years.get().fy,
                             amount_pence=line.total_pence, note="All")  # fmt: skip
    budget_a, budget_b = (line.budgets.get(icb__code=c) for c in (ICB_A, ICB_B))
    _commit_each(budget_a, personas["icb_a"], _practices(ICB_A, 2), "gprp-diagnostic", "CASE-TA")
    _commit_each(budget_b, personas["icb_b"], _practices(ICB_B, 2), "gprp-diagnostic", "CASE-TB")
    # four practices in all: too few even merged, so suppressed, and the page says how much
    assert _mine(budget_a) == [] and giving.published_spend().suppressed_pence >= 4 * 1_000 * POUND
    _commit_each(budget_b, personas["icb_b"], _practices(ICB_B, 3)[2:], "gprp-coaching", "CASE-TC")
    (grant,) = _mine(budget_a)
    assert grant.icb is None and grant.practices == 5 and grant.awarded_pence == 5 * 1_000 * POUND
    recipient = giving.grant_json(grant)["recipientOrganization"][0]
    assert recipient == {"id": giving.FUNDER_ID, "name": giving.SEVERAL_ICBS}


def test_a_programme_that_names_recipients_publishes_a_grant_per_practice(budget, personas):
    programme = budget.line.programme
    programme.publish_recipients = PublishRecipients.NAMED
    programme.save()
    practices = _practices(ICB_A, 2)
    _commit_each(budget, personas["icb_a"], practices, "gprp-diagnostic", "CASE-P")
    grants = _mine(budget)
    assert sorted(g.practice.code for g in grants if g.practice) == sorted(practices)
    package = giving.package_json(grants)
    assert {g["recipientOrganization"][0]["id"] for g in package["grants"]} == {f"GB-NHS-{p}" for p in practices}
    assert giving.schema_problems(package) == []
    assert "CASE-P" not in json.dumps(package)
