"""A scenario's funding lines: what each line has to spend and which menu offers it may fund, handed to the
Django-free optimiser as plain data (``analytics.targeting.plan.Line``).

The offers a line funds come from the programme's one rule, ``apps.funding.lines.funds_offer``, worked out when the
scenario is asked for and stored with it, so a stored scenario says what it was solved with even if the line's list
changes later. People type a line's budget as "PROGRAMME/LINE pounds", one a line; the page fills in the ICB's own
budgets (what is left of this year's released money) or, for England, each line's money for the year.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from analytics import money
from analytics.menu.offers import load_menu
from analytics.targeting.inputs import fair_share_budgets
from analytics.targeting.plan import Candidates, Line
from apps.core import fields
from apps.core.errors import DomainError
from apps.funding.lines import funds_offer, is_universal
from apps.funding.models import FundingLine, FundingYear
from apps.funding.services.ledger import budgets_for
from apps.practices.models import ICB

FIELD = "line_budgets"
MALFORMED = 'Line {n}: write a funding line and its budget in pounds without commas, like "GPRP/CORE 250000"'


@dataclass(frozen=True)
class LineBudget:
    """One line of a scenario: the funding line, its budget for the scenario and what it may fund."""

    key: str  # "PROGRAMME/LINE"
    name: str
    pence: int
    universal: bool
    offers: tuple[str, ...]

    def stored(self) -> dict[str, Any]:
        return {
            "line": self.key,
            "name": self.name,
            "pence": self.pence,
            "universal": self.universal,
            "offers": list(self.offers),
        }


def line_key(line: FundingLine) -> str:
    return f"{line.programme.code}/{line.code}".upper()


def funding_lines() -> dict[str, FundingLine]:
    """Every funding line by its key ("PROGRAMME/LINE"): one query, which a request reads once and hands to
    :func:`unknown_lines` and :func:`parse_line_budgets` (the API asks both of the same body)."""
    return {line_key(x): x for x in FundingLine.objects.select_related("programme")}


def unknown_lines(keys: Sequence[str], lines: Mapping[str, FundingLine] | None = None) -> list[str]:
    """The keys ("PROGRAMME/LINE", any case, spaces ignored) that name no funding line (``lines``, else read: one
    query, none when no key is named)."""
    if not keys:
        return []
    known = funding_lines() if lines is None else lines
    return [k for k in keys if "".join(k.split()).upper() not in known]


def _menu() -> list[tuple[str, str]]:
    return [(o.code, o.programme) for o in load_menu()]


def line_budget(line: FundingLine, pence: int, menu: Sequence[tuple[str, str]] | None = None) -> LineBudget:
    """The line as the optimiser gets it: its offers by the programme's rule (``funds_offer``)."""
    menu = _menu() if menu is None else menu
    return LineBudget(
        key=line_key(line),
        name=str(line),
        pence=pence,
        universal=is_universal(line),
        offers=tuple(code for code, programme in menu if funds_offer(line, code, programme)),
    )


def default_line_budgets(icb: ICB | None, on: date | None = None) -> str:
    """What the scenario form starts with: an ICB's budgets this year with money left to commit, or (England) each
    line's money for the year."""
    if icb is not None:
        rows = [(line_key(b.line), b.headroom_pence) for b in budgets_for(icb, on) if b.headroom_pence > 0]
    else:
        fy = money.financial_year_of(on or timezone.localdate())
        totals = (
            FundingYear.objects.filter(fy=fy)
            .values_list("line__programme__code", "line__code")
            .annotate(total=Sum("amount_pence"))
            .order_by("line__programme__code", "line__code")
        )
        rows = [(f"{p}/{c}".upper(), int(t)) for p, c, t in totals if t]
    merged: dict[str, int] = {}
    for key, pence in rows:
        merged[key] = merged.get(key, 0) + pence
    return "\n".join(f"{key} {pence // 100}" for key, pence in merged.items())


def parse_line_budgets(text: str, lines: Mapping[str, FundingLine] | None = None) -> list[LineBudget]:
    """The form's "PROGRAMME/LINE pounds" lines → the lines with their budgets and offers (``lines``: every funding
    line by key, as :func:`funding_lines` reads them; read here when not given). Refuses (DomainError on
    ``line_budgets``) an unknown line, a line named twice, or a sum that is not pounds."""
    entries = fields.code_lines(text, MALFORMED, FIELD)
    if not entries:
        return []
    lines = funding_lines() if lines is None else lines
    menu = _menu()
    out: list[LineBudget] = []
    seen: set[str] = set()
    for n, key, typed in entries:
        line = lines.get(key)
        if line is None:
            raise DomainError(f"Line {n}: there is no funding line {key[:40]} (write PROGRAMME/LINE)", FIELD)
        if key in seen:
            raise DomainError(f"Line {n}: {key} is named twice", FIELD)
        seen.add(key)
        pence = fields.parse_pounds(typed, f"Line {n}: the budget of {key}", FIELD)
        out.append(line_budget(line, pence, menu))
    return out


def optimiser_lines(stored: Sequence[dict[str, Any]], icb: ICB | None, cands: Candidates) -> tuple[Line, ...]:
    """A scenario's stored lines as the optimiser's: an ICB scenario's money is all its ICB's; England's is split
    between ICBs by registered patients (the per-patient formula), line by line."""
    out = []
    for s in stored:
        budgets = {icb.code: int(s["pence"])} if icb is not None else fair_share_budgets(int(s["pence"]), cands)
        out.append(Line(s["line"], s["name"], budgets, frozenset(s["offers"]), bool(s["universal"])))
    return tuple(out)
