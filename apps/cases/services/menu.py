"""The menu of support, loaded from ``analytics/menu/offers.toml``."""

from __future__ import annotations

from django.db import transaction

from analytics.menu.offers import load_menu
from apps.cases.models import (
    SupportOffer,
)
from apps.core import audit


def sync_menu() -> tuple[int, int, int]:
    """Load ``analytics/menu/offers.toml`` into SupportOffer rows: (created, updated, retired)."""
    offers = load_menu()
    created = updated = 0
    with transaction.atomic():
        for i, o in enumerate(offers):
            fields = {
                "programme": o.programme,
                "heading": o.heading,
                "title": o.title,
                "description": o.description,
                "unit": o.unit,
                "unit_cost_pence": o.unit_cost_pence,
                "unit_basis": o.unit_basis,
                "max_units": o.max_units,
                "coach_hours_per_unit": o.coach_hours_per_unit,
                "group": o.group,
                "requires_impact": list(o.requires_impact),
                "requires_signed_off_plan": o.requires_signed_off_plan,
                "not_fundable": list(o.not_fundable),
                "effect": o.effect,
                "standard_units": o.standard_units,
                "price_source": o.price_source,
                "effect_source": o.effect_source,
                "order": i,
                "active": True,
            }
            row = SupportOffer.objects.filter(code=o.code).first()
            if row is None:
                SupportOffer.objects.create(code=o.code, **fields)
                created += 1
            elif any(getattr(row, k) != v for k, v in fields.items()):
                SupportOffer.objects.filter(pk=row.pk).update(**fields)
                updated += 1
        retired = (
            SupportOffer.objects.filter(active=True).exclude(code__in=[o.code for o in offers]).update(active=False)
        )
        if created or updated or retired:
            audit.record_bulk(
                SupportOffer, None, "update", f"menu synced: {created} new, {updated} changed, {retired} retired"
            )
    return created, updated, retired
