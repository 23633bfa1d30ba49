"""An ICB's own budgets for schemes the national team has not set here.

An ICB team adopting the service brings in the money it already runs: a local resilience scheme paid from its own
allocation, or a programme's money from before the service existed. It records such a budget itself: the scheme is
an ICB-owned programme (``Programme.owner_icb``), and the year's amount is allocated wholly to that ICB and released,
through the same ledger (allocation and release entries, attributed to the person who recorded it). A national
programme's budgets stay the national team's to set: an ICB cannot record one, nor a scheme another ICB owns.
"""

from __future__ import annotations

import hashlib
import re
import uuid

from django.core.exceptions import PermissionDenied
from django.db import transaction

from analytics import money
from analytics.money import Kind
from apps.accounts.models import User
from apps.core import audit
from apps.funding.errors import FundingError
from apps.funding.models import (
    Allocation,
    Budget,
    Formula,
    FundingLine,
    FundingYear,
    LedgerEntry,
    LineAccess,
    Programme,
    Release,
)
from apps.funding.policy import can_act_on_budget
from apps.funding.services.ledger import pounds
from apps.funding.services.setup import CODE_RE
from apps.practices.models import ICB

MENUS = ("GPRP", "GPDP")
LOCAL_FINANCE_CODE = "LOCAL"  # the ICB's own finance codes are not known here; its payment export says LOCAL


def line_code(name: str) -> str:
    """The line's code from its name: "Practice resilience support" → "practice-resilience-support" (30 at most)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:30].strip("-") or "core"


def local_budget_problem(icb: ICB, programme: Programme | None, code: str, menu: str, amount_pence: int) -> str:
    """Why this ICB cannot record this budget ("" if it can): the one rule the import's preview and the service
    apply."""
    if not CODE_RE.match(code):
        return "The programme code must be letters, numbers and hyphens, up to 30 characters (e.g. LRS-2024)"
    if programme is not None and programme.owner_icb_id is None:
        return (
            f"{programme.code} is a national programme: its budgets are set by the national team, not imported "
            f"(ask them if your ICB's is missing)"
        )
    if programme is not None and programme.owner_icb_id != icb.pk:
        return f"{programme.code} is another ICB's own scheme: give your scheme a code of its own"
    if programme is None and menu not in MENUS:
        return "Say which menu of support the scheme funds: GPRP (resilience) or GPDP (development)"
    if amount_pence <= 0:
        return "The budget must be more than £0"
    return ""


def record_local_budget(
    *,
    user: User,
    icb: ICB,
    code: str,
    name: str,
    menu: str,
    line_name: str,
    fy: int,
    amount_pence: int,
    source: str,
) -> Budget:
    """Record the ICB's own budget for ``fy`` on a line of its own scheme ``code`` (made if new), allocated wholly to
    the ICB and released. ``source`` says where the figure came from (e.g. the import's file and row)."""
    if not can_act_on_budget(user, icb):
        raise PermissionDenied("only the ICB's own team records its budgets")
    code = code.strip().upper()
    line_name = (line_name or "").strip() or "Core"
    with transaction.atomic():
        programme = Programme.objects.select_for_update().filter(code__iexact=code).first()
        problem = local_budget_problem(icb, programme, code, menu, amount_pence)
        if problem:
            raise FundingError(problem, "programme")
        if programme is None:
            programme = Programme.objects.create(
                code=code,
                name=(name or "").strip()[:200] or code,
                description=f"{icb.short_name}'s own scheme, recorded by its team",
                menu=menu,
                owner_icb=icb,
                created_by=user,
            )
        line = FundingLine.objects.filter(programme=programme, code=line_code(line_name)).first()
        if line is not None and FundingYear.objects.filter(line=line, fy=fy).exists():
            raise FundingError(
                f"{programme.code} {line.name} already has a {money.fy_label(fy)} budget: it is not changed by "
                f"recording it again",
                "programme",
            )
        if line is None:
            line = FundingLine.objects.create(
                programme=programme,
                code=line_code(line_name),
                name=line_name[:200],
                total_pence=amount_pence,
                cost_centre=LOCAL_FINANCE_CODE,
                ledger_code=LOCAL_FINANCE_CODE,
                access=LineAccess.TARGETED,
            )
        else:
            line.total_pence += amount_pence
            line.save(update_fields=["total_pence"])
        FundingYear.objects.create(line=line, fy=fy, amount_pence=amount_pence)
        split = f"{line.pk}:{fy}:{amount_pence}:{icb.code}"
        allocation = Allocation.objects.create(
            line=line,
            fy=fy,
            amount_pence=amount_pence,
            formula=Formula.FIXED_SHARES,
            data_source=f"Recorded by {icb.short_name}'s team: {source}"[:300],
            basis={icb.code: 1.0},
            fingerprint=hashlib.sha256(split.encode()).hexdigest(),
            created_by=user,
        )
        note = f"{icb.short_name}'s own budget, recorded in full ({pounds(amount_pence)})"
        release = Release.objects.create(line=line, fy=fy, amount_pence=amount_pence, note=note, released_by=user)
        budget = Budget.objects.create(line=line, fy=fy, icb=icb)
        movement = uuid.uuid4()
        audit.bulk_create(
            LedgerEntry,
            [
                LedgerEntry(
                    budget=budget, kind=Kind.ALLOCATION, amount_pence=amount_pence, movement=movement,
                    allocation=allocation, memo=f"Recorded by the ICB: {source}"[:500], created_by=user,
                ),
                LedgerEntry(
                    budget=budget, kind=Kind.RELEASE, amount_pence=amount_pence, movement=movement,
                    release=release, memo=note[:500], created_by=user,
                ),
            ],
        )  # fmt: skip
    return budget
