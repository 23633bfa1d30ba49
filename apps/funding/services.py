"""Money business rules: set up programmes, allocate, release, commit, vary, de-commit, pay, vire.

Every service checks who may act (``apps.accounts.access``), validates its input (``ValidationError`` naming the
problem; nothing is written), and writes its ledger entries in one transaction. Services that spend headroom lock
the budget rows first (``select_for_update``, ordered by id; SQLite runs every transaction as IMMEDIATE, which
serialises writers), then re-read the balance from the ledger and check it with ``analytics.money.apply``: two
approvals racing for the same money queue on the lock, and the second sees the first's commitment.

The case workflow calls :func:`budgets_for`, :func:`commit_funds`, :func:`vary_commitment`, :func:`decommit` and
:func:`record_payment` / :func:`approve_payment`. Arithmetic (splits, balances) lives in ``analytics.money``.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from analytics import money
from analytics.menu import Offer, load_menu
from analytics.money import Kind
from apps.accounts.access import can_act_on_budget, can_manage_funding
from apps.accounts.models import User
from apps.funding.models import (
    Allocation,
    Budget,
    Commitment,
    Formula,
    FundingLine,
    FundingYear,
    LedgerEntry,
    Payment,
    Programme,
    Release,
    Virement,
)
from apps.practices.models import ICB, PaymentsYear, Practice, PracticeStatus

MIN_REASON = 10


# Money in words ----------------------------------------------------------------------------------------------


def pounds(pence: int) -> str:
    """£1,234.56 (always two decimals: used in messages about shortfalls, where pennies matter)."""
    sign = "-" if pence < 0 else ""
    return f"{sign}£{abs(pence) // 100:,}.{abs(pence) % 100:02d}"


_POUNDS = re.compile(r"^£?\s*(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?$")


def parse_pounds(text: str, what: str = "Amount") -> int:
    """'£16,000,000' or '16000000.50' → pence. Raises ValidationError in words for anything else."""
    raw = (text or "").strip().replace(" ", "")
    if not raw:
        raise ValidationError(f"Enter {what.lower()} in pounds")
    if not _POUNDS.match(raw):
        raise ValidationError(f"{what} must be an amount in pounds, like 16,000,000 or 1250.50")
    try:
        value = Decimal(raw.lstrip("£").replace(",", ""))
    except InvalidOperation as e:  # pragma: no cover - the pattern already guarantees a number
        raise ValidationError(f"{what} must be an amount in pounds") from e
    pence = int(value * 100)
    if pence <= 0:
        raise ValidationError(f"{what} must be more than £0")
    return pence


class InsufficientFunds(Exception):
    """An approval (or variation, or virement) would take a budget below zero.

    ``missing_pence``: how much more would be needed; ``available_pence``: the headroom there is; ``budget``.
    """

    def __init__(self, budget: Budget, missing_pence: int, available_pence: int) -> None:
        self.budget = budget
        self.missing_pence = missing_pence
        self.available_pence = available_pence
        super().__init__(
            f"{pounds(missing_pence)} short: {pounds(available_pence)} available of {budget} "
            f"(released money not yet committed)"
        )


# Reading balances ----------------------------------------------------------------------------------------------


def balances(budget_ids: Iterable[int]) -> dict[int, money.Balance]:
    """Each budget's totals from its ledger entries, in one query."""
    ids = list(budget_ids)
    out = {pk: money.Balance() for pk in ids}
    rows = (
        LedgerEntry.objects.filter(budget_id__in=ids)
        .order_by()
        .values_list("budget_id", "kind")
        .annotate(total=Sum("amount_pence"))
    )
    for pk, kind, total in rows:
        out[pk] = out[pk] + money.effect(Kind(kind), total)
    return out


def with_balances(budgets: Iterable[Budget]) -> list[Budget]:
    """The budgets with ``balance_`` (a :class:`money.Balance`) and ``headroom_pence`` filled in."""
    items = list(budgets)
    found = balances(b.pk for b in items)
    for b in items:
        b._balance = found[b.pk]  # type: ignore[attr-defined]
        b.balance_ = found[b.pk]  # type: ignore[attr-defined]
    return items


def budgets_for(icb: ICB, on: date | None = None) -> list[Budget]:
    """The ICB's budgets for the financial year containing ``on`` (default today), each with ``headroom_pence``.

    For the approver's choice of budget: a budget with no headroom is still listed (the approver sees why not).
    """
    fy = money.financial_year_of(on or timezone.localdate())
    qs = Budget.objects.filter(icb=icb, fy=fy).select_related("line__programme", "icb")
    return with_balances(qs)


