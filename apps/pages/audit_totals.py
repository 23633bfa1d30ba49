"""The audit trail as totals: how many creates, changes and deletes of each kind of record, per month and per ICB of
the person who acted. This is what the national team sees of case-level records
(``apps.pages.policy.audit_lines_listed_for``): a line naming the practice user who opened a case would identify that
practice's case.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.db.models import QuerySet
from django.utils import timezone

from apps.accounts.models import User
from apps.core.models import AuditRecord

NO_ICB = "No ICB"  # national staff, providers, commands and the system act outside any one ICB


@dataclass
class AuditTotal:
    month: date
    icb: str
    model: str
    action: str
    count: int = 0
    fields: set[str] = field(default_factory=set)

    @property
    def action_label(self) -> str:
        return AuditRecord.Action(self.action).label


def _icb_of_actors(actor_ids: Iterable[int]) -> dict[int, str]:
    """The ICB each acting user works in (an ICB team's or LMC's own, a practice's ICB), by user id."""
    out: dict[int, str] = {}
    for u in User.objects.filter(pk__in=set(actor_ids)).select_related("icb", "practice__icb"):
        icb = u.icb or (u.practice.icb if u.practice else None)
        out[u.pk] = icb.short_name if icb else NO_ICB
    return out


def audit_totals(qs: QuerySet[AuditRecord]) -> list[AuditTotal]:
    """Counts (and the union of fields changed) per month, actor's ICB, record and action; newest month first."""
    rows = list(qs.values_list("at", "actor_id", "model", "action", "changes"))
    icbs = _icb_of_actors(a for _, a, _, _, _ in rows if a is not None)
    totals: dict[tuple[date, str, str, str], AuditTotal] = {}
    for at, actor_id, model, action, changes in rows:
        month = timezone.localtime(at).date().replace(day=1)
        icb = icbs.get(actor_id, NO_ICB) if actor_id is not None else NO_ICB
        key = (month, icb, model, action)
        total = totals.setdefault(key, AuditTotal(month, icb, model, action))
        total.count += 1
        total.fields |= set(changes)
    return sorted(totals.values(), key=lambda t: (-t.month.toordinal(), t.icb, t.model, t.action))
