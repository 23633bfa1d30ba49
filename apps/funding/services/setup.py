"""Setting up programmes, allocating a line's year to ICBs by formula, and releasing tranches."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Sum

from analytics import money
from analytics.menu.offers import offers_by_code
from analytics.money import Kind
from apps.accounts.models import User
from apps.core import audit, fields
from apps.funding.errors import FundingError
from apps.funding.models import (
    Allocation,
    AllocationBasis,
    Budget,
    Formula,
    FundingLine,
    FundingYear,
    LedgerEntry,
    LineAccess,
    Programme,
    Release,
    VirementRule,
)
from apps.funding.policy import can_manage_funding
from apps.funding.services.ledger import _lock, balances, pounds
from apps.practices.models import ICB, PaymentsYear, Practice, PracticeStatus

# Setting up programmes -------------------------------------------------------------------------------------------


@dataclass
class LineSpec:
    code: str
    name: str
    cost_centre: str
    ledger_code: str
    years: dict[int, int] = field(default_factory=dict)  # fy → pence
    total_pence: int | None = None  # if given, the profile must add up to it
    offer_codes: tuple[str, ...] = ()  # the menu offers the line funds; empty = the programme's whole menu
    access: str = LineAccess.TARGETED
    allocation_basis: str = AllocationBasis.FORMULA
    figures_source: str = ""  # where the figures come from (a template's sources), or blank
    slot: int = 0  # the line's number on the page (its fields are line<slot>_…); 0 = its place in the list


CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,29}$")  # a programme or line code (also local.py)


def check_programme(
    *,
    code: str,
    name: str,
    menu: str,
    lines: Sequence[LineSpec],
    virement_rule: str = VirementRule.ANY,
) -> list[FundingError]:
    """Every problem with a programme as typed, each on its field (the page shows them all at once)."""
    problems: list[FundingError] = []

    def refuse(message: str, field: str) -> None:
        problems.append(FundingError(message, field))

    if not CODE_RE.match(code or ""):
        refuse("Code must be letters, numbers and hyphens, up to 30 characters", "code")
    elif Programme.objects.filter(code__iexact=code).exists():
        refuse(f"A programme with code {code} already exists", "code")
    if not name.strip():
        refuse("Enter the programme's name", "name")
    if menu not in ("GPRP", "GPDP"):
        refuse("Choose the menu of support the programme funds", "menu")
    if virement_rule not in VirementRule.values:
        refuse("Choose whether money may move between the programme's lines", "virement_rule")
    if not lines:
        refuse("Add at least one funding line", "line1_code")
    menu_codes = set(offers_by_code())
    seen: set[str] = set()
    for n, line in enumerate(lines, 1):
        i = line.slot or n
        where, slot = f"Line {i}", f"line{i}_"
        if not CODE_RE.match(line.code or ""):
            refuse(f"{where}: code must be letters, numbers and hyphens", slot + "code")
        elif line.code.lower() in seen:
            refuse(f"{where}: code {line.code} is used twice", slot + "code")
        seen.add((line.code or "").lower())
        if not line.name.strip():
            refuse(f"{where}: enter a name", slot + "name")
        if not line.cost_centre.strip() or not line.ledger_code.strip():
            field = slot + ("cost_centre" if not line.cost_centre.strip() else "ledger_code")
            refuse(f"{where}: enter the finance cost centre and ledger code", field)
        if not line.years:
            refuse(f"{where}: give the amount for at least one financial year", slot + "profile")
        unknown = sorted(set(line.offer_codes) - menu_codes)
        if unknown:
            refuse(f"{where}: {', '.join(unknown)} is not on the menu of support", slot + "offers")
        if len(set(line.offer_codes)) != len(line.offer_codes):
            refuse(f"{where}: an offer is listed twice", slot + "offers")
        if line.access not in LineAccess.values:
            refuse(f"{where}: choose whether the line is targeted or universal", slot + "access")
        if line.allocation_basis not in AllocationBasis.values:
            refuse(f"{where}: choose how the line is allocated (formula, fixed or bid)", slot + "allocation_basis")
        if line.total_pence is not None and line.years and sum(line.years.values()) != line.total_pence:
            refuse(
                f"{where}: the profile adds up to {pounds(sum(line.years.values()))}, "
                f"not the total of {pounds(line.total_pence)}",
                slot + "total",
            )
        for fy, pence in line.years.items():
            if not 2000 <= fy <= 2100:
                refuse(f"{where}: {fy} is not a financial year", slot + "profile")
            if pence <= 0:
                refuse(f"{where}: the {money.fy_label(fy)} amount must be more than £0", slot + "profile")
    return problems


def create_programme(
    *,
    user: User,
    code: str,
    name: str,
    menu: str,
    lines: Sequence[LineSpec],
    description: str = "",
    virement_rule: str = VirementRule.ANY,
    template: str = "",
) -> Programme:
    """A programme with any number of funding lines and their financial-year profiles, each line with the menu
    offers it funds. A line's total is its profile's sum. Every problem is raised at once, each on its field
    (``line<n>_<field>``, n from 1; :func:`check_programme`)."""
    if not can_manage_funding(user):
        raise PermissionDenied("only the national programme team sets up programmes")
    problems = check_programme(code=code, name=name, menu=menu, lines=lines, virement_rule=virement_rule)
    if problems:
        raise FundingError.all_of(problems)
    with transaction.atomic():
        programme = Programme.objects.create(
            code=code.upper(),
            name=name.strip(),
            description=description.strip(),
            menu=menu,
            created_by=user,
            virement_rule=virement_rule,
            template=template,
        )
        for spec in lines:
            line = FundingLine.objects.create(
                programme=programme,
                code=spec.code.lower(),
                name=spec.name.strip(),
                total_pence=sum(spec.years.values()),
                cost_centre=spec.cost_centre.strip(),
                ledger_code=spec.ledger_code.strip(),
                offer_codes=list(spec.offer_codes),
                access=spec.access,
                allocation_basis=spec.allocation_basis,
                figures_source=spec.figures_source.strip(),
            )
            audit.bulk_create(
                FundingYear, [FundingYear(line=line, fy=fy, amount_pence=p) for fy, p in sorted(spec.years.items())]
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
        raise FundingError(f"{line} has no money profiled for {money.fy_label(fy)}", "fy")
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
    malformed = "Shares line {n}: write an ICB code and a share, like 'QHM, 3'"
    for n, code, typed in fields.code_lines(text, malformed, "shares", refuse=FundingError):
        try:
            value = float(typed)
        except ValueError as e:
            raise FundingError(f"Shares line {n}: {typed} is not a number", "shares") from e
        if value < 0 or value != value:
            raise FundingError(f"Shares line {n}: a share cannot be negative", "shares")
        shares[code] = value
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
            raise FundingError("No payments file is loaded: weighted list sizes are not available")
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
            raise FundingError(f"Unknown ICB codes in the shares: {', '.join(unknown)}", "shares")
        weights = {code: float(shares.get(code, 0.0)) for code in icbs}
        return weights, "Fixed shares entered by the national team", left_out
    raise FundingError("Choose an allocation formula", "formula")


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
        raise FundingError("The amount to allocate must be more than £0", "amount")
    if amount_pence > free:
        raise FundingError(
            f"Only {pounds(free)} of {line}'s {money.fy_label(fy)} money ({pounds(year.amount_pence)}) is "
            f"not yet allocated",
            "amount",
        )
    weights, source, left_out = allocation_weights(formula, shares)
    icbs = {i.code: i for i in ICB.objects.select_related("region")}
    codes = sorted(weights)
    if sum(Fraction(weights[c]) for c in codes) <= 0:
        raise FundingError("Every weight is zero: nothing to split by")
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
    _refuse_an_icbs_own_scheme(line)
    with transaction.atomic():
        FundingYear.objects.select_for_update().filter(line=line, fy=fy).first()  # serialise allocations of a year
        preview = preview_allocation(line=line, fy=fy, amount_pence=amount_pence, formula=formula, shares=shares)
        if preview.fingerprint != fingerprint:
            raise FundingError("The split has changed since you previewed it: check the new preview and confirm")
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
        audit.bulk_create(LedgerEntry, entries)
    return allocation


def _refuse_an_icbs_own_scheme(line: FundingLine) -> None:
    """An ICB's own scheme (``Programme.owner_icb``) gets its budgets from that ICB's team
    (``apps.funding.services.local``), never from a national allocation or release."""
    if line.programme.owner_icb_id is not None:
        raise FundingError(
            f"{line.programme.code} is {line.programme.owner_icb}'s own scheme: its team records its budgets"
        )


# Releases -----------------------------------------------------------------------------------------------------


def release_tranche(*, user: User, line: FundingLine, fy: int, amount_pence: int, note: str) -> Release:
    """Release part of a line's year. It is split across the ICB budgets in proportion to what each still has
    unreleased (so releasing everything gives each budget exactly its allocation)."""
    if not can_manage_funding(user):
        raise PermissionDenied("only the national programme team releases money")
    _refuse_an_icbs_own_scheme(line)
    if len(note.strip()) < 3:
        raise FundingError("Say what this release is, e.g. 'First tranche: £16m of £40m'", "note")
    if len(note.strip()) > Release._meta.get_field("note").max_length:  # type: ignore[operator]
        raise FundingError("Keep the note to 300 characters or fewer", "note")
    if amount_pence <= 0:
        raise FundingError("The amount to release must be more than £0", "amount")
    with transaction.atomic():
        FundingYear.objects.select_for_update().filter(line=line, fy=fy).first()
        ids = list(Budget.objects.filter(line=line, fy=fy).values_list("pk", flat=True))
        if not ids:
            raise FundingError(f"Allocate {line}'s {money.fy_label(fy)} money to ICBs before releasing it")
        budgets = _lock(ids)
        found = balances(ids)
        unreleased = [found[pk].unreleased for pk in sorted(budgets)]
        if amount_pence > sum(unreleased):
            raise FundingError(
                f"Only {pounds(sum(unreleased))} of the allocated {money.fy_label(fy)} money is not yet released",
                "amount",
            )
        release = Release.objects.create(
            line=line, fy=fy, amount_pence=amount_pence, note=note.strip(), released_by=user
        )
        movement = uuid.uuid4()
        parts = money.capped_split(amount_pence, unreleased)
        audit.bulk_create(
            LedgerEntry,
            [
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
            ],
        )
    return release


def set_at_risk_threshold(programme: Programme, threshold_bp: int) -> bool:
    """Save the programme's threshold; False when it already had this value (nothing is written)."""
    if programme.at_risk_threshold_bp == threshold_bp:
        return False
    programme.at_risk_threshold_bp = threshold_bp
    programme.save(update_fields=["at_risk_threshold_bp"])
    return True


def set_virement_rule(programme: Programme, rule: str) -> bool:
    """Save how money may move between the programme's lines (``apps.funding.lines.virement_refusal``); False when
    it already had this rule (nothing is written). Virements already asked for are judged by the rule at approval."""
    if rule not in VirementRule.values:
        raise FundingError("Choose whether money may move between the programme's lines", "rule")
    if programme.virement_rule == rule:
        return False
    programme.virement_rule = rule
    programme.save(update_fields=["virement_rule"])
    return True
