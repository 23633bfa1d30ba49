"""Who may take a package line: capacity month by month and every reason a member or organisation is refused.

The rules are stated in :mod:`apps.delivery.services` (which re-exports these names). Everything the check needs is
loaded for a whole list of members (or organisations) in a fixed number of queries, so the delivery case page costs
the same number of queries with 10 or 500 faculty members; checking one member is the same code with a list of one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache

from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.cases.models import Package, PackageLine, PackagePractice
from apps.delivery import policy
from apps.delivery.models import (
    STAGE_ORDER,
    Accreditation,
    Assignment,
    ConflictOfInterest,
    FacultyMember,
    ProviderOrganisation,
    Session,
    Stage,
)
from apps.practices.models import Practice

APPRENTICE_MAY_DELIVER_FROM = Stage.SUPERVISED_PRACTICE

Load = dict[date, float]


def month_start(d: date) -> date:
    return d.replace(day=1)


def months_between(start: date, end: date) -> list[date]:
    out, m = [], month_start(start)
    while m <= end:
        out.append(m)
        m = next_month(m)
    return out


def next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


Window = tuple[date, date]
"""The first and last day of the packages being checked: only the load in their months is compared with capacity."""


def _window(packages: Iterable[Package]) -> Window:
    packages = list(packages)
    return min(p.starts for p in packages), max(p.ends for p in packages)


def _assignments_within(qs: QuerySet[Assignment], within: Window | None) -> QuerySet[Assignment]:
    """Only the assignments that put hours in a month of ``within`` (every one when None): a capacity check reads
    the months of the package, so an ICB's years of finished work need not be spread again on every check. An
    assignment's hours fall in the months from its start's month to its end (:func:`_spread`)."""
    if within is None:
        return qs
    start, end = within
    return qs.filter(starts__lt=next_month(end), ends__gte=month_start(start))


@lru_cache(maxsize=4096)
def _months(start: date, end: date) -> tuple[date, ...]:
    return tuple(months_between(start, end))  # many assignments share a package's dates


def _spread(assignments: Iterable[Assignment], key: str) -> dict[int, Load]:
    """Live assignments spread evenly over their months, keyed by ``member_id`` or ``organisation_id``."""
    loads: dict[int, Load] = defaultdict(lambda: defaultdict(float))
    for a in assignments:
        per_month, load = a.hours_per_month, loads[getattr(a, key)]
        for m in _months(a.starts, a.ends):
            load[m] += per_month
    return loads


def _without_line(
    base: Mapping[int, Load], live: Sequence[Assignment], line_ids: set[int], line: PackageLine, key: str
) -> dict[int, Load]:
    """As ``_spread`` of ``live`` but ``line``'s own, given ``base``: the spread of every assignment but those on
    ``line_ids`` (the lines being checked together). Only the members or organisations holding one of those lines
    get their own copy, so checking several lines spreads the years of other work once, not once a line."""
    loads: dict[int, Load] = defaultdict(lambda: defaultdict(float), base)
    others = [a for a in live if a.line_id in line_ids and a.line_id != line.pk]
    for holder in {getattr(a, key) for a in others}:
        loads[holder] = defaultdict(float, base.get(holder, {}))
    for holder, months in _spread(others, key).items():
        for m, hours in months.items():
            loads[holder][m] += hours
    return loads


def member_loads(
    member_ids: Sequence[int], *, exclude_line: PackageLine | None = None, within: Window | None = None
) -> dict[int, Load]:
    """Hours already committed by each member, month by month (two queries for any number of members); with
    ``within``, the months of that window are exact and the others may be left out."""
    assignments = Assignment.objects.filter(member_id__in=member_ids, ended_at__isnull=True).only(
        "member_id", "hours", "starts", "ends"
    )
    if exclude_line is not None:
        assignments = assignments.exclude(line=exclude_line)
    loads = _spread(_assignments_within(assignments, within), "member_id")
    _add_loose_sessions(loads, member_ids, within)
    return loads


def _add_loose_sessions(loads: dict[int, Load], member_ids: Sequence[int], within: Window | None = None) -> None:
    """Add the sessions that belong to no assignment (booked coaching) to ``loads``, each in its own month (with
    ``within``, only those in its months)."""
    loose = (
        Session.objects.filter(member_id__in=member_ids, assignment__isnull=True)
        .exclude(state=Session.State.CANCELLED)
        .only("member_id", "starts_at", "planned_hours", "delivered_hours", "state")
    )
    if within is not None:
        tz = timezone.get_current_timezone()
        loose = loose.filter(
            starts_at__gte=datetime.combine(month_start(within[0]), time.min, tz),
            starts_at__lt=datetime.combine(next_month(within[1]), time.min, tz),
        )
    for s in loose:
        loads[s.member_id][month_start(timezone.localtime(s.starts_at).date())] += s.hours


def organisation_loads(
    org_ids: Sequence[int], *, exclude_line: PackageLine | None = None, within: Window | None = None
) -> dict[int, Load]:
    """Hours of organisation-level work (no named member) already committed, per organisation and month (with
    ``within``, exact in its months)."""
    assignments = Assignment.objects.filter(
        organisation_id__in=org_ids, member__isnull=True, ended_at__isnull=True
    ).only("organisation_id", "hours", "starts", "ends")
    if exclude_line is not None:
        assignments = assignments.exclude(line=exclude_line)
    return _spread(_assignments_within(assignments, within), "organisation_id")


def load_by_month(
    member: FacultyMember | None = None,
    organisation: ProviderOrganisation | None = None,
    *,
    exclude_line: PackageLine | None = None,
) -> Load:
    """Hours already committed, month by month: live assignments spread over their months, plus sessions that belong
    to no assignment (booked coaching) in their own month. For an organisation: its organisation-level work only."""
    if member is not None:
        return dict(member_loads([member.pk], exclude_line=exclude_line).get(member.pk, {}))
    assert organisation is not None
    return dict(organisation_loads([organisation.pk], exclude_line=exclude_line).get(organisation.pk, {}))


def line_hours(line: PackageLine) -> float:
    """Provider hours a line needs: hours per unit × units (for per-patient offers, the units asked for)."""
    units = line.units if line.offer.unit_basis == "fixed" else line.requested_units
    return round(line.offer.coach_hours_per_unit * units, 2)


def _package_practices(package: Package) -> list[Practice]:
    return [pp.practice for pp in package.practices.select_related("practice")] or [package.case.practice]


def _capacity_refusal(
    name: str, capacity: float, load: Mapping[date, float], package: Package, hours: float
) -> list[str]:
    months = months_between(package.starts, package.ends)
    per_month = hours / max(1, len(months))
    for m in months:
        used = load.get(m, 0.0)
        if used + per_month > capacity + 1e-6:
            free = max(0.0, capacity - used)
            return [
                f"{name} has {free:.1f} of {capacity:.0f} hours a month free in {m:%B %Y}; "
                f"this line needs {per_month:.1f} hours a month."
            ]
    return []


@dataclass
class _MemberFacts:
    """What the check needs about a list of members beyond their own rows, loaded once for the list."""

    delivers: set[int] = field(default_factory=set)
    covers: set[int] = field(default_factory=set)
    conflicts: dict[int, list[ConflictOfInterest]] = field(default_factory=dict)
    loads: dict[int, Load] = field(default_factory=dict)


def _member_facts(members: Sequence[FacultyMember], line: PackageLine) -> _MemberFacts:
    ids = [m.pk for m in members]
    facts = _MemberFacts()
    if not ids:
        return facts
    case = line.package.case
    facts.delivers = set(FacultyMember.objects.filter(pk__in=ids, offers=line.offer_id).values_list("pk", flat=True))
    facts.covers = set(FacultyMember.objects.filter(pk__in=ids, icbs=case.icb_id).values_list("pk", flat=True))
    practices = _package_practices(line.package)
    pcn_ids = {p.pcn_id for p in practices if p.pcn_id}
    conflicts = ConflictOfInterest.objects.filter(member_id__in=ids).filter(
        Q(practice__in=practices) | Q(pcn_id__in=pcn_ids)
    )
    by_member: dict[int, list[ConflictOfInterest]] = defaultdict(list)
    for c in conflicts.select_related("practice", "pcn"):
        by_member[c.member_id].append(c)
    facts.conflicts = by_member
    facts.loads = member_loads(ids, exclude_line=line, within=_window([line.package]))
    return facts


def _member_refusals(member: FacultyMember, line: PackageLine, hours: float, facts: _MemberFacts) -> list[str]:
    case = line.package.case
    out: list[str] = []
    if not member.active:
        out.append(f"{member.name} is no longer active.")
    if member.pk not in facts.delivers:
        out.append(f"{member.name} does not deliver {line.offer.title}.")
    if member.pk not in facts.covers:
        out.append(f"{member.name} does not cover {case.icb.short_name}.")
    if policy.is_apprentice(member.role):
        if not member.stage or STAGE_ORDER.index(member.stage) < STAGE_ORDER.index(APPRENTICE_MAY_DELIVER_FROM):
            out.append(f"{member.name} is an apprentice not yet at supervised practice.")
        elif member.stage != Stage.ACCREDITED and (member.supervisor is None or not member.supervisor.is_accredited):
            out.append(f"{member.name} is an apprentice without an accredited supervisor.")
    elif member.accreditation != Accreditation.NOT_REQUIRED and not member.is_accredited:
        out.append(f"{member.name}'s accreditation is not current.")
    for c in facts.conflicts.get(member.pk, []):
        where = c.practice.display_name if c.practice else f"the PCN {c.pcn.name if c.pcn else ''}"
        out.append(f"{member.name} has declared a conflict of interest with {where}: {c.description}.")
    out += _capacity_refusal(
        member.name, member.capacity_hours_per_month, facts.loads.get(member.pk, {}), line.package, hours
    )
    return out


def refusals(member: FacultyMember, line: PackageLine, hours: float) -> list[str]:
    """Every reason ``member`` cannot take ``line`` (empty when they can), in words for the ICB team."""
    return _member_refusals(member, line, hours, _member_facts([member], line))


@dataclass(frozen=True)
class Candidate:
    member: FacultyMember
    reasons: list[str]

    @property
    def eligible(self) -> bool:
        return not self.reasons


def candidates_for(line: PackageLine) -> list[Candidate]:
    """Active members who deliver the line's offer, eligible first, each with the reasons they cannot take it."""
    hours = line_hours(line)
    members = list(FacultyMember.objects.active().delivering(line.offer).select_related("supervisor", "organisation"))
    facts = _member_facts(members, line)
    out = [Candidate(m, _member_refusals(m, line, hours, facts)) for m in members]
    return sorted(out, key=lambda c: (not c.eligible, c.member.name))


