"""Money input through apps/funding/forms.py: amounts as people type them, refusals per field, and every problem on
a page shown at once in the error summary, each linking to its field."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from apps.core.forms import form_errors
from apps.funding.forms import PaymentForm, PoundsField, ProgrammeForm
from apps.funding.models import Commitment, Payment, Programme
from apps.pages.testing import ICB_A

pytestmark = pytest.mark.django_db

SUMMARY_ITEMS = re.compile(r'<a href="#([^"]+)"[^>]*>([^<]+)</a>')


@pytest.mark.parametrize(
    ("typed", "pence"),
    [("£1,250.00", 125_000), ("1250", 125_000), ("1,250", 125_000), ("£ 1250.5", 125_050), ("0.01", 1)],
)
def test_amounts_are_read_as_people_type_them(typed, pence):
    assert PoundsField().clean(typed) == pence


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("12.345", "must be an amount in pounds"),
        ("1,25", "must be an amount in pounds"),
        ("ten pounds", "must be an amount in pounds"),
        ("£0.00", "must be more than £0"),
        ("-5", "must be an amount in pounds"),
        ("٣٠٠", "must be an amount in pounds"),
    ],
)
def test_anything_else_is_refused_on_its_field_in_words(typed, message):
    form = ProgrammeForm(data={"line1_total": typed, "line1_profile": "2026-27: 10"})
    assert not form.is_valid()
    assert message in form_errors(form)["line1_total"]


def test_the_programme_page_shows_every_problem_at_once_each_on_its_field(client_for):
    response = client_for("national").post(
        reverse("funding:programme_new"),
        {"code": "bad code!", "name": "", "menu": "GPRP", "line1_code": "core", "line1_profile": "2026: £ten"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    summary = page[page.index("nhsuk-error-summary") : page.index("</ul>", page.index("nhsuk-error-summary"))]
    linked = {anchor: text.strip() for anchor, text in SUMMARY_ITEMS.findall(summary)}
    assert set(linked) >= {"line1_profile"}
    # the profile cannot be read, so the service is not asked; the summary lists it, and the field shows it
    assert "2026-27 amount must be an amount in pounds" in linked["line1_profile"]
    assert 'id="line1_profile-error"' in page or "nhsuk-error-message" in page
    assert not Programme.objects.filter(name="").exists()


def test_the_services_problems_join_the_forms_all_at_once(client_for):
    response = client_for("national").post(
        reverse("funding:programme_new"),
        {"code": "bad code!", "name": "", "menu": "XXXX", "line1_code": "core", "line1_profile": "2026-27: 10"},
    )
    assert response.status_code == 400
    linked = dict(SUMMARY_ITEMS.findall(response.content.decode()))
    assert {"code", "name", "menu", "line1_name", "line1_cost_centre"} <= set(linked)
    assert "letters, numbers and hyphens" in linked["code"] and "name" in linked["name"]


def test_the_api_and_the_page_read_a_payment_through_the_same_form(personas):
    commitments = Commitment.objects.filter(budget__icb__code=ICB_A, status=Commitment.Status.OPEN)
    reference = commitments.first().reference
    body = {
        "kind": "invoice",
        "amount_pence": 123_456,
        "payee": "Coach",
        "invoice_number": "I-9",
        "session_refs": ["S-1", "S-2"],
    }
    api = PaymentForm.from_api(body, reference, commitments)
    page = PaymentForm(
        {
            "reference": reference,
            "kind": "invoice",
            "amount": "£1,234.56",
            "payee": "Coach",
            "invoice_number": "I-9",
            "session_refs": "S-1, S-2",
        },
        commitments=commitments,
    )
    assert api.is_valid() and page.is_valid(), (api.errors, page.errors)
    assert api.service_kwargs() == page.service_kwargs()
    assert api.service_kwargs()["amount_pence"] == 123_456 and api.service_kwargs()["session_refs"] == ["S-1", "S-2"]
    other_icb = PaymentForm({**page.data, "reference": "DEMO-QWE-1"}, commitments=commitments)
    assert not other_icb.is_valid() and "this ICB's commitments" in form_errors(other_icb)["reference"]


def test_a_refused_payment_on_the_page_names_its_field_and_records_nothing(client_for, personas):
    reference = Commitment.objects.filter(budget__icb__code=ICB_A, status=Commitment.Status.OPEN).first().reference
    before = Payment.objects.count()
    response = client_for("icb_a").post(
        reverse("funding:payments", args=[ICB_A]),
        {"action": "record", "reference": reference, "kind": "invoice", "amount": "12.345", "payee": ""},
    )
    assert response.status_code == 400
    linked = dict(SUMMARY_ITEMS.findall(response.content.decode()))
    assert "must be an amount in pounds" in linked["amount"]
    assert Payment.objects.count() == before
