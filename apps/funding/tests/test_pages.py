"""Money pages: who sees what, the set-up → allocate (preview, confirm) → release journey, exports, public spend."""

from __future__ import annotations

import csv
import io
import json

import polars as pl
import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.money import financial_year_of
from apps.funding import giving, reports, services
from apps.funding.models import Allocation, Budget, Commitment, LedgerEntry, Payment, Programme, Release, Virement
from apps.funding.tests.conftest import POUND, commit
from apps.pages.testing import ICB_A, ICB_B

pytestmark = pytest.mark.django_db


def body(response) -> str:
    return response.content.decode()


def test_national_user_sets_up_a_programme_with_a_profile(client_for):
    c = client_for("national")
    form = {
        "code": "PGT",
        "name": "Page test programme",
        "menu": "GPRP",
        "line1_code": "core",
        "line1_name": "Core",
        "line1_cost_centre": "CC1",
        "line1_ledger_code": "5210",
        "line1_profile": "2026-27: 1,000,000\n2027-28: 500,000.50",
    }
    response = c.post(reverse("funding:programme_new"), form)
    assert response.status_code == 302
    p = Programme.objects.get(code="PGT")
    assert p.total_pence == 150_000_050
    assert {y.fy: y.amount_pence for y in p.lines.get().years.all()} == {2026: 100_000_000, 2027: 50_000_050}


def test_a_profile_that_does_not_add_up_to_the_stated_total_is_refused(client_for):
    response = client_for("national").post(
        reverse("funding:programme_new"),
        {
            "code": "GPRPX",
            "name": "GPRP check",
            "menu": "GPRP",
            "line1_code": "core",
            "line1_name": "Core",
            "line1_cost_centre": "CC1",
            "line1_ledger_code": "5210",
            "line1_total": "40,000,000",
            "line1_profile": "2016-17: 16,000,000\n2017-18: 8,000,000\n2018-19: 8,000,000",
        },
    )
    assert response.status_code == 400
    assert "the profile adds up to £32,000,000.00, not the total of £40,000,000.00" in body(response)
    assert not Programme.objects.filter(code="GPRPX").exists()


def test_programme_setup_with_a_bad_profile_explains_and_saves_nothing(client_for):
    c = client_for("national")
    response = c.post(
        reverse("funding:programme_new"),
        {"code": "BAD", "name": "Bad", "menu": "GPRP", "line1_code": "core", "line1_profile": "next year 10"},
    )
    assert response.status_code == 400
    assert "There is a problem" in body(response) and "profile line 1" in body(response)
    assert not Programme.objects.filter(code="BAD").exists()


def test_allocation_is_previewed_then_confirmed_by_weighted_patients(client_for, personas):
    c = client_for("national")
    c.post(
        reverse("funding:programme_new"),
        {
            "code": "ALLOC",
            "name": "Allocation test",
            "menu": "GPRP",
            "line1_code": "core",
            "line1_name": "Core",
            "line1_cost_centre": "CC1",
            "line1_ledger_code": "5210",
            "line1_profile": "2026-27: 8,500,000",
        },
    )
    url = reverse("funding:allocate", args=["ALLOC", "core"])
    form = {"fy": "2026", "amount": "", "formula": "weighted_patients", "action": "preview"}
    preview = c.post(url, form)
    assert preview.status_code == 200
    html = body(preview)
    assert "Confirm allocation" in html and "Weighted list size" in html
    assert '<strong id="preview-total">£8,500,000.00</strong>' in html
    assert not Allocation.objects.filter(line__programme__code="ALLOC").exists()
    fingerprint = html.split('name="fingerprint" value="')[1].split('"')[0]
    done = c.post(url, form | {"action": "confirm", "fingerprint": fingerprint})
    assert done.status_code == 302
    allocation = Allocation.objects.get(line__programme__code="ALLOC")
    assert allocation.created_by == personas["national"] and allocation.amount_pence == 850_000_000
    assert sum(e.amount_pence for e in LedgerEntry.objects.filter(allocation=allocation)) == 850_000_000

    release = c.post(
        reverse("funding:release", args=["ALLOC", "core"]),
        {"fy": "2026", "amount": "4,000,000", "note": "First tranche of two"},
    )
    assert release.status_code == 302
    r = Release.objects.get(line__programme__code="ALLOC")
    assert r.amount_pence == 400_000_000 and r.released_by == personas["national"]


