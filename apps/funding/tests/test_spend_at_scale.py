"""Published spend at scale (issue 19): the spend page and its 360Giving downloads make the same queries however many
commitments and payments there are, including payments not tied to an offer, which are published against their
commitment's offers in proportion."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.funding import giving, services
from apps.funding.tests.conftest import POUND, commit

pytestmark = pytest.mark.django_db

OFFERS = {"gprp-diagnostic": 3, "gprp-coaching": 1}  # pence per pound committed, by offer


def _commit_and_pay(budget, personas, colleague, practice: str, reference: str, with_offer: bool) -> None:
    amount = 400 * POUND
    commit(budget, personas["icb_a"], [practice], amount, reference,
           offers={code: amount * share // 4 for code, share in OFFERS.items()})  # fmt: skip
    payment = services.record_payment(
        reference=reference,
        amount_pence=200 * POUND,
        kind="direct",
        payee="",
        practice_code=practice,
        offer_code="gprp-diagnostic" if with_offer else "",
        user=personas["icb_a"],
    )
    services.approve_payment(payment=payment, user=colleague)


def _grant(budget, heading: str) -> giving.PublishedGrant:
    return next(g for g in giving.published_grants() if g.programme == budget.line.programme and g.heading == heading)


def test_a_payment_without_an_offer_is_published_in_proportion_to_the_commitments_offers(
    personas, budget, practices_a, colleague_a
):
    # one practice: its programme names practices, or the small-group rule would merge its headings (test_giving)
    budget.line.programme.publish_recipients = "named"
    budget.line.programme.save()
    _commit_and_pay(budget, personas, colleague_a, practices_a[0], "CASE-S1/PKG-1", with_offer=False)
    diagnostic, coaching = (
        _grant(budget, "Diagnostic services"),
        _grant(budget, "Coaching, training, supervision and mentorship"),
    )
    assert (diagnostic.awarded_pence, diagnostic.disbursed_pence) == (300 * POUND, 150 * POUND)
    assert (coaching.awarded_pence, coaching.disbursed_pence) == (100 * POUND, 50 * POUND)


@pytest.mark.parametrize("persona", [None, "icb_a", "national"])
def test_the_spend_pages_make_the_same_queries_with_ten_times_the_money(
    client_for, client, personas, budget, practices_a, colleague_a, persona
):
    web = client_for(persona) if persona else client
    names = ("funding:spend", "funding:spend_json", "funding:spend_xlsx")

    def measure() -> list[int]:
        counts = []
        for name in names:
            with CaptureQueriesContext(connection) as ctx:
                assert web.get(reverse(name)).status_code == 200
            counts.append(len(ctx.captured_queries))
        return counts

    _commit_and_pay(budget, personas, colleague_a, practices_a[0], "CASE-S0/PKG-1", with_offer=True)
    measure()  # the first request also loads what is cached once
    small = measure()
    for i in range(10):  # now with payments not tied to an offer too, which used to cost one more query
        _commit_and_pay(
            budget, personas, colleague_a, practices_a[i % 3], f"CASE-S{i + 1}/PKG-1", with_offer=i % 2 == 0
        )
    assert measure() == small