def _lock(budget_ids: Iterable[int]) -> dict[int, Budget]:
    """Lock budget rows in id order (one order everywhere, so two services can never deadlock each other)."""
    ids = sorted(set(budget_ids))
    locked = Budget.objects.select_for_update().filter(pk__in=ids).order_by("pk").select_related("line__programme")
    rows = {b.pk: b for b in locked}
    if len(rows) != len(ids):
        raise ValidationError("That budget no longer exists")
    return rows


def _check(budget: Budget, kind: Kind, amount: int) -> money.Balance:
    """Apply one entry to the budget's current balance (call with the budget locked) or raise."""
    current = balances([budget.pk])[budget.pk]
    try:
        return money.apply(current, kind, amount)
    except money.LedgerError as e:
        if e.missing:
            raise InsufficientFunds(budget, e.missing, max(0, current.headroom)) from e
        raise ValidationError(str(e)) from e


# Setting up programmes -------------------------------------------------------------------------------------------


@dataclass
class LineSpec:
    code: str
    name: str
    cost_centre: str
    ledger_code: str
    years: dict[int, int] = field(default_factory=dict)  # fy → pence


_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,29}$")


def create_programme(
    *, user: User, code: str, name: str, menu: str, lines: Sequence[LineSpec], description: str = ""
) -> Programme:
    """A programme with its funding lines and their financial-year profiles. A line's total is its profile's sum."""
    if not can_manage_funding(user):
        raise PermissionDenied("only the national programme team sets up programmes")
    problems: list[str] = []
    if not _CODE.match(code or ""):
        problems.append("Code must be letters, numbers and hyphens, up to 30 characters")
    elif Programme.objects.filter(code__iexact=code).exists():
        problems.append(f"A programme with code {code} already exists")
    if not name.strip():
        problems.append("Enter the programme's name")
    if menu not in ("GPRP", "GPDP"):
        problems.append("Choose the menu of support the programme funds")
    if not lines:
        problems.append("Add at least one funding line")
    seen: set[str] = set()
    for i, line in enumerate(lines, 1):
        where = f"Line {i}"
        if not _CODE.match(line.code or ""):
            problems.append(f"{where}: code must be letters, numbers and hyphens")
        elif line.code.lower() in seen:
            problems.append(f"{where}: code {line.code} is used twice")
        seen.add((line.code or "").lower())
        if not line.name.strip():
            problems.append(f"{where}: enter a name")
        if not line.cost_centre.strip() or not line.ledger_code.strip():
            problems.append(f"{where}: enter the finance cost centre and ledger code")
        if not line.years:
            problems.append(f"{where}: give the amount for at least one financial year")
        for fy, pence in line.years.items():
            if not 2000 <= fy <= 2100:
                problems.append(f"{where}: {fy} is not a financial year")
            if pence <= 0:
                problems.append(f"{where}: the {money.fy_label(fy)} amount must be more than £0")
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        programme = Programme.objects.create(
            code=code.upper(), name=name.strip(), description=description.strip(), menu=menu, created_by=user
        )
        for spec in lines:
            line = FundingLine.objects.create(
                programme=programme,
                code=spec.code.lower(),
                name=spec.name.strip(),
                total_pence=sum(spec.years.values()),
                cost_centre=spec.cost_centre.strip(),
                ledger_code=spec.ledger_code.strip(),
            )
            FundingYear.objects.bulk_create(
                FundingYear(line=line, fy=fy, amount_pence=p) for fy, p in sorted(spec.years.items())
            )
    return programme


# Allocation ---------------------------------------------------------------------------------------------------


def allocated_pence(line: FundingLine, fy: int) -> int:
    return int(Allocation.objects.filter(line=line, fy=fy).aggregate(t=Sum("amount_pence"))["t"] or 0)


def released_pence(line: FundingLine, fy: int) -> int:
    return int(Release.objects.filter(line=line, fy=fy).aggregate(t=Sum("amount_pence"))["t"] or 0)


def year_of(line: FundingLine, fy: int) -> FundingYear:
    year = FundingYear.objects.filter(line=line, fy=fy).first()
    if year is None:
        raise ValidationError(f"{line} has no money profiled for {money.fy_label(fy)}")
    return year


@dataclass
class AllocationRow:
    icb: ICB
    weight: float
    amount_pence: int


@dataclass
class AllocationPreview:
    line: FundingLine
    fy: int
    amount_pence: int
    formula: str
    data_source: str
    rows: list[AllocationRow]
    fingerprint: str
    left_out: list[str] = field(default_factory=list)  # words: what the weights did not count, and why

    @property
    def total_weight(self) -> float:
        return sum(r.weight for r in self.rows)


