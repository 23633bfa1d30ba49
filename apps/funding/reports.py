"""Read-side views of the ledger: budget tables with the year-end forecast, dashboard series and published spend
(360Giving). The ledger listing itself is ``apps.funding.ledger_list``.

Everything here is derived from ledger entries and commitment schedules; nothing is stored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Case, DateTimeField, F, JSONField, Q, Sum, When
from django.db.models.functions import TruncMonth
from django.utils import timezone

from analytics import money
from analytics.menu.offers import offers_by_code
from analytics.money import Kind
from apps.funding.models import Budget, Commitment, LedgerEntry, Programme
from apps.funding.services import schedule_of, with_balances
from apps.practices.models import ICB

COMMITTING = [Kind.COMMITMENT, Kind.VARIATION, Kind.DECOMMITMENT]
# The programme's threshold when none is set: 5% of the money released. Year-end slippage of a few per cent is
# normal (an invoice a week late, a session moved) and is absorbed by virements between lines and ICBs in the last
# quarter; beyond about a twentieth of the budget the ICB needs a plan (bring payments forward, commit more, or hand
# money back in time for another ICB to use it). The national team changes it per programme.
DEFAULT_AT_RISK_BP = 500
MAX_AT_RISK_BP = 5_000  # a threshold over half the budget would flag nothing worth flagging


def at_risk(balance: money.Balance, year_end: money.YearEnd, threshold_bp: int) -> bool:
    """The year-end rule, in one place: a budget is at risk when the forecast spend by 31 March (paid so far plus
    what the schedules still expect in year) is above or below the money released to the ICB by more than the
    programme's threshold of it. Released money, not the allocation: the ICB can commit only what is released, and
    releasing the rest is the national team's decision, shown apart on the dashboard. A budget with nothing released
    is at risk only if something is forecast to be spent from it."""
    gap = abs(year_end.forecast_spend - balance.released)
    return gap * 10_000 > balance.released * threshold_bp if balance.released > 0 else year_end.forecast_spend > 0


@dataclass
class BudgetRow:
    budget: Budget
    balance: money.Balance
    year_end: money.YearEnd

    @property
    def at_risk_share(self) -> float:
        return self.year_end.at_risk / self.balance.allocated if self.balance.allocated else 0.0

    @property
    def threshold_bp(self) -> int:
        return self.budget.line.programme.at_risk_threshold_bp

    @property
    def forecast_gap(self) -> int:
        """Forecast spend less released money: below zero an under-spend, above zero an over-spend."""
        return self.year_end.forecast_spend - self.balance.released

    @property
    def flagged(self) -> bool:
        """Marked "At risk": the forecast misses the released money by more than the programme's threshold."""
        return at_risk(self.balance, self.year_end, self.threshold_bp)


def paid_by_commitment(commitment_ids: Iterable[int]) -> dict[int, int]:
    rows = (
        LedgerEntry.objects.filter(commitment_id__in=list(commitment_ids), kind=Kind.PAYMENT)
        .order_by()
        .values_list("commitment_id")
        .annotate(t=Sum("amount_pence"))
    )
    return dict(rows)


def budget_rows(budgets: Iterable[Budget], today: date | None = None) -> list[BudgetRow]:
    """Each budget with its balance and its year-end forecast (from its open commitments' schedules)."""
    today = today or timezone.localdate()
    items = with_balances(budgets)
    open_c = list(Commitment.objects.filter(budget__in=items, status=Commitment.Status.OPEN))
    paid = paid_by_commitment(c.pk for c in open_c)
    plans: dict[int, list[money.CommitmentPlan]] = defaultdict(list)
    for c in open_c:
        p = paid.get(c.pk, 0)
        plans[c.budget_id].append(money.CommitmentPlan(c.amount_pence - p, p, schedule_of(c)))
    return [
        BudgetRow(b, b.balance_, money.year_end_forecast(b.balance_, plans[b.pk], b.fy, today))  # type: ignore[attr-defined]
        for b in items
    ]


def total(rows: Sequence[BudgetRow]) -> dict[str, int]:
    keys = ("allocated", "released", "committed", "spent", "headroom", "remaining", "outstanding")
    out = {k: sum(getattr(r.balance, k) for r in rows) for k in keys}
    out.update(
        forecast_spend=sum(r.year_end.forecast_spend for r in rows),
        at_risk=sum(r.year_end.at_risk for r in rows),
        late=sum(r.year_end.late for r in rows),
        after_year_end=sum(r.year_end.after_year_end for r in rows),
        flagged=sum(r.flagged for r in rows),
    )
    return out


