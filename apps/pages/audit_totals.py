"""The audit trail as totals: how many creates, changes and deletes of each kind of record, per month and per ICB of
the person who acted. This is what the national team sees of case-level records
(``apps.pages.policy.audit_lines_listed_for``): a line naming the practice user who opened a case would identify that
practice's case.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import Count, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from apps.accounts.models import User
from apps.core.models import AuditRecord
from apps.pages.models import AuditTally, AuditTallyMark

NO_ICB = "No ICB"  # national staff, providers, commands and the system act outside any one ICB
# Records younger than this are left to the next refresh: a transaction still open that long could yet commit a
# record stamped before the mark, which would then be counted nowhere. (Ten minutes is far beyond any request.)
SETTLE = timedelta(minutes=10)
NEVER = datetime(2000, 1, 1, tzinfo=UTC)


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


Key = tuple[date, str, str, str]


def key_of(t: AuditTotal | AuditTally) -> Key:
    """What a total (or a stored tally) is one line of: month, ICB, kind of record, action."""
    return (t.month, t.icb, t.model, t.action)


class Totals:
    """Totals being added up, one line per :func:`key_of`, from the grouped trail and from stored tallies alike;
    listed newest month first, then by ICB, record and action (the page's order)."""

    def __init__(self) -> None:
        self._lines: dict[Key, AuditTotal] = {}

    def add(self, month: date, icb: str, model: str, action: str, count: int = 0, fields: Iterable[str] = ()) -> None:
        line = self._lines.setdefault((month, icb, model, action), AuditTotal(month, icb, model, action))
        line.count += count
        line.fields.update(fields)

    def listed(self) -> list[AuditTotal]:
        return sorted(self._lines.values(), key=lambda t: (-t.month.toordinal(), t.icb, t.model, t.action))


def _icb_of_actors(actor_ids: Iterable[int]) -> dict[int, str]:
    """The ICB each acting user works in (an ICB team's or LMC's own, a practice's ICB), by user id."""
    out: dict[int, str] = {}
    for u in User.objects.filter(pk__in=set(actor_ids)).select_related("icb", "practice__icb"):
        icb = u.icb or (u.practice.icb if u.practice else None)
        out[u.pk] = icb.short_name if icb else NO_ICB
    return out


def audit_totals(qs: QuerySet[AuditRecord]) -> list[AuditTotal]:
    """Counts (and the union of fields changed) per month, actor's ICB, record and action; newest month first.

    Three queries whatever the size of the trail: the counts grouped in SQL, the distinct changed-field names grouped
    in SQL (``_changed_fields``), and the acting users' ICBs. Grouping by actor first keeps the rows read into Python
    bounded by months x actors x records x actions, not by how many audit rows there are."""
    by_actor = (
        qs.order_by()
        .annotate(month=TruncMonth("at"))
        .values("month", "actor_id", "model", "action")
        .annotate(n=Count("pk"))
    )
    counts = [(_month(r["month"]), r["actor_id"], r["model"], r["action"], r["n"]) for r in by_actor]
    fields = _changed_fields(qs)
    icbs = _icb_of_actors({a for _, a, _, _, _ in counts if a is not None} | {a for _, a, _, _, _ in fields if a})
    totals = Totals()
    for month, actor_id, model, action, n in counts:  # no actor (a command, the system): NO_ICB
        totals.add(month, icbs.get(actor_id, NO_ICB), model, action, count=n)
    for month, actor_id, model, action, name in fields:
        totals.add(month, icbs.get(actor_id, NO_ICB), model, action, fields=[name])
    return totals.listed()


def refresh_tallies(settle: timedelta = SETTLE) -> datetime:
    """Add the audit records stamped since the mark (and at least ``settle`` ago) to the tallies; the new mark.

    The work is in step with the records added since the last refresh, not with the trail: the scheduled job
    (``enqueue_scheduled audit``, every few minutes) keeps it small. The mark row is locked, so two refreshes never
    count the same records twice."""
    cutoff = timezone.now() - settle
    with transaction.atomic():
        AuditTallyMark.objects.get_or_create(pk=1, defaults={"upto": NEVER})
        mark = AuditTallyMark.objects.select_for_update().get(pk=1)
        if cutoff <= mark.upto:
            return mark.upto
        fresh = audit_totals(AuditRecord.objects.filter(at__gt=mark.upto, at__lte=cutoff))
        if fresh:
            held = {key_of(t): t for t in AuditTally.objects.filter(month__in={f.month for f in fresh})}
            added, grown = [], []
            for f in fresh:
                t = held.get(key_of(f))
                if t is None:
                    added.append(AuditTally(month=f.month, icb=f.icb, model=f.model, action=f.action, count=f.count,
                                            fields=sorted(f.fields)))  # fmt: skip
                else:
                    t.count, t.fields = t.count + f.count, sorted(set(t.fields) | f.fields)
                    grown.append(t)
            AuditTally.objects.bulk_create(added, batch_size=500)
            AuditTally.objects.bulk_update(grown, ["count", "fields"], batch_size=500)
        mark.upto = cutoff
        mark.save(update_fields=["upto"])
    return cutoff


def audit_kinds() -> list[str]:
    """Every kind of record the trail may hold: the audited models, and any other kind already tallied."""
    from apps.core import audit

    kinds = {m._meta.label for m in audit.audited_models()}
    return sorted(kinds | set(AuditTally.objects.order_by().values_list("model", flat=True).distinct()))


def tallied_totals(qs: QuerySet[AuditRecord], *, model: str = "", action: str = "", exclude: Iterable[str] = ()
                   ) -> list[AuditTotal]:  # fmt: skip
    """The same totals as ``audit_totals(qs)`` for ``qs`` = the records of ``model`` / ``action`` (when given) not
    of the ``exclude`` models: the tallies up to the mark, plus the few records after it grouped now. A constant
    number of queries, and work in step with the records since the last refresh, not with the trail."""
    mark = AuditTallyMark.objects.filter(pk=1).values_list("upto", flat=True).first() or NEVER
    tallies = AuditTally.objects.exclude(model__in=list(exclude))
    if model:
        tallies = tallies.filter(model=model)
    if action:
        tallies = tallies.filter(action=action)
    totals = Totals()
    for t in [*tallies, *audit_totals(qs.filter(at__gt=mark))]:
        totals.add(*key_of(t), count=t.count, fields=t.fields)
    return totals.listed()


# The JSON column's keys as rows: SQLite's json_each is a table, PostgreSQL's jsonb_object_keys a set-returning
# function; either joins (laterally) to the grouped query's rows.
_KEYS_OF = {
    "sqlite": "json_each(q.changes) AS k",
    "postgresql": "jsonb_object_keys(q.changes) AS k(key)",
}


def _changed_fields(qs: QuerySet[AuditRecord]) -> list[tuple[date, int | None, str, str, str]]:
    """Each distinct (month, actor, record, action, field name) among the rows' ``changes``, found in SQL. The month
    is truncated by Django (in the current time zone, as the counts are) in the inner query."""
    inner = (
        qs.order_by().annotate(month=TruncMonth("at")).values_list("month", "actor_id", "model", "action", "changes")
    )
    try:
        sql, params = inner.query.sql_with_params()
    except EmptyResultSet:  # a filter that can match nothing: there are no fields to name
        return []
    keys = _KEYS_OF[connection.vendor]
    # The inner SQL is the ORM's own (its values stay parameters) and keys one of two fixed strings. MATERIALIZED:
    # SQLite would otherwise fold the inner query in and truncate each row's month once per changed field rather
    # than once per row (it was 120 ms instead of 20 ms for 3,600 rows while the truncation was a Python function;
    # it still is one in a zone other than the process's, see apps.core.backends.sqlite3).
    wrapped = (
        f"WITH q AS MATERIALIZED ({sql}) "  # noqa: S608
        f"SELECT DISTINCT q.month, q.actor_id, q.model, q.action, k.key FROM q, {keys}"
    )
    with connection.cursor() as cursor:
        cursor.execute(wrapped, params)
        return [(_month(m), a, model, action, name) for m, a, model, action, name in cursor.fetchall()]


def _month(value: object) -> date:
    """A truncated month as a date: the ORM gives a datetime, a raw SQLite cursor the text ``YYYY-MM-DD ...``."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
