"""The case queue as a table and its filters: columns shared by the page and its download (apps/core/tables.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

import django_filters as filters
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils.html import format_html

from apps.cases.models import ENDED, OPEN, Case, Status
from apps.core.links import url
from apps.core.tables import Column, DataTable, DateColumn

STATUS_FILTERS = {"open": "Open cases", "ended": "Closed, declined or withdrawn", "all": "All cases"}


class CaseFilter(filters.FilterSet):
    """Search by practice name or ODS code; narrow by open/ended, status, provider and overdue steps. ``show`` is
    "open" unless the query asks for one of the other :data:`STATUS_FILTERS` (an odd value shows open cases)."""

    q = filters.CharFilter(label="Practice name or ODS code", method="search")
    show = filters.ChoiceFilter(label="Show", choices=list(STATUS_FILTERS.items()), empty_label=None, method="by_show")
    status = filters.ChoiceFilter(label="Status", choices=Status.choices, empty_label="Any")
    provider = filters.ModelChoiceFilter(label="Provider", queryset=get_user_model().objects.none(), empty_label="Any")
    overdue = filters.ChoiceFilter(
        label="Overdue", choices=[("1", "Only cases with an overdue step")], empty_label="Any", method="by_overdue"
    )

    class Meta:
        model = Case
        fields: list[str] = []

    def __init__(self, data: QueryDict | None, queryset: QuerySet[Case], *, today: date, **kwargs: Any) -> None:
        data = data.copy() if data is not None else QueryDict(mutable=True)
        if data.get("show") not in STATUS_FILTERS:
            data["show"] = "open"
        super().__init__(data, queryset=queryset, **kwargs)
        self.today = today
        # the providers assigned to a case this user sees, and no one else
        provider = self.filters["provider"]
        provider.queryset = (  # type: ignore[attr-defined]
            get_user_model().objects.filter(assigned_cases__in=queryset.values("pk")).distinct().order_by("username")
        )

    def search(self, qs: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        text = value.strip()[:100]
        return qs.filter(Q(practice__name__icontains=text) | Q(practice__code__iexact=text)) if text else qs

    def by_show(self, qs: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        if value == "open":
            return qs.filter(status__in=OPEN)
        if value == "ended":
            return qs.filter(status__in=ENDED)
        return qs

    def by_overdue(self, qs: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        return qs.overdue(self.today) if value == "1" else qs  # type: ignore[attr-defined]


def _overdue_class(record: Case, table: CaseTable) -> str:
    return "app-row-overdue" if record.overdue_reasons(table.today) else ""


class CaseTable(DataTable):
    """The ICB's (or a practice's, or a provider's) cases, oldest first unless sorted by a column."""

    ref = Column("Case", accessor="pk", order_by=("pk",), attrs={"td": {"class": "app-nowrap"}})
    practice = Column("Practice", accessor="practice__name", order_by=("practice__name", "pk"))
    ods_code = Column("ODS code", accessor="practice__code", visible=False)
    status = Column("Status", order_by=("status", "pk"))
    urgency = Column("Urgency", order_by=("urgency", "pk"))
    triage = Column("Triage", accessor="triage_scope", order_by=("triage_scope", "triage_impact", "pk"))
    opened = DateColumn("Opened", accessor="opened_at", order_by=("opened_at", "pk"))
    attention = Column("Needs attention", accessor="pk", orderable=False)

    class Meta:
        row_attrs = {"class": _overdue_class}

    def __init__(self, data: QuerySet[Case], *, today: date, **kwargs: Any) -> None:
        self.today = today
        super().__init__(data, **kwargs)

    def render_ref(self, record: Case) -> str:
        return format_html('<a href="{}">{}</a>', url("cases:detail", record.pk), record.ref)

    def value_ref(self, record: Case) -> str:
        return record.ref

    def render_practice(self, record: Case) -> str:
        p = record.practice
        return format_html('{}<br><span class="app-muted">{}</span>', p.display_name, p.code)

    def value_practice(self, record: Case) -> str:
        return record.practice.display_name

    def render_status(self, record: Case) -> str:
        return record.get_status_display()

    def render_urgency(self, record: Case) -> str:
        return record.get_urgency_display()

    def render_triage(self, record: Case) -> str:
        if not record.triage_scope:
            return "–"
        return f"Scope {record.triage_scope}, impact {record.triage_impact}"

    def value_triage(self, record: Case) -> str:
        return self.render_triage(record) if record.triage_scope else ""

    def render_attention(self, record: Case) -> str:
        return self.value_attention(record)

    def value_attention(self, record: Case) -> str:
        notes = record.overdue_reasons(self.today)
        if getattr(record, "waiting", 0):
            notes.append("Package awaiting approval")
        return "; ".join(notes)
