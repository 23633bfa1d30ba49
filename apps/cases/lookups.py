"""Small reads of cases for other apps' pages (the watch list, the home page), always through the access chokepoint:
a page shows a case's reference and state only to someone who may open the case."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from apps.accounts.models import User
from apps.cases import policy as access
from apps.cases.models import Status


@dataclass(frozen=True)
class OpenCase:
    pk: int
    status: str

    @property
    def ref(self) -> str:
        return f"CASE-{self.pk:06d}"

    @property
    def status_label(self) -> str:
        return str(Status(self.status).label)


def open_cases_by_practice(user: User, practice_codes: Iterable[str]) -> dict[str, OpenCase]:
    """The open case of each of these practices that ``user`` may see (one query; a practice has at most one open
    case). The national team, and anyone else who may not see a case, gets none."""
    rows = (
        access.cases_visible_to(user)
        .open()
        .filter(practice__code__in=list(practice_codes))
        .order_by()
        .values_list("practice__code", "pk", "status")
    )
    return {code: OpenCase(pk, status) for code, pk, status in rows}