def parse_shares(text: str) -> dict[str, float]:
    """Fixed shares typed one per line as 'ICB code, share' (a share is any non-negative number)."""
    shares: dict[str, float] = {}
    for n, raw in enumerate((text or "").splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        parts = [p for p in re.split(r"[,\s\t]+", line) if p]
        if len(parts) != 2:
            raise ValidationError(f"Shares line {n}: write an ICB code and a share, like 'QHM, 3'")
        try:
            value = float(parts[1])
        except ValueError as e:
            raise ValidationError(f"Shares line {n}: {parts[1]} is not a number") from e
        if value < 0 or value != value:
            raise ValidationError(f"Shares line {n}: a share cannot be negative")
        shares[parts[0].upper()] = value
    return shares


def allocation_weights(
    formula: str, shares: Mapping[str, float] | None = None
) -> tuple[dict[str, float], str, list[str]]:
    """ICB code → weight for the formula, the data source in words, and what was left out (counted)."""
    icbs = {i.code: i for i in ICB.objects.all()}
    left_out: list[str] = []
    if formula == Formula.WEIGHTED_PATIENTS:
        fy_row = PaymentsYear.objects.order_by("-financial_year").values_list("financial_year", flat=True).first()
        if fy_row is None:
            raise ValidationError("No payments file is loaded: weighted list sizes are not available")
        rows = PaymentsYear.objects.filter(financial_year=fy_row, weighted_patients__isnull=False)
        weights: dict[str, float] = dict.fromkeys(icbs, 0.0)
        no_icb = 0
        for code, w in rows.values_list("practice__icb__code", "weighted_patients"):
            if code is None:
                no_icb += 1
                continue
            weights[code] += w
        if no_icb:
            left_out.append(f"{no_icb} practices in the payments file have no current ICB and are not counted")
        return (
            weights,
            f"Weighted list size, NHS Payments to General Practice {fy_row} (by practice's current ICB)",
            left_out,
        )
    if formula == Formula.REGISTERED_PATIENTS:
        rows2 = Practice.objects.filter(status=PracticeStatus.ACTIVE, list_size__isnull=False, icb__isnull=False)
        weights = dict.fromkeys(icbs, 0.0)
        latest = None
        for code, n, d in rows2.values_list("icb__code", "list_size", "list_size_date"):
            weights[code] += n
            latest = d if latest is None or (d and d > latest) else latest
        missing = Practice.objects.filter(status=PracticeStatus.ACTIVE, list_size__isnull=True).count()
        if missing:
            left_out.append(f"{missing} open practices have no registered-patient count and are not counted")
        return weights, f"Registered patients at open practices (extract {latest or 'unknown'})", left_out
    if formula == Formula.FIXED_SHARES:
        if not shares:
            return dict.fromkeys(icbs, 1.0), "Equal shares for every ICB", left_out
        unknown = sorted(set(shares) - set(icbs))
        if unknown:
            raise ValidationError(f"Unknown ICB codes in the shares: {', '.join(unknown)}")
        weights = {code: float(shares.get(code, 0.0)) for code in icbs}
        return weights, "Fixed shares entered by the national team", left_out
    raise ValidationError("Choose an allocation formula")


def _fingerprint(line: FundingLine, fy: int, amount: int, formula: str, split: Mapping[str, int]) -> str:
    blob = json.dumps([line.pk, fy, amount, formula, sorted(split.items())])
    return hashlib.sha256(blob.encode()).hexdigest()


def preview_allocation(
    *, line: FundingLine, fy: int, amount_pence: int, formula: str, shares: Mapping[str, float] | None = None
) -> AllocationPreview:
    """The split the formula gives, without saving anything. Pennies are split by largest remainder."""
    year = year_of(line, fy)
    free = year.amount_pence - allocated_pence(line, fy)
    if amount_pence <= 0:
        raise ValidationError("The amount to allocate must be more than £0")
    if amount_pence > free:
        raise ValidationError(
            f"Only {pounds(free)} of {line}'s {money.fy_label(fy)} money ({pounds(year.amount_pence)}) is "
            f"not yet allocated"
        )
    weights, source, left_out = allocation_weights(formula, shares)
    icbs = {i.code: i for i in ICB.objects.select_related("region")}
    codes = sorted(weights)
    if sum(Fraction(weights[c]) for c in codes) <= 0:
        raise ValidationError("Every weight is zero: nothing to split by")
    parts = money.largest_remainder(amount_pence, [weights[c] for c in codes])
    split = dict(zip(codes, parts, strict=True))
    rows = [AllocationRow(icbs[c], weights[c], split[c]) for c in codes]
    rows.sort(key=lambda r: (r.icb.region.name if r.icb.region else "", r.icb.name))
    return AllocationPreview(
        line, fy, amount_pence, formula, source, rows, _fingerprint(line, fy, amount_pence, formula, split), left_out
    )


def confirm_allocation(
    *,
    user: User,
    line: FundingLine,
    fy: int,
    amount_pence: int,
    formula: str,
    fingerprint: str,
    shares: Mapping[str, float] | None = None,
) -> Allocation:
    """Save the split that was previewed (``fingerprint``); refuses if the data or the free money changed since."""
    if not can_manage_funding(user):
        raise PermissionDenied("only the national programme team allocates money")
    with transaction.atomic():
        FundingYear.objects.select_for_update().filter(line=line, fy=fy).first()  # serialise allocations of a year
        preview = preview_allocation(line=line, fy=fy, amount_pence=amount_pence, formula=formula, shares=shares)
        if preview.fingerprint != fingerprint:
            raise ValidationError("The split has changed since you previewed it: check the new preview and confirm")
        allocation = Allocation.objects.create(
            line=line,
            fy=fy,
            amount_pence=amount_pence,
            formula=formula,
            data_source=preview.data_source,
            basis={r.icb.code: r.weight for r in preview.rows},
            fingerprint=fingerprint,
            created_by=user,
        )
        movement = uuid.uuid4()
        entries = []
        for r in preview.rows:
            if r.amount_pence == 0:
                continue
            budget, _ = Budget.objects.get_or_create(line=line, fy=fy, icb=r.icb)
            entries.append(
                LedgerEntry(
                    budget=budget,
                    kind=Kind.ALLOCATION,
                    amount_pence=r.amount_pence,
                    movement=movement,
                    allocation=allocation,
                    memo=f"{Formula(formula).label}: {r.weight:,.2f} of {preview.total_weight:,.2f}",
                    created_by=user,
                )
            )
        LedgerEntry.objects.bulk_create(entries)
    return allocation


# Releases -----------------------------------------------------------------------------------------------------


def release_tranche(*, user: User, line: FundingLine, fy: int, amount_pence: int, note: str) -> Release:
    """Release part of a line's year. It is split across the ICB budgets in proportion to what each still has
    unreleased (so releasing everything gives each budget exactly its allocation)."""
    if not can_manage_funding(user):
        raise PermissionDenied("only the national programme team releases money")
    if len(note.strip()) < 3:
        raise ValidationError("Say what this release is, e.g. 'First tranche: £16m of £40m'")
    if amount_pence <= 0:
        raise ValidationError("The amount to release must be more than £0")
    with transaction.atomic():
        FundingYear.objects.select_for_update().filter(line=line, fy=fy).first()
        ids = list(Budget.objects.filter(line=line, fy=fy).values_list("pk", flat=True))
        if not ids:
            raise ValidationError(f"Allocate {line}'s {money.fy_label(fy)} money to ICBs before releasing it")
        budgets = _lock(ids)
        found = balances(ids)
        unreleased = [found[pk].unreleased for pk in sorted(budgets)]
        if amount_pence > sum(unreleased):
            raise ValidationError(
                f"Only {pounds(sum(unreleased))} of the allocated {money.fy_label(fy)} money is not yet released"
            )
        release = Release.objects.create(
            line=line, fy=fy, amount_pence=amount_pence, note=note.strip(), released_by=user
        )
        movement = uuid.uuid4()
        parts = money.capped_split(amount_pence, unreleased)
        LedgerEntry.objects.bulk_create(
            LedgerEntry(
                budget=budgets[pk],
                kind=Kind.RELEASE,
                amount_pence=part,
                movement=movement,
                release=release,
                memo=note.strip()[:500],
                created_by=user,
            )
            for pk, part in zip(sorted(budgets), parts, strict=True)
            if part
        )
    return release


# Commitments --------------------------------------------------------------------------------------------------


def _menu() -> dict[str, Offer]:
    return {o.code: o for o in load_menu()}


def _clean_commitment(
    budget: Budget,
    amount: int,
    reference: str,
    recipients: Sequence[tuple[str, int]],
    offers: Mapping[str, int],
    schedule: Sequence[tuple[date, int]],
) -> tuple[list[tuple[str, int]], list[tuple[str, int]], list[tuple[date, int]]]:
    problems: list[str] = []
    if not reference.strip() or len(reference) > 60:
        problems.append("A commitment needs a reference of up to 60 characters")
    if amount <= 0:
        problems.append("The amount to commit must be more than £0")
    today = timezone.localdate()
    if today > money.fy_end(budget.fy):
        problems.append(f"The {budget.fy_label} budget closed on {money.fy_end(budget.fy):%d %B %Y}")
    recips = [(code.strip().upper(), int(p)) for code, p in recipients]
    codes = [c for c, _ in recips]
    if not recips:
        problems.append("Name at least one practice the money is for")
    if len(set(codes)) != len(codes):
        problems.append("A practice is named twice in the recipients")
    known = set(Practice.objects.filter(code__in=codes).values_list("code", flat=True))
    if set(codes) - known:
        problems.append(f"Unknown practice codes: {', '.join(sorted(set(codes) - known))}")
    if any(p <= 0 for _, p in recips):
        problems.append("Each practice's share must be more than £0")
    if sum(p for _, p in recips) != amount:
        problems.append(f"The practices' shares add up to {pounds(sum(p for _, p in recips))}, not {pounds(amount)}")
    menu = _menu()
    offer_items = [(code, int(p)) for code, p in offers.items()]
    for code, p in offer_items:
        offer = menu.get(code)
        if offer is None:
            problems.append(f"{code} is not on the menu of support")
        elif offer.programme != budget.line.programme.menu:
            problems.append(
                f"{offer.title} is on the {offer.programme} menu; this budget funds {budget.line.programme.menu}"
            )
        if p <= 0:
            problems.append(f"The amount for {code} must be more than £0")
    if not offer_items:
        problems.append("Say which offers on the menu the money buys")
    if sum(p for _, p in offer_items) != amount:
        problems.append(f"The offers add up to {pounds(sum(p for _, p in offer_items))}, not {pounds(amount)}")
    plan = list(schedule) or (
        money.even_monthly_schedule(amount, max(today, money.fy_start(budget.fy)), money.fy_end(budget.fy))
        if amount > 0 and today <= money.fy_end(budget.fy)
        else []
    )
    if schedule:
        if any(a <= 0 for _, a in plan):
            problems.append("Each scheduled amount must be more than £0")
        if any(d < money.fy_start(budget.fy) for d, _ in plan):
            problems.append(f"The schedule starts before the {budget.fy_label} financial year")
        if sum(a for _, a in plan) != amount:
            problems.append(f"The schedule adds up to {pounds(sum(a for _, a in plan))}, not {pounds(amount)}")
    if problems:
        raise ValidationError(problems)
    return recips, offer_items, sorted(plan)


def _cells(commitment: Commitment) -> dict[tuple[str, str], int]:
    """The commitment's current amount by (practice, offer), from its ledger entries."""
    rows = (
        commitment.entries.filter(kind__in=[Kind.COMMITMENT, Kind.VARIATION, Kind.DECOMMITMENT])
        .order_by()
        .values_list("practice_code", "offer_code")
        .annotate(t=Sum("amount_pence"))
    )
    return {(p, o): t for p, o, t in rows}


def _store_cells(commitment: Commitment, cells: Mapping[tuple[str, str], int]) -> None:
    by_practice: dict[str, int] = {}
    by_offer: dict[str, int] = {}
    for (p, o), t in cells.items():
        if t:
            by_practice[p] = by_practice.get(p, 0) + t
            by_offer[o] = by_offer.get(o, 0) + t
    commitment.recipients = [[p, t] for p, t in by_practice.items()]
    commitment.offers = by_offer


def _schedule_json(plan: Sequence[tuple[date, int]]) -> list[list[object]]:
    return [[d.isoformat(), a] for d, a in plan]


def schedule_of(commitment: Commitment) -> list[tuple[date, int]]:
    return [(date.fromisoformat(d), int(a)) for d, a in commitment.schedule]


def commit_funds(
    *,
    budget: Budget,
    amount_pence: int,
    reference: str,
    user: User,
    recipients: Sequence[tuple[str, int]],
    offers: Mapping[str, int],
    schedule: Sequence[tuple[date, int]] = (),
    memo: str = "",
) -> Commitment:
    """Commit released money on package approval. Raises :class:`InsufficientFunds` (saying how much is missing)
    when the budget's headroom is too small, ``ValidationError`` for bad input, ``PermissionDenied`` unless the
    user is on the budget's ICB team.

    The ledger gets one entry per (practice, offer) cell: the recipients' shares split across the offers in
    proportion (``analytics.money.cross_split``), so both totals reconcile. Safe when called concurrently and
    inside the caller's ``transaction.atomic()`` (it opens a savepoint and locks the budget row).
    """
    if not can_act_on_budget(user, budget.icb):
        raise PermissionDenied("only the ICB's own team commits its budget")
    recips, offer_items, plan = _clean_commitment(budget, amount_pence, reference, recipients, offers, schedule)
    try:
        with transaction.atomic():
            locked = _lock([budget.pk])[budget.pk]
            if Commitment.objects.filter(reference=reference).exists():
                raise ValidationError(f"A commitment with reference {reference} already exists")
            _check(locked, Kind.COMMITMENT, amount_pence)
            commitment = Commitment.objects.create(
                budget=locked,
                reference=reference,
                amount_pence=amount_pence,
                recipients=[list(r) for r in recips],
                offers=dict(offer_items),
                schedule=_schedule_json(plan),
                memo=memo,
                created_by=user,
            )
            table = money.cross_split([p for _, p in recips], [p for _, p in offer_items])
            movement = uuid.uuid4()
            LedgerEntry.objects.bulk_create(
                LedgerEntry(
                    budget=locked,
                    kind=Kind.COMMITMENT,
                    amount_pence=cell,
                    movement=movement,
                    reference=reference,
                    practice_code=practice,
                    offer_code=offer,
                    commitment=commitment,
                    memo=memo[:500],
                    created_by=user,
                )
                for (practice, _), row in zip(recips, table, strict=True)
                for (offer, _), cell in zip(offer_items, row, strict=True)
                if cell
            )
    except IntegrityError as e:  # a concurrent call took the same reference first
        raise ValidationError(f"A commitment with reference {reference} already exists") from e
    budget._balance = None  # type: ignore[attr-defined]  # the caller's copy is out of date
    return commitment


def _locked_commitment(reference: str, user: User) -> tuple[Commitment, Budget]:
    commitment = Commitment.objects.select_related("budget__icb").filter(reference=reference).first()
    if commitment is None:
        raise ValidationError(f"No commitment with reference {reference}")
    if not can_act_on_budget(user, commitment.budget.icb):
        raise PermissionDenied("only the ICB's own team changes its commitments")
    budget = _lock([commitment.budget_id])[commitment.budget_id]
    commitment = Commitment.objects.select_for_update().get(pk=commitment.pk)
    return commitment, budget


def _change_amount(commitment: Commitment, budget: Budget, kind: Kind, delta: int, user: User, reason: str) -> None:
    """Write a variation or de-commitment of ``delta`` spread over the commitment's cells in proportion."""
    cells = _cells(commitment)
    keys = sorted(k for k, v in cells.items() if v > 0)
    amounts = [cells[k] for k in keys]
    parts = money.largest_remainder(delta, amounts) if delta > 0 else [-p for p in money.capped_split(-delta, amounts)]
    movement = uuid.uuid4()
    LedgerEntry.objects.bulk_create(
        LedgerEntry(
            budget=budget,
            kind=kind,
            amount_pence=part,
            movement=movement,
            reference=commitment.reference,
            practice_code=p,
            offer_code=o,
            commitment=commitment,
            memo=reason[:500],
            created_by=user,
        )
        for (p, o), part in zip(keys, parts, strict=True)
        if part
    )
    for k, part in zip(keys, parts, strict=True):
        cells[k] += part
    _store_cells(commitment, cells)
    commitment.amount_pence += delta
    old = schedule_of(commitment)
    if commitment.amount_pence and old:
        new = money.largest_remainder(commitment.amount_pence, [a for _, a in old])
        commitment.schedule = _schedule_json([(d, a) for (d, _), a in zip(old, new, strict=True) if a])


def vary_commitment(*, reference: str, new_amount_pence: int, user: User, reason: str) -> Commitment:
    """Change a commitment's amount. An increase needs headroom (:class:`InsufficientFunds` otherwise); a decrease
    cannot go below what is already paid. The change is spread over the practices and offers in proportion, and
    the spending schedule is rescaled."""
    if len(reason.strip()) < MIN_REASON:
        raise ValidationError(f"Give a reason of at least {MIN_REASON} characters for the variation")
    if new_amount_pence <= 0:
        raise ValidationError("A commitment cannot be varied to £0: cancel it instead (de-commit)")
    with transaction.atomic():
        commitment, budget = _locked_commitment(reference, user)
        if commitment.status != Commitment.Status.OPEN:
            raise ValidationError(f"{reference} is cancelled")
        delta = new_amount_pence - commitment.amount_pence
        if delta == 0:
            raise ValidationError(f"{reference} is already {pounds(new_amount_pence)}")
        paid = commitment.paid_pence
        if new_amount_pence < paid:
            raise ValidationError(f"{pounds(paid)} has already been paid against {reference}")
        _check(budget, Kind.VARIATION, delta)
        _change_amount(commitment, budget, Kind.VARIATION, delta, user, reason.strip())
        commitment.save()
    return commitment


def decommit(*, reference: str, user: User, reason: str) -> Commitment:
    """Cancel a commitment: what is committed and not yet paid goes back to the budget's headroom."""
    if len(reason.strip()) < MIN_REASON:
        raise ValidationError(f"Give a reason of at least {MIN_REASON} characters for cancelling")
    with transaction.atomic():
        commitment, budget = _locked_commitment(reference, user)
        if commitment.status != Commitment.Status.OPEN:
            raise ValidationError(f"{reference} is already cancelled")
        if commitment.payments.filter(status=Payment.Status.REQUESTED).exists():
            raise ValidationError(f"Approve or reject the payments awaiting approval on {reference} first")
        unpaid = commitment.amount_pence - commitment.paid_pence
        if unpaid:
            _check(budget, Kind.DECOMMITMENT, -unpaid)
            _change_amount(commitment, budget, Kind.DECOMMITMENT, -unpaid, user, reason.strip())
        commitment.status = Commitment.Status.CANCELLED
        commitment.save()
    return commitment


# Payments ---------------------------------------------------------------------------------------------------


def _pending(commitment: Commitment) -> int:
    return int(commitment.payments.filter(status=Payment.Status.REQUESTED).aggregate(t=Sum("amount_pence"))["t"] or 0)


def record_payment(
    *,
    reference: str,
    amount_pence: int,
    kind: str,
    payee: str,
    user: User,
    practice_code: str = "",
    invoice_number: str = "",
    offer_code: str = "",
    session_refs: Sequence[str] = (),
    memo: str = "",
) -> Payment:
    """Record a provider invoice or a direct payment to a practice against a commitment, awaiting approval.

    Nothing moves until :func:`approve_payment` (by a different member of the ICB team). Refused if the payments
    already awaiting approval plus this one would be more than the commitment's unpaid amount.
    """
    problems: list[str] = []
    if kind not in Payment.Kind.values:
        problems.append("Choose a provider invoice or a direct payment to a practice")
    if amount_pence <= 0:
        problems.append("The payment must be more than £0")
    practice_code = practice_code.strip().upper()
    if kind == Payment.Kind.INVOICE and not invoice_number.strip():
        problems.append("Enter the provider's invoice number")
    if kind == Payment.Kind.DIRECT and not practice_code:
        problems.append("A direct payment names the practice it is paid to")
    if not payee.strip() and kind == Payment.Kind.INVOICE:
        problems.append("Enter the provider's name")
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        commitment, _ = _locked_commitment(reference, user)
        if commitment.status != Commitment.Status.OPEN:
            raise ValidationError(f"{reference} is cancelled: nothing can be paid against it")
        practices = {c for c, _ in commitment.recipients}
        if practice_code and practice_code not in practices:
            raise ValidationError(f"{practice_code} is not one of the practices {reference} is for")
        if offer_code and offer_code not in commitment.offers:
            raise ValidationError(f"{reference} does not fund {offer_code}")
        if kind == Payment.Kind.DIRECT and not payee.strip():
            p = Practice.objects.filter(code=practice_code).first()
            payee = p.display_name if p else practice_code
        unpaid = commitment.amount_pence - commitment.paid_pence - _pending(commitment)
        if amount_pence > unpaid:
            raise ValidationError(
                f"Only {pounds(max(0, unpaid))} of {reference} is unpaid and not already awaiting approval"
            )
        return Payment.objects.create(
            commitment=commitment,
            kind=kind,
            payee=payee.strip(),
            practice_code=practice_code,
            invoice_number=invoice_number.strip(),
            offer_code=offer_code,
            session_refs=[s.strip() for s in session_refs if s.strip()],
            amount_pence=amount_pence,
            memo=memo.strip(),
            requested_by=user,
        )


def _decide_payment(payment: Payment, user: User) -> tuple[Payment, Budget]:
    if not can_act_on_budget(user, payment.commitment.budget.icb):
        raise PermissionDenied("only the ICB's own team approves its payments")
    budget = _lock([payment.commitment.budget_id])[payment.commitment.budget_id]
    payment = Payment.objects.select_for_update().select_related("commitment").get(pk=payment.pk)
    if payment.status != Payment.Status.REQUESTED:
        raise ValidationError("This payment has already been decided")
    if payment.requested_by_id == user.pk:
        raise ValidationError("A payment is approved by someone other than the person who recorded it")
    return payment, budget


def approve_payment(*, payment: Payment, user: User, note: str = "") -> Payment:
    """Approve a recorded payment: the PAYMENT ledger entry is written and the money counts as spent."""
    with transaction.atomic():
        payment, budget = _decide_payment(payment, user)
        commitment = payment.commitment
        if payment.amount_pence > commitment.amount_pence - commitment.paid_pence:
            raise ValidationError(f"{commitment.reference} no longer has {pounds(payment.amount_pence)} unpaid")
        _check(budget, Kind.PAYMENT, payment.amount_pence)
        payment.status, payment.decided_by, payment.decided_at = Payment.Status.APPROVED, user, timezone.now()
        payment.decision_note = note.strip()
        payment.save()
        LedgerEntry.objects.create(
            budget=budget,
            kind=Kind.PAYMENT,
            amount_pence=payment.amount_pence,
            reference=commitment.reference,
            practice_code=payment.practice_code,
            offer_code=payment.offer_code,
            commitment=commitment,
            payment=payment,
            memo=f"{payment.get_kind_display()}: {payment.payee} {payment.invoice_number}".strip()[:500],
            created_by=user,
        )
    return payment


def reject_payment(*, payment: Payment, user: User, note: str) -> Payment:
    if len(note.strip()) < MIN_REASON:
        raise ValidationError(f"Give a reason of at least {MIN_REASON} characters for rejecting the payment")
    with transaction.atomic():
        payment, _ = _decide_payment(payment, user)
        payment.status, payment.decided_by, payment.decided_at = Payment.Status.REJECTED, user, timezone.now()
        payment.decision_note = note.strip()
        payment.save()
    return payment


# Virements ----------------------------------------------------------------------------------------------------


def request_virement(*, from_budget: Budget, to_budget: Budget, amount_pence: int, reason: str, user: User) -> Virement:
    """Ask to move released, uncommitted money between two budgets of the same year (another ICB, or another line
    of the same ICB). The source ICB's team or the national team asks; the national team decides."""
    if not (can_manage_funding(user) or can_act_on_budget(user, from_budget.icb)):
        raise PermissionDenied("only the source ICB's team or the national team can ask to move its money")
    problems = []
    if from_budget.pk == to_budget.pk:
        problems.append("Choose two different budgets")
    if from_budget.fy != to_budget.fy:
        problems.append("Money is year-bound: a virement stays within one financial year")
    if amount_pence <= 0:
        problems.append("The amount to move must be more than £0")
    if len(reason.strip()) < MIN_REASON:
        problems.append(f"Give a reason of at least {MIN_REASON} characters")
    if problems:
        raise ValidationError(problems)
    headroom = balances([from_budget.pk])[from_budget.pk].headroom
    if amount_pence > headroom:
        raise InsufficientFunds(from_budget, amount_pence - headroom, max(0, headroom))
    return Virement.objects.create(
        from_budget=from_budget,
        to_budget=to_budget,
        amount_pence=amount_pence,
        reason=reason.strip(),
        requested_by=user,
    )


def _decide_virement(virement: Virement, user: User) -> Virement:
    if not can_manage_funding(user):
        raise PermissionDenied("only the national programme team approves virements")
    virement = Virement.objects.select_for_update().get(pk=virement.pk)
    if virement.status != Virement.Status.REQUESTED:
        raise ValidationError("This virement has already been decided")
    if virement.requested_by_id == user.pk:
        raise ValidationError("A virement is approved by someone other than the person who asked for it")
    return virement


def approve_virement(*, virement: Virement, user: User, note: str = "") -> Virement:
    """Move the money: a negative VIREMENT entry on the source budget and a positive one on the destination."""
    with transaction.atomic():
        budgets = _lock([virement.from_budget_id, virement.to_budget_id])
        virement = _decide_virement(virement, user)
        source, dest = budgets[virement.from_budget_id], budgets[virement.to_budget_id]
        _check(source, Kind.VIREMENT, -virement.amount_pence)
        virement.status, virement.decided_by, virement.decided_at = Virement.Status.APPROVED, user, timezone.now()
        virement.decision_note = note.strip()
        virement.save()
        movement = uuid.uuid4()
        memo = f"Virement {virement.pk}: {virement.reason}"[:500]
        LedgerEntry.objects.bulk_create(
            [
                LedgerEntry(
                    budget=source,
                    kind=Kind.VIREMENT,
                    amount_pence=-virement.amount_pence,
                    movement=movement,
                    virement=virement,
                    memo=memo,
                    created_by=user,
                ),
                LedgerEntry(
                    budget=dest,
                    kind=Kind.VIREMENT,
                    amount_pence=virement.amount_pence,
                    movement=movement,
                    virement=virement,
                    memo=memo,
                    created_by=user,
                ),
            ]
        )
    return virement


def reject_virement(*, virement: Virement, user: User, note: str) -> Virement:
    if len(note.strip()) < MIN_REASON:
        raise ValidationError(f"Give a reason of at least {MIN_REASON} characters for rejecting the virement")
    with transaction.atomic():
        virement = _decide_virement(virement, user)
        virement.status, virement.decided_by, virement.decided_at = Virement.Status.REJECTED, user, timezone.now()
        virement.decision_note = note.strip()
        virement.save()
    return virement