def financial_years() -> list[int]:
    """Years that have budgets, newest first."""
    return sorted(set(Budget.objects.values_list("fy", flat=True)), reverse=True)


def by_group(rows: Sequence[BudgetRow], key: Any) -> list[tuple[Any, dict[str, int]]]:
    groups: dict[Any, list[BudgetRow]] = defaultdict(list)
    for r in rows:
        groups[key(r)].append(r)
    return [(k, total(v)) for k, v in groups.items()]


def monthly(fy: int, icb: ICB | None = None) -> list[tuple[date, int, int]]:
    """(month, net committed, paid) for each month of the year, from the ledger."""
    qs = LedgerEntry.objects.filter(budget__fy=fy)
    if icb is not None:
        qs = qs.filter(budget__icb=icb)
    rows = (
        qs.filter(kind__in=[*COMMITTING, Kind.PAYMENT])
        .annotate(m=TruncMonth("created_at"))
        .order_by()
        .values_list("m", "kind")
        .annotate(t=Sum("amount_pence"))
    )
    committed: dict[tuple[int, int], int] = defaultdict(int)
    paid: dict[tuple[int, int], int] = defaultdict(int)
    for m, kind, t in rows:
        key = (m.year, m.month)
        (paid if kind == Kind.PAYMENT else committed)[key] += t
    months = money.month_ends(money.fy_start(fy), money.fy_end(fy))
    return [(d, committed[(d.year, d.month)], paid[(d.year, d.month)]) for d in months]


# Published spend (360Giving) ---------------------------------------------------------------------------------

# Placeholder: a publisher registers its own prefix with 360Giving and puts it here before publishing.
GRANT_ID_PREFIX = "360G-PLACEHOLDER-gpresilience"
FUNDER_ID, FUNDER_NAME = "GB-NHS-X24", "NHS England"
OGL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"


@dataclass
class PublishedGrant:
    """Published spend for one ICB × offer heading × programme × financial year: amounts only, no case detail."""

    programme: Programme
    fy: int
    icb: ICB
    heading: str
    awarded_pence: int
    disbursed_pence: int
    practices: int
    first_award: date
    last_modified: datetime

    @property
    def identifier(self) -> str:
        slug = "".join(ch if ch.isalnum() else "-" for ch in self.heading.lower()).strip("-")
        return f"{GRANT_ID_PREFIX}-{self.programme.code}-{self.fy}-{self.icb.code}-{slug}"

    @property
    def title(self) -> str:
        return f"{self.heading}: {self.programme.name}, {self.icb.short_name}, {money.fy_label(self.fy)}"

    @property
    def description(self) -> str:
        return (
            f"Support for GP practices in {self.icb.short_name} under {self.programme.name} "
            f"({money.fy_label(self.fy)}), menu heading '{self.heading}'. Total of the packages approved by the ICB "
            f"for {self.practices} practice{'s' if self.practices != 1 else ''}; individual practices and case "
            f"details are not published."
        )