def test_a_release_of_more_than_is_allocated_is_refused_on_the_page(client_for):
    fy = financial_year_of(timezone.localdate())
    response = client_for("national").post(
        reverse("funding:release", args=[f"GPR-{fy}", "core"]),
        {"fy": str(fy), "amount": "9,000,000", "note": "Too much money"},
    )
    assert response.status_code == 400 and "not yet released" in body(response)


def test_the_national_dashboard_shows_totals_from_the_ledger(client_for):
    response = client_for("national").get(reverse("funding:dashboard"))
    html = body(response)
    assert '<span class="app-stat" id="total-allocated">£8,500,000</span>' in html
    assert '<span class="app-stat" id="total-released">£4,250,000</span>' in html
    assert "<svg" in html and "By region" in html and "North East and North Cumbria" in html


def test_an_icb_user_is_sent_to_their_own_budget(client_for):
    response = client_for("icb_a").get(reverse("funding:dashboard"))
    assert response.status_code == 302 and response["Location"].endswith(f"/money/icb/{ICB_A}/")


def test_icb_budget_page_shows_commitments_to_the_icb_and_totals_only_to_national(client_for):
    own = body(client_for("icb_a").get(reverse("funding:icb_budget", args=[ICB_A])))
    assert "DEMO-QHM-1" in own and "Year-end forecast" in own
    assert "At risk" in own  # DEMO-QHM-2 is partly scheduled after 31 March
    national = body(client_for("national").get(reverse("funding:icb_budget", args=[ICB_A])))
    assert "Year-end forecast" in national and "DEMO-QHM-1" not in national


def test_icb_ledger_names_practices_and_national_ledger_does_not(client_for):
    practice_code = Commitment.objects.get(reference="DEMO-QHM-1").recipients[0][0]
    own = body(client_for("icb_a").get(reverse("funding:ledger")))
    assert practice_code in own
    assert "DEMO-QWE-1" not in own  # another ICB's ledger
    national = body(client_for("national").get(reverse("funding:ledger"), {"icb": ICB_A}))
    # Issue 14 item 3: the national team sees monthly totals per budget, so not even the commitment's reference
    # (a package reference names its case) is on its ledger; it used to be.
    assert practice_code not in national and "DEMO-QHM-1" not in national
    assert "the month's total of one kind of movement" in national


def test_ledger_filters_and_downloads(client_for):
    c = client_for("icb_a")
    response = c.get(reverse("funding:ledger"), {"kind": "payment", "download": "csv"})
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))  # a streamed download
    assert rows and {r["kind"] for r in rows} == {"payment"}
    assert {r["icb_code"] for r in rows} == {ICB_A}
    national = client_for("national").get(reverse("funding:ledger"), {"download": "xlsx"})
    frame = pl.read_excel(io.BytesIO(national.getvalue()))
    assert "practice_code" not in frame.columns and frame["amount_pence"].sum() > 0


def test_payments_are_recorded_and_approved_by_a_colleague_and_exported(client_for, personas, colleague_a):
    c = client_for("icb_a")
    url = reverse("funding:payments", args=[ICB_A])
    response = c.post(
        url,
        {
            "action": "record",
            "reference": "DEMO-QHM-1",
            "kind": "invoice",
            "payee": "Coach Ltd",
            "invoice_number": "INV-PAGE",
            "amount": "100",
        },
    )
    assert response.status_code == 302
    p = Payment.objects.get(invoice_number="INV-PAGE")
    page = body(c.get(url))
    assert "Awaiting a colleague" in page  # the recorder cannot approve their own payment
    c.force_login(colleague_a)
    assert c.post(url, {"action": "approve", "payment": p.pk}).status_code == 302
    p.refresh_from_db()
    assert p.status == Payment.Status.APPROVED
    export = c.get(url, {"download": "csv"})  # streamed: an ICB's approved payments run to tens of thousands
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    mine = next(r for r in rows if r["invoice_number"] == "INV-PAGE")
    assert mine["cost_centre"] == "PCSD26" and mine["ledger_code"] == "5211" and mine["amount_pence"] == "10000"