def organisations_refusals(
    orgs: Sequence[ProviderOrganisation], line: PackageLine, hours: float
) -> list[tuple[ProviderOrganisation, list[str]]]:
    """Each organisation with every reason it cannot take ``line`` as a whole, checked in a fixed number of
    queries."""
    ids = [o.pk for o in orgs]
    if not ids:
        return []
    case = line.package.case
    delivers = set(ProviderOrganisation.objects.filter(pk__in=ids, offers=line.offer_id).values_list("pk", flat=True))
    covers = set(ProviderOrganisation.objects.filter(pk__in=ids, icbs=case.icb_id).values_list("pk", flat=True))
    loads = organisation_loads(ids, exclude_line=line, within=_window([line.package]))
    return [
        (org, _organisation_refusals(org, line, hours, org.pk in covers, loads, org.pk in delivers)) for org in orgs
    ]


def _organisation_refusals(
    org: ProviderOrganisation, line: PackageLine, hours: float, covers: bool, loads: Mapping[int, Load], delivers: bool
) -> list[str]:
    out: list[str] = []
    if not org.active:
        out.append(f"{org.name} is no longer active.")
    if not delivers:
        out.append(f"{org.name} does not deliver {line.offer.title}.")
    if not covers:
        out.append(f"{org.name} does not cover {line.package.case.icb.short_name}.")
    if org.lead_user_id is None:
        out.append(f"{org.name} has no lead account to receive the work.")
    out += _capacity_refusal(org.name, org.capacity_hours_per_month, loads.get(org.pk, {}), line.package, hours)
    return out