def published_grants() -> list[PublishedGrant]:
    """Net committed (awarded) and paid (disbursed) money per ICB, offer heading, programme and year.

    Redaction rule (docs/money.md): only ICB-level totals per menu heading are published. No practice is named,
    no case reference, memo, reason, provider or invoice is included; a practice count is given, never a list.
    Payments not tied to an offer are published against the commitment's offers in proportion to their amounts.
    """
    offers = offers_by_code()
    # A payment not tied to an offer carries its commitment's offers (and date) in the same query, so the number of
    # queries does not depend on whether any such payment exists (issue 19: 7 -> 8 queries at 10x).
    unassigned_payment = Q(kind=Kind.PAYMENT, offer_code="")
    entries = (
        LedgerEntry.objects.filter(kind__in=[*COMMITTING, Kind.PAYMENT], commitment__isnull=False)
        .order_by()
        .annotate(
            commitment_offers=Case(When(unassigned_payment, then=F("commitment__offers")), output_field=JSONField()),
            commitment_at=Case(
                When(unassigned_payment, then=F("commitment__created_at")), output_field=DateTimeField()
            ),
        )
        .values_list(
            "budget__line__programme_id",
            "budget__fy",
            "budget__icb_id",
            "kind",
            "offer_code",
            "practice_code",
            "commitment_id",
            "amount_pence",
            "created_at",
            "commitment_offers",
            "commitment_at",
        )
    )
    groups: dict[tuple[int, int, int, str], dict[str, Any]] = {}
    unassigned: dict[int, int] = defaultdict(int)  # commitment → payments without an offer
    commitment_key: dict[int, tuple[int, int, int]] = {}
    commitment_of: dict[int, tuple[dict[str, int], datetime]] = {}  # commitment → its offers and creation
    for prog, fy, icb, kind, offer_code, practice, commitment_id, amount, at, c_offers, c_at in entries:
        commitment_key[commitment_id] = (prog, fy, icb)
        if kind == Kind.PAYMENT and not offer_code:
            unassigned[commitment_id] += amount
            commitment_of[commitment_id] = (c_offers or {}, c_at)
            continue
        offer = offers.get(offer_code)
        heading = offer.heading if offer else "Other support"
        g = groups.setdefault(
            (prog, fy, icb, heading), {"awarded": 0, "paid": 0, "practices": set(), "first": at, "last": at}
        )
        g["awarded" if kind != Kind.PAYMENT else "paid"] += amount
        if practice and kind == Kind.COMMITMENT:
            g["practices"].add(practice)
        g["first"], g["last"] = min(g["first"], at), max(g["last"], at)
    # newest commitment first, as the commitments' own ordering listed them when they were read separately
    for commitment_id in sorted(unassigned, key=lambda c: (commitment_of[c][1], c), reverse=True):
        c_offers, c_at = commitment_of[commitment_id]
        codes = sorted(c_offers)
        parts = money.largest_remainder(unassigned[commitment_id], [c_offers[k] for k in codes]) if codes else []
        prog, fy, icb = commitment_key[commitment_id]
        for code, part in zip(codes, parts, strict=True):
            heading = offers[code].heading if code in offers else "Other support"
            g = groups.setdefault(
                (prog, fy, icb, heading), {"awarded": 0, "paid": 0, "practices": set(), "first": c_at, "last": c_at}
            )
            g["paid"] += part
    programmes = {p.pk: p for p in Programme.objects.all()}
    icbs = {i.pk: i for i in ICB.objects.all()}
    out = [
        PublishedGrant(
            programmes[prog],
            fy,
            icbs[icb],
            heading,
            g["awarded"],
            g["paid"],
            len(g["practices"]),
            timezone.localtime(g["first"]).date(),
            g["last"],
        )
        for (prog, fy, icb, heading), g in groups.items()
        if g["awarded"] > 0
    ]
    out.sort(key=lambda x: (-x.fy, x.programme.code, x.icb.name, x.heading))
    return out


def _pounds(pence: int) -> float | int:
    return pence // 100 if pence % 100 == 0 else round(pence / 100, 2)


def grant_json(g: PublishedGrant) -> dict[str, Any]:
    """One grant in the 360Giving JSON schema (amounts in pounds, dates ISO 8601)."""
    return {
        "identifier": g.identifier,
        "title": g.title,
        "description": g.description,
        "currency": "GBP",
        "amountAwarded": _pounds(g.awarded_pence),
        "amountDisbursed": _pounds(g.disbursed_pence),
        "awardDate": g.first_award.isoformat(),
        "plannedDates": [{"startDate": money.fy_start(g.fy).isoformat(), "endDate": money.fy_end(g.fy).isoformat()}],
        "recipientOrganization": [{"id": f"GB-NHS-{g.icb.code}", "name": g.icb.name}],
        "fundingOrganization": [{"id": FUNDER_ID, "name": FUNDER_NAME}],
        "grantProgramme": [{"code": g.programme.code, "title": g.programme.name}],
        "dateModified": g.last_modified.isoformat(timespec="seconds"),
    }


def package_json(grants: Sequence[PublishedGrant]) -> dict[str, Any]:
    return {"grants": [grant_json(g) for g in grants], "license": OGL}


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
                j["identifier"],
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


def spend_by_offer() -> list[dict[str, Any]]:
    """Net committed and paid per menu offer (all ICBs, all years), with the menu's titles."""
    offers = offers_by_code()
    rows = (
        LedgerEntry.objects.filter(kind__in=COMMITTING, commitment__isnull=False)
        .order_by()
        .values_list("offer_code", "budget__fy")
        .annotate(t=Sum("amount_pence"))
    )
    acc: dict[tuple[str, int], int] = defaultdict(int)
    for code, fy, t in rows:
        acc[(code, fy)] += t
    out = []
    for (code, fy), t in acc.items():
        if t <= 0:
            continue
        offer = offers.get(code)
        out.append(
            {
                "fy": fy,
                "code": code,
                "title": offer.title if offer else code,
                "heading": offer.heading if offer else "Other support",
                "programme": offer.programme if offer else "",
                "committed": t,
            }
        )
    out.sort(key=lambda r: (-r["fy"], -r["committed"]))
    return out
