"""Register queries shared by the search page and the API, so both filter in exactly the same way."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.practices.models import Practice, PracticeStatus

STATUS_ALL = "all"


def filter_practices(
    qs: QuerySet[Practice], *, q: str = "", region: str = "", icb: str = "", pcn: str = "", status: str = "active"
) -> tuple[QuerySet[Practice], str]:
    """Narrow ``qs`` (already scoped by ``access.practices_visible_to``) by free text, region, ICB, PCN and status.

    Returns the queryset ordered by name and code, and the status actually applied (``"all"`` for an unknown one).
    """
    qs = qs.search(q.strip()[:100])  # type: ignore[attr-defined]
    if region:
        qs = qs.filter(region__code=region.upper())
    if icb:
        qs = qs.in_icb(icb.upper())  # type: ignore[attr-defined]
    if pcn:
        qs = qs.in_pcn(pcn.strip().upper()[:8])  # type: ignore[attr-defined]
    if status in PracticeStatus.values:
        qs = qs.filter(status=status)
    else:
        status = STATUS_ALL
    return qs.order_by("name", "code"), status