def organisation_refusals(org: ProviderOrganisation, line: PackageLine, hours: float) -> list[str]:
    """Every reason ``org`` cannot take ``line`` as a whole (empty when it can)."""
    return organisations_refusals([org], line, hours)[0][1]


# --- every line of a case at once (the delivery case page) -----------------------------------------------------------


def candidates_by_line(lines: Sequence[PackageLine]) -> dict[int, list[Candidate]]:
    """:func:`candidates_for` of each line (by line id) in a fixed number of queries for any number of lines and
    members: checking the lines of a case one by one cost seven queries a line. Each line's answer is
    :func:`candidates_for`'s (``apps/delivery/tests/test_case_page_queries.py`` compares them)."""
    if not lines:
        return {}
    offers_of: dict[int, set[int]] = defaultdict(set)
    for member_id, offer_id in FacultyMember.offers.through.objects.filter(
        supportoffer_id__in={ln.offer_id for ln in lines}
    ).values_list("facultymember_id", "supportoffer_id"):
        offers_of[member_id].add(offer_id)
    members = list(
        FacultyMember.objects.active().filter(pk__in=list(offers_of)).select_related("supervisor", "organisation")
    )
    ids = [m.pk for m in members]
    covers: dict[int, set[int]] = defaultdict(set)  # ICB id -> the members covering it
    for member_id, icb_id in FacultyMember.icbs.through.objects.filter(
        facultymember_id__in=ids, icb_id__in={ln.package.case.icb_id for ln in lines}
    ).values_list("facultymember_id", "icb_id"):
        covers[icb_id].add(member_id)
    shares: dict[int, list[Practice]] = defaultdict(list)
    for pp in PackagePractice.objects.filter(package_id__in={ln.package_id for ln in lines}).select_related("practice"):
        shares[pp.package_id].append(pp.practice)
    # as _package_practices: the practices sharing the package, or the case's own practice
    practices = {ln.package_id: shares[ln.package_id] or [ln.package.case.practice] for ln in lines}
    conflicts = list(
        ConflictOfInterest.objects.filter(member_id__in=ids)
        .filter(
            Q(practice_id__in={p.pk for ps in practices.values() for p in ps})
            | Q(pcn_id__in={p.pcn_id for ps in practices.values() for p in ps if p.pcn_id})
        )
        .select_related("practice", "pcn")
    )
    within = _window(ln.package for ln in lines)
    live = list(
        _assignments_within(Assignment.objects.filter(member_id__in=ids, ended_at__isnull=True), within).only(
            "member_id", "line_id", "hours", "starts", "ends"
        )
    )
    line_ids = {ln.pk for ln in lines}
    base = _spread((a for a in live if a.line_id not in line_ids), "member_id")
    _add_loose_sessions(base, ids, within)
    out: dict[int, list[Candidate]] = {}
    for line in lines:
        mine = [m for m in members if line.offer_id in offers_of[m.pk]]
        at = {p.pk for p in practices[line.package_id]}
        pcns = {p.pcn_id for p in practices[line.package_id] if p.pcn_id}
        by_member: dict[int, list[ConflictOfInterest]] = defaultdict(list)
        for c in conflicts:
            if c.practice_id in at or c.pcn_id in pcns:
                by_member[c.member_id].append(c)
        # as member_loads(exclude_line=line): the other lines' live assignments, plus the loose sessions
        loads = _without_line(base, live, line_ids, line, "member_id")
        facts = _MemberFacts({m.pk for m in mine}, covers[line.package.case.icb_id], by_member, loads)
        hours = line_hours(line)
        found = [Candidate(m, _member_refusals(m, line, hours, facts)) for m in mine]
        out[line.pk] = sorted(found, key=lambda c: (not c.eligible, c.member.name))
    return out


