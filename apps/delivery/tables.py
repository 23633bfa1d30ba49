"""The ICB's delivery list (package lines being delivered, with their sessions) as a table and its filters
(apps/core/tables.py): search by practice name or ODS code; narrow by programme and provider organisation. Session
counts are annotated in the database, so a page costs the same queries however many sessions its lines have."""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.html import format_html

from apps.cases.models import SupportOffer
from apps.core.links import url
from apps.core.tables import Column, DataTable, NumberColumn
from apps.delivery.models import Assignment, ProviderOrganisation, Session


def _sessions_where(condition: Q) -> Coalesce:
    """The number of the row's sessions meeting ``condition``, as a subquery on the row: the database counts them for
    the rows of the page it returns, not for every line of the ICB before cutting the page (a join and GROUP BY over
    all of them did: 22 ms at 70x)."""
    counted = (
        Session.objects.filter(condition, assignment=OuterRef("pk"))
        .order_by()
        .values("assignment")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def with_session_counts(qs: QuerySet[Assignment]) -> QuerySet[Assignment]:
    """Each line with its planned, delivered and confirmed sessions counted alongside."""
    return qs.annotate(
        planned=_sessions_where(Q(state=Session.State.PLANNED)),
        delivered=_sessions_where(Q(state=Session.State.DELIVERED)),
        confirmed=_sessions_where(Q(confirmed_at__isnull=False)),
    )


class AssignmentFilter(filters.FilterSet):
    q = filters.CharFilter(label="Practice name or ODS code", method="search")
    programme = filters.ChoiceFilter(
        label="Programme", field_name="line__offer__programme", choices=(), empty_label="Any"
    )
    provider = filters.ModelChoiceFilter(
        label="Provider", field_name="organisation", queryset=ProviderOrganisation.objects.none(), empty_label="Any"
    )

    class Meta:
        model = Assignment
        fields: list[str] = []

    def __init__(self, data: Any, queryset: QuerySet[Assignment], **kwargs: Any) -> None:
        super().__init__(data, queryset=queryset, **kwargs)
        programmes = SupportOffer.objects.order_by("programme").values_list("programme", flat=True).distinct()
        self.filters["programme"].extra["choices"] = [(p, p) for p in programmes]
        # the organisations delivering this ICB's lines, and no others
        self.filters["provider"].queryset = (
            ProviderOrganisation.objects.filter(  # type: ignore[attr-defined]
                assignments__in=queryset.values("pk")
            )
            .distinct()
            .order_by("name")
        )

    def search(self, qs: QuerySet[Assignment], name: str, value: str) -> QuerySet[Assignment]:
        text = value.strip()[:100]
        if not text:
            return qs
        return qs.filter(Q(case__practice__name__icontains=text) | Q(case__practice__code__iexact=text))


class AssignmentTable(DataTable):
    """Oldest case first unless sorted; the three session counts export as their own columns."""

    case = Column("Case", accessor="case_id", order_by=("case__opened_at", "pk"), attrs={"td": {"class": "app-nowrap"}})
    practice = Column("Practice", accessor="case__practice__name", order_by=("case__practice__name", "pk"))
    ods_code = Column("ODS code", accessor="case__practice__code", visible=False)
    support = Column("Support", accessor="line__offer__title", order_by=("line__offer__title", "pk"))
    deliverer = Column("Delivered by", accessor="organisation__name", order_by=("organisation__name", "pk"))
    hours = NumberColumn("Hours", order_by=("hours", "pk"))
    sessions = Column(
        "Sessions planned / delivered / confirmed", accessor="pk", order_by=("planned", "pk"), exclude_from_export=True
    )
    planned = NumberColumn("Sessions planned", visible=False)
    delivered = NumberColumn("Sessions delivered", visible=False)
    confirmed = NumberColumn("Sessions confirmed", visible=False)

    def render_case(self, record: Assignment) -> str:
        return format_html('<a href="{}">{}</a>', url("delivery:case", record.case_id), record.case.ref)

    def value_case(self, record: Assignment) -> str:
        return record.case.ref

    def render_practice(self, record: Assignment) -> str:
        return record.case.practice.display_name

    def render_deliverer(self, record: Assignment) -> str:
        return record.deliverer

    def value_deliverer(self, record: Assignment) -> str:
        return record.deliverer

    def render_hours(self, value: float) -> str:
        return f"{value:,.1f}"

    def render_sessions(self, record: Any) -> str:
        return f"{record.planned} / {record.delivered} / {record.confirmed}"
