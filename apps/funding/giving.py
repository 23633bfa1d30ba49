"""Published spend in the 360Giving Data Standard: one grant per programme, financial year, recipient and menu
heading, checked against the package schema shipped in ``apps/funding/schemas/`` (see its PROVENANCE.md).

The rules (docs/money.md, "Published spend"):

* **Amounts come from the ledger, net of variations**: awarded = commitments + variations + decommitments, paid =
  payments; a payment not tied to an offer is published against its commitment's offers (and, for named
  recipients, its practices) in proportion to their amounts.
* **Cancelled or withdrawn awards are shown at their final amount.** Cancelling decommits what was not yet paid, so
  a cancelled award is published at what was paid; one cancelled or varied down to nothing (withdrawn before any
  payment) is left out, with its practices: it was never money to anyone.
* **The programme decides how recipients are shown** (``Programme.publish_recipients``): named practices (a grant
  per practice, heading and year), or aggregated to ICB level. Aggregated, a group of fewer than
  :data:`MIN_GROUP` practices is never shown on its own: an ICB's small headings are **merged** into one "other
  support" grant for that ICB; if that still has fewer than five practices, it is merged into one grant per
  programme and year for several ICBs (recipient: the ICBs' practices, under the funder's identifier, because the
  standard needs a recipient organisation and naming one ICB would show the small group); only if even that has
  fewer than five practices is it **suppressed**, and the page states the suppressed total.
* Nothing else is published: no case reference, memo, reason, provider or invoice.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from django.db.models import Max, Min, Q, Sum
from django.utils import timezone

from analytics import money
from analytics.menu.offers import offers_by_code
from analytics.money import Kind
from apps.funding.models import LedgerEntry, Programme, PublishRecipients
from apps.funding.reports import COMMITTING
from apps.practices.models import ICB, Practice

SCHEMA = Path(__file__).with_name("schemas") / "360-giving-package-schema.json"
MIN_GROUP = 5  # an aggregate of fewer practices than this is never shown on its own
OTHER_HEADING = "Other support (headings with fewer than 5 practices)"
SEVERAL_ICBS = "GP practices in several ICBs (groups of fewer than 5 practices)"

# Placeholder: a publisher registers its own prefix with 360Giving and puts it here before publishing.
GRANT_ID_PREFIX = "360G-PLACEHOLDER-gpresilience"
FUNDER_ID, FUNDER_NAME = "GB-NHS-X24", "NHS England"
OGL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"


@dataclass
class PublishedGrant:
    """Published spend for one recipient (an ICB, a named practice, or several ICBs' small groups) × offer heading
    × programme × financial year: amounts and a count of practices, no case detail."""

    programme: Programme
    fy: int
    icb: ICB | None
    heading: str
    awarded_pence: int
    disbursed_pence: int
    practices: int
    first_award: date
    last_modified: datetime
    practice: Practice | None = None

    @property
    def recipient(self) -> tuple[str, str]:
        """(org-id, name): the practice, the ICB, or the funder for several ICBs' merged small groups."""
        if self.practice is not None:
            return f"GB-NHS-{self.practice.code}", self.practice.name
        if self.icb is not None:
            return f"GB-NHS-{self.icb.code}", self.icb.name
        return FUNDER_ID, SEVERAL_ICBS

    @property
    def identifier(self) -> str:
        slug = "".join(ch if ch.isalnum() else "-" for ch in self.heading.lower()).strip("-")
        who = self.practice.code if self.practice else (self.icb.code if self.icb else "SEVERAL")
        return f"{GRANT_ID_PREFIX}-{self.programme.code}-{self.fy}-{who}-{slug}"

    @property
    def place(self) -> str:
        if self.practice is not None:
            return self.practice.name
        return self.icb.short_name if self.icb else "several ICBs"

    @property
    def title(self) -> str:
        return f"{self.heading}: {self.programme.name}, {self.place}, {money.fy_label(self.fy)}"

    @property
    def description(self) -> str:
        if self.practice is not None:
            return (
                f"Support for {self.practice.name} under {self.programme.name} ({money.fy_label(self.fy)}), menu "
                f"heading '{self.heading}'. Case details are not published."
            )
        return (
            f"Support for GP practices in {self.place} under {self.programme.name} "
            f"({money.fy_label(self.fy)}), menu heading '{self.heading}'. Total of the packages approved "
            f"for {self.practices} practice{'s' if self.practices != 1 else ''}; individual practices and case "
            f"details are not published."
        )


@dataclass
class Published:
    grants: list[PublishedGrant]
    suppressed_pence: int = 0  # awarded in groups too small to show even when merged
    merged_groups: int = 0  # groups of fewer than MIN_GROUP practices merged into another grant
    withdrawn: int = 0  # commitments left out: cancelled or varied to nothing before any payment


@dataclass
class _Group:
    awarded: int = 0
    paid: int = 0
    practices: set[str] = field(default_factory=set)
    first: datetime | None = None
    last: datetime | None = None

    def seen(self, at: datetime) -> None:
        self.first = at if self.first is None else min(self.first, at)
        self.last = at if self.last is None else max(self.last, at)

    def absorb(self, other: _Group) -> None:
        self.awarded += other.awarded
        self.paid += other.paid
        self.practices |= other.practices
        for at in (other.first, other.last):
            if at is not None:
                self.seen(at)


Key = tuple[int, int, int | None, str, str]  # programme, year, ICB (None: several), heading, practice ("": none)


def published_spend() -> Published:
    """Every grant to publish, with what the small-group rule merged or suppressed (the rules: module docstring)."""
    offers = offers_by_code()
    withdrawn = set(
        LedgerEntry.objects.filter(kind__in=COMMITTING, commitment__isnull=False)
        .order_by()
        .values("commitment_id")
        .annotate(net=Sum("amount_pence"))
        .filter(net__lte=0)
        .values_list("commitment_id", flat=True)
    )
    named = set(Programme.objects.filter(publish_recipients=PublishRecipients.NAMED).values_list("pk", flat=True))
    # Summed in SQL (issue 19: an ICB's year holds tens of thousands of entries): one row per programme, year, ICB,
    # kind, offer and practice; a payment not tied to an offer is split over its commitment's offers below, so those
    # are summed per commitment, with the commitment's offers, recipients and date in the same query (the number of
    # queries does not depend on whether any such payment exists).
    entries = (
        LedgerEntry.objects.filter(kind__in=[*COMMITTING, Kind.PAYMENT], commitment__isnull=False)
        .exclude(commitment_id__in=withdrawn)
        .order_by()
    )
    unassigned_payment = Q(kind=Kind.PAYMENT, offer_code="")
    assigned = (
        entries.exclude(unassigned_payment)
        .values_list("budget__line__programme_id", "budget__fy", "budget__icb_id", "kind", "offer_code",
                     "practice_code")
        .annotate(total=Sum("amount_pence"), first=Min("created_at"), last=Max("created_at"))
    )  # fmt: skip
    per_commitment = (
        entries.filter(unassigned_payment)
        .values_list("commitment_id", "budget__line__programme_id", "budget__fy", "budget__icb_id",
                     "commitment__offers", "commitment__recipients", "commitment__created_at")
        .annotate(total=Sum("amount_pence"))
    )  # fmt: skip

    def heading_of(code: str) -> str:
        return offers[code].heading if code in offers else "Other support"

    groups: dict[Key, _Group] = defaultdict(_Group)
    for prog, fy, icb, kind, code, practice, total, first, last in assigned:
        g = groups[(prog, fy, icb, heading_of(code), practice if prog in named else "")]
        if kind == Kind.PAYMENT:
            g.paid += total
        else:
            g.awarded += total
        if practice and kind == Kind.COMMITMENT:
            g.practices.add(practice)
        g.seen(first)
        g.seen(last)
    unassigned: dict[int, int] = defaultdict(int)
    about: dict[int, tuple[int, int, int, dict[str, int], list[list[Any]], datetime]] = {}
    for commitment_id, prog, fy, icb, c_offers, c_recipients, c_at, total in per_commitment:
        unassigned[commitment_id] += total
        about[commitment_id] = (prog, fy, icb, c_offers or {}, c_recipients or [], c_at)
    # newest commitment first, so the split is the same whichever order the database returns rows in
    for commitment_id in sorted(unassigned, key=lambda c: (about[c][5], c), reverse=True):
        prog, fy, icb, c_offers, c_recipients, c_at = about[commitment_id]
        codes = sorted(c_offers)
        parts = money.largest_remainder(unassigned[commitment_id], [c_offers[k] for k in codes]) if codes else []
        for code, part in zip(codes, parts, strict=True):
            if prog in named and c_recipients:
                who = [str(r[0]) for r in c_recipients]
                shares = money.largest_remainder(part, [int(r[1]) for r in c_recipients])
            else:
                who, shares = [""], [part]
            for practice, share in zip(who, shares, strict=True):
                g = groups[(prog, fy, icb, heading_of(code), practice)]
                g.paid += share
                g.seen(c_at)
    return _publish(groups, named, len(withdrawn))


def _publish(groups: dict[Key, _Group], named: set[int], withdrawn: int) -> Published:
    """Apply the small-group rule to the ICB-level groups and build the grants."""
    kept: dict[Key, _Group] = {}
    merged = 0
    suppressed = 0
    small: dict[Key, _Group] = defaultdict(_Group)
    for key, g in groups.items():
        if g.awarded <= 0:
            continue
        if key[0] in named or len(g.practices) >= MIN_GROUP:
            kept[key] = g
        else:
            merged += 1
            small[(key[0], key[1], key[2], OTHER_HEADING, "")].absorb(g)
    several: dict[Key, _Group] = defaultdict(_Group)
    for key, g in small.items():
        if len(g.practices) >= MIN_GROUP:
            kept[key] = g
        else:
            several[(key[0], key[1], None, OTHER_HEADING, "")].absorb(g)
    for key, g in several.items():
        if len(g.practices) >= MIN_GROUP:
            kept[key] = g
        else:
            suppressed += g.awarded
    programmes = {p.pk: p for p in Programme.objects.all()}
    icbs = {i.pk: i for i in ICB.objects.all()}
    codes = {k[4] for k in kept if k[4]}
    practices = {p.code: p for p in Practice.objects.filter(code__in=codes)} if codes else {}
    grants = [
        PublishedGrant(
            programmes[prog],
            fy,
            icbs[icb] if icb is not None else None,
            heading,
            g.awarded,
            g.paid,
            len(g.practices) if not code else 1,
            timezone.localtime(g.first).date() if g.first else date.today(),
            g.last or timezone.now(),
            practices.get(code),
        )
        for (prog, fy, icb, heading, code), g in kept.items()
    ]
    grants.sort(key=lambda x: (-x.fy, x.programme.code, x.place, x.heading))
    return Published(grants, suppressed, merged, withdrawn)


def published_grants() -> list[PublishedGrant]:
    return published_spend().grants


def _pounds(pence: int) -> float | int:
    return pence // 100 if pence % 100 == 0 else round(pence / 100, 2)


def grant_json(g: PublishedGrant) -> dict[str, Any]:
    """One grant in the 360Giving JSON schema (amounts in pounds, dates ISO 8601). ``identifier`` repeats ``id``
    for the readers of this file written before it followed the standard's field name."""
    recipient_id, recipient_name = g.recipient
    out: dict[str, Any] = {
        "id": g.identifier,
        "identifier": g.identifier,
        "title": g.title,
        "description": g.description,
        "currency": "GBP",
        "amountAwarded": _pounds(g.awarded_pence),
        "amountDisbursed": _pounds(g.disbursed_pence),
        "awardDate": g.first_award.isoformat(),
        "plannedDates": [{"startDate": money.fy_start(g.fy).isoformat(), "endDate": money.fy_end(g.fy).isoformat()}],
        "recipientOrganization": [{"id": recipient_id, "name": recipient_name}],
        "fundingOrganization": [{"id": FUNDER_ID, "name": FUNDER_NAME}],
        "grantProgramme": [{"code": g.programme.code, "title": g.programme.name}],
        "dateModified": g.last_modified.isoformat(timespec="seconds"),
    }
    if g.icb is not None:
        out["beneficiaryLocation"] = [{"name": g.icb.name, "geoCode": g.icb.code, "geoCodeType": "ICB"}]
    return out


def package_json(grants: Sequence[PublishedGrant]) -> dict[str, Any]:
    return {"grants": [grant_json(g) for g in grants], "license": OGL}


@cache
def _validator() -> Any:
    # jsonschema_rs comes with the test tools (schemathesis), not the service: only the tests and checks call this.
    import jsonschema_rs

    return jsonschema_rs.validator_for(json.loads(SCHEMA.read_text(encoding="utf-8")))


def schema_problems(package: dict[str, Any]) -> list[str]:
    """Every way ``package`` breaks the 360Giving package schema, in words (empty when it validates). Needs the
    development tools (jsonschema_rs)."""
    errors = _validator().iter_errors(package)
    return [f"{'/'.join(map(str, e.instance_path)) or 'package'}: {e.message}" for e in errors]


SPREADSHEET_COLUMNS = [
    "Identifier",
    "Title",
    "Description",
    "Currency",
    "Amount Awarded",
    "Amount Disbursed",
    "Award Date",
    "Planned Dates:Start Date",
    "Planned Dates:End Date",
    "Recipient Org:Identifier",
    "Recipient Org:Name",
    "Funding Org:Identifier",
    "Funding Org:Name",
    "Grant Programme:Code",
    "Grant Programme:Title",
    "Last Modified",
]


def spreadsheet_rows(grants: Sequence[PublishedGrant]) -> list[list[Any]]:
    """The same grants with the 360Giving spreadsheet column titles (:data:`SPREADSHEET_COLUMNS`)."""
    rows = []
    for g in grants:
        j = grant_json(g)
        rows.append(
            [
                j["id"],
                j["title"],
                j["description"],
                "GBP",
                j["amountAwarded"],
                j["amountDisbursed"],
                j["awardDate"],
                j["plannedDates"][0]["startDate"],
                j["plannedDates"][0]["endDate"],
                j["recipientOrganization"][0]["id"],
                j["recipientOrganization"][0]["name"],
                FUNDER_ID,
                FUNDER_NAME,
                g.programme.code,
                g.programme.name,
                j["dateModified"],
            ]
        )
    return rows