def organisations_by_line(lines: Sequence[PackageLine]) -> dict[int, list[tuple[ProviderOrganisation, list[str]]]]:
    """For each line (by id), the active organisations delivering its offer, each with
    :func:`organisations_refusals`'s reasons, in a fixed number of queries for any number of lines."""
    if not lines:
        return {}
    offers_of: dict[int, set[int]] = defaultdict(set)
    for org_id, offer_id in ProviderOrganisation.offers.through.objects.filter(
        supportoffer_id__in={ln.offer_id for ln in lines}
    ).values_list("providerorganisation_id", "supportoffer_id"):
        offers_of[org_id].add(offer_id)
    orgs = list(ProviderOrganisation.objects.filter(pk__in=list(offers_of), active=True))
    ids = [o.pk for o in orgs]
    covers: dict[int, set[int]] = defaultdict(set)
    for org_id, icb_id in ProviderOrganisation.icbs.through.objects.filter(
        providerorganisation_id__in=ids, icb_id__in={ln.package.case.icb_id for ln in lines}
    ).values_list("providerorganisation_id", "icb_id"):
        covers[icb_id].add(org_id)
    live = list(
        _assignments_within(
            Assignment.objects.filter(organisation_id__in=ids, member__isnull=True, ended_at__isnull=True),
            _window(ln.package for ln in lines),
        ).only("organisation_id", "line_id", "hours", "starts", "ends")
    )
    line_ids = {ln.pk for ln in lines}
    base = _spread((a for a in live if a.line_id not in line_ids), "organisation_id")
    out: dict[int, list[tuple[ProviderOrganisation, list[str]]]] = {}
    for line in lines:
        mine = [o for o in orgs if line.offer_id in offers_of[o.pk]]  # each delivers the offer: that is how it came
        hours = line_hours(line)
        loads = _without_line(base, live, line_ids, line, "organisation_id")
        out[line.pk] = [
            (o, _organisation_refusals(o, line, hours, o.pk in covers[line.package.case.icb_id], loads, True))
            for o in mine
        ]
    return out
