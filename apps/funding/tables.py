"""The ICB's payments as a table and its filters (apps/core/tables.py): searchable by payee, practice ODS code,
invoice number or commitment reference; narrowed by status and programme."""

from __future__ import annotations

from typing import Any, ClassVar

import django_filters as filters
from django.db.models import Q, QuerySet
from django.utils.html import format_html

from apps.core import formatting
from apps.core.tables import Column, DataTable, DateTimeColumn, MoneyColumn
from apps.funding.models import Payment, Programme


class PaymentFilter(filters.FilterSet):
    """An odd status or programme is ignored (every payment shows), as a page link with a stale value would be."""

    q = filters.CharFilter(label="Payee, ODS code, invoice or commitment", method="search")
    status = filters.ChoiceFilter(label="Status", choices=Payment.Status.choices, empty_label="Any")
    programme = filters.ModelChoiceFilter(
        label="Programme",
        field_name="commitment__budget__line__programme",
        queryset=Programme.objects.none(),
        to_field_name="code",
        empty_label="Any",
    )

    class Meta:
        model = Payment
        fields: list[str] = []

    def __init__(self, data: Any, queryset: QuerySet[Payment], **kwargs: Any) -> None:
        super().__init__(data, queryset=queryset, **kwargs)
        self.filters["programme"].queryset = Programme.objects.order_by("code")  # type: ignore[attr-defined]

    def search(self, qs: QuerySet[Payment], name: str, value: str) -> QuerySet[Payment]:
        text = value.strip()[:100]
        if not text:
            return qs
        return qs.filter(
            Q(payee__icontains=text)
            | Q(practice_code__iexact=text)
            | Q(invoice_number__icontains=text)
            | Q(commitment__reference__icontains=text)
        )


def _who(user: Any) -> str:
    return (user.get_full_name() or user.username) if user else ""


class PaymentTable(DataTable):
    """Newest first unless sorted by a column; the status cell (with its approve/reject form) is the page's own."""

    recorded = DateTimeColumn("Recorded", accessor="requested_at", order_by=("requested_at", "pk"))
    commitment = Column("Commitment", accessor="commitment__reference", order_by=("commitment__reference", "pk"))
    payee = Column("Kind and payee", accessor="payee", order_by=("payee", "pk"))
    amount = MoneyColumn("Amount", accessor="amount_pence", order_by=("amount_pence", "pk"))
    status = Column("Status", order_by=("status", "pk"))

    class Meta:
        # each row its own anchor, so "waiting for me" links straight to the payment to decide
        row_attrs: ClassVar[dict[str, Any]] = {"id": lambda record: f"payment-{record.pk}"}

    def render_recorded(self, record: Payment) -> str:
        return format_html(
            '{}<br><span class="app-muted">{}</span>',
            formatting.datetime_uk(record.requested_at),
            _who(record.requested_by),
        )

    def render_payee(self, record: Payment) -> str:
        text = self.value_payee(record)
        if record.session_refs:
            return format_html(
                '{}<br><span class="app-muted">Sessions: {}</span>', text, ", ".join(record.session_refs)
            )
        return text

    def value_payee(self, record: Payment) -> str:
        text = f"{record.get_kind_display()}: {record.payee}"
        if record.invoice_number:
            text += f" (invoice {record.invoice_number})"
        if record.practice_code:
            text += f" · {record.practice_code}"
        return text
