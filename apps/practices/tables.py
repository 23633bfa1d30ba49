"""The register as a table and its filters (apps/core/tables.py): search by ODS code, name or postcode; narrow by
region, ICB, PCN and status. The narrowing itself is :func:`apps.practices.services.filter_practices`, which the API
shares; the FilterSet is its form."""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django.core.paginator import Paginator
from django.db.models import F, QuerySet
from django.http import QueryDict
from django.utils.html import format_html
from django_tables2.rows import BoundRow

from apps.core.links import url
from apps.core.tables import Column, DataTable, NumberColumn
from apps.practices.models import ICB, Practice, PracticeStatus, Region
from apps.practices.services import STATUS_ALL, filter_practices


class PracticeFilter(filters.FilterSet):
    """``status`` is "active" unless the query asks for another (``all`` for any); an unknown one shows all."""

    q = filters.CharFilter(label="ODS code, name or postcode")
    region = filters.ChoiceFilter(label="Region", choices=(), empty_label="All regions")
    icb = filters.ChoiceFilter(label="ICB", choices=(), empty_label="All ICBs")
    pcn = filters.CharFilter(label="PCN code", help_text="For example, U89141")
    status = filters.ChoiceFilter(
        label="Status", choices=[(STATUS_ALL, "Any status"), *PracticeStatus.choices], empty_label=None
    )

    class Meta:
        model = Practice
        fields: list[str] = []

    def __init__(self, data: QueryDict | None, queryset: QuerySet[Practice], **kwargs: Any) -> None:
        data = data.copy() if data is not None else QueryDict(mutable=True)
        data.setdefault("status", PracticeStatus.ACTIVE)
        for key in ("region", "icb"):  # codes are upper case; a link may not be
            if data.get(key):
                data[key] = data[key].strip().upper()
        super().__init__(data, queryset=queryset, **kwargs)
        region = data.get("region") or ""
        self.filters["region"].extra["choices"] = [(r.code, r.name) for r in Region.objects.order_by("name")]
        icbs = ICB.objects.filter(region__code=region) if region else ICB.objects.all()
        self.filters["icb"].extra["choices"] = [(i.code, i.short_name) for i in icbs.order_by("name")]

    def filter_queryset(self, queryset: QuerySet[Practice]) -> QuerySet[Practice]:
        """Every field at once, by the register's own service (a field with an odd value is left out)."""
        c = self.form.cleaned_data
        qs, self.status = filter_practices(
            queryset,
            q=(c.get("q") or "")[:100],
            region=c.get("region") or "",
            icb=c.get("icb") or "",
            pcn=(c.get("pcn") or "").strip().upper()[:8],
            status=c.get("status") or STATUS_ALL,
        )
        return qs

    @property
    def text(self) -> str:
        return ((self.form.cleaned_data or {}).get("q") or "").strip() if self.is_bound else ""


class IdsFirstPaginator(Paginator):
    """Pages a free-text search: its matching ids are read in one scan that gives both the count and the order,
    and only the page's rows are then loaded (a count query and a page query would scan the register twice)."""

    def __init__(self, rows: Any, per_page: int, **kwargs: Any) -> None:
        self.table = rows.table
        super().__init__(list(rows.data.data.values_list("pk", flat=True)), per_page, **kwargs)

    def page(self, number: Any) -> Any:
        page = super().page(number)
        found = Practice.objects.select_related("icb", "pcn").in_bulk(list(page.object_list))
        page.object_list = [BoundRow(found[pk], table=self.table) for pk in page.object_list if pk in found]
        return page


class PracticeTable(DataTable):
    """Practices by name unless sorted; ``show_icb=False`` on an ICB's or PCN's own page."""

    name = Column("Practice", order_by=("name", "code"))
    code = Column("ODS code", order_by=("code",))
    postcode = Column("Postcode", order_by=("postcode", "code"), attrs={"td": {"class": "app-nowrap"}})
    icb = Column("ICB", accessor="icb__short_name", order_by=("icb__name", "name", "code"))
    pcn = Column("PCN", accessor="pcn__name", order_by=("pcn__name", "name", "code"))
    list_size = NumberColumn("Registered patients", order_by=("list_size", "code"))
    status = Column("Status", order_by=("status", "name", "code"))

    def __init__(self, data: Any, *, show_icb: bool = True, **kwargs: Any) -> None:
        super().__init__(data, exclude=() if show_icb else ("icb",), **kwargs)

    def order_list_size(self, queryset: QuerySet[Practice], is_descending: bool) -> tuple[QuerySet[Practice], bool]:
        """Practices with no list size last either way (PostgreSQL would put them first when descending)."""
        size = F("list_size").desc(nulls_last=True) if is_descending else F("list_size").asc(nulls_last=True)
        return queryset.order_by(size, "-code" if is_descending else "code"), True

    def render_name(self, record: Practice) -> str:
        return format_html('<a href="{}">{}</a>', url("practices:detail", record.code), record.display_name)

    def render_pcn(self, record: Practice) -> str:
        pcn = record.pcn
        assert pcn is not None  # an empty PCN shows the table's default
        return format_html('<a href="{}">{}</a>', url("practices:pcn_detail", pcn.code), pcn.name)