def test_a_payment_form_with_bad_input_explains_and_saves_nothing(client_for):
    before = Payment.objects.count()
    response = client_for("icb_a").post(
        reverse("funding:payments", args=[ICB_A]),
        {"action": "record", "reference": "DEMO-QHM-1", "kind": "invoice", "amount": "lots"},
    )
    assert response.status_code == 400 and "amount in pounds" in body(response)
    assert Payment.objects.count() == before


def test_a_virement_is_requested_by_an_icb_and_approved_nationally_on_the_pages(client_for):
    fy = Budget.objects.filter(icb__code=ICB_A).order_by("-fy").first().fy
    src = Budget.objects.get(icb__code=ICB_A, fy=fy, line__programme__code=f"GPR-{fy}")
    dst = Budget.objects.get(icb__code=ICB_B, fy=fy, line__programme__code=f"GPR-{fy}")
    before_src, before_dst = src.balance().released, dst.balance().released
    c = client_for("icb_a")
    response = c.post(
        reverse("funding:virements"),
        {
            "action": "request",
            "from_budget": src.pk,
            "to_budget": dst.pk,
            "amount": "1,000",
            "reason": "B has more need",
        },
    )
    assert response.status_code == 302
    v = Virement.objects.get(from_budget=src)
    n = client_for("national")
    assert n.post(reverse("funding:virements"), {"action": "approve", "virement": v.pk}).status_code == 302
    assert src.balance().released == before_src - 1_000 * POUND
    assert dst.balance().released == before_dst + 1_000 * POUND
    v.refresh_from_db()
    assert v.status == Virement.Status.APPROVED


def test_an_icb_user_cannot_request_a_virement_from_another_icbs_budget(client_for):
    fy = Budget.objects.order_by("-fy").first().fy
    src = Budget.objects.get(icb__code=ICB_B, fy=fy, line__programme__code=f"GPR-{fy}")
    response = client_for("icb_a").post(
        reverse("funding:virements"),
        {"action": "request", "from_budget": src.pk, "to_budget": src.pk, "amount": "1", "reason": "Not mine at all"},
    )
    assert response.status_code == 400 and not Virement.objects.exists()


def test_published_spend_is_public_and_aggregated_by_icb_with_no_case_detail(client, personas):
    budget = Budget.objects.get(icb__code=ICB_A, line__programme__code__startswith="GPR-")
    practice = Commitment.objects.get(reference="DEMO-QHM-1").recipients[0][0]
    commit(
        budget,
        personas["icb_a"],
        [practice],
        1_000 * POUND,
        "CASE-SECRET/PKG-1",
        memo="Partner off sick; CQC concerns (confidential)",
    )
    page = client.get(reverse("funding:spend"))
    assert page.status_code == 200
    html = body(page)
    assert "North East and North Cumbria" in html and "Rapid diagnostic review" in html
    data = client.get(reverse("funding:spend_json")).json()
    text = json.dumps(data)
    for secret in ("CASE-SECRET", "confidential", "DEMO-QHM", practice, "Partner off sick"):
        assert secret not in text and secret not in html
    grant = next(g for g in data["grants"] if g["recipientOrganization"][0]["id"] == f"GB-NHS-{ICB_A}")
    assert grant["currency"] == "GBP" and grant["identifier"].startswith("360G-PLACEHOLDER")
    assert grant["fundingOrganization"][0]["name"] == "NHS England"
    assert grant["grantProgramme"][0]["code"].startswith("GPR-")
    assert {"title", "description", "amountAwarded", "awardDate", "plannedDates"} <= set(grant)
    # Awarded equals the ledger's net commitments: 360Giving totals come straight from the ledger.
    awarded = sum(round(g["amountAwarded"] * 100) for g in data["grants"])
    net = sum(e.amount_pence for e in LedgerEntry.objects.filter(kind__in=reports.COMMITTING, commitment__isnull=False))
    assert awarded == net
    sheet = pl.read_excel(io.BytesIO(client.get(reverse("funding:spend_xlsx")).content))
    assert sheet.columns == giving.SPREADSHEET_COLUMNS
    assert sheet.height == len(data["grants"])


def test_insufficient_funds_reads_well_for_the_approver(personas, budget, practices_a):
    with pytest.raises(services.InsufficientFunds) as exc:
        commit(budget, personas["icb_a"], practices_a, 40_000 * POUND + 123, "CASE-30/PKG-1")
    assert str(exc.value) == (f"£1.23 short: £40,000.00 available of {budget} (released money not yet committed)")
