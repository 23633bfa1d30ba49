"""The package builder's input, read by a typed parse function (a form does not fit: one units box and one note per
offer on the menu, and a free-text box of group shares). Every bad box is named at once, at its field."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from apps.cases.models import SupportOffer
from apps.cases.services import LineInput
from apps.core.formdata import posted_whole
from apps.funding.services import FundingError, parse_pounds


@dataclass
class ParsedPackage:
    """What was typed (to show it again) and, when ``errors`` is empty, what the service takes."""

    units: dict[str, str]
    notes: dict[str, str]
    group: str
    starts: date | None
    ends: date | None
    lines: list[LineInput] = field(default_factory=list)
    shares: list[tuple[str, int]] = field(default_factory=list)  # (ODS code, basis points), the lead practice first
    errors: dict[str, str] = field(default_factory=dict)


def _date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


def parse_package(data: Mapping[str, str], offers: Sequence[SupportOffer], lead_code: str) -> ParsedPackage:
    """Dates, a whole number of units per offer chosen (blank or 0: not chosen), and the group's shares."""
    units = {o.code: (data.get(f"units-{o.code}") or "").strip() for o in offers}
    notes = {o.code: (data.get(f"note-{o.code}") or "").strip() for o in offers}
    group = (data.get("group") or "").strip()
    out = ParsedPackage(units, notes, group, _date(data.get("starts")), _date(data.get("ends")))
    if out.starts is None:
        out.errors["starts"] = "Enter the date delivery starts, for example 2026-04-01."
    if out.ends is None:
        out.errors["ends"] = "Enter the date delivery ends, for example 2027-03-31."
    for o in offers:
        raw = units[o.code]
        if raw in ("", "0"):
            continue
        n = posted_whole(raw)
        if n is None:
            out.errors[f"units-{o.code}"] = f"{o.title}: enter a whole number of {o.unit}s."
        else:
            out.lines.append(LineInput(o.code, n, notes[o.code]))
    try:
        out.shares = parse_group(lead_code, group)
    except ValueError as e:
        out.errors["group"] = str(e)
    return out


def parse_group(lead_code: str, text: str) -> list[tuple[str, int]]:
    """Lines "ODS share%" for the other practices; the lead practice takes the rest. ``ValueError`` says which line
    is wrong. No lines: an empty list (the package is the lead practice's alone)."""
    others: list[tuple[str, int]] = []
    for n, line in enumerate(filter(None, (x.strip() for x in text.splitlines())), 1):
        parts = line.replace(",", " ").replace("%", " ").split()
        if len(parts) != 2:
            raise ValueError(f"Group line {n}: write the ODS code and its share, for example “A81002 25”.")
        try:
            share = float(parts[1])
        except ValueError:
            raise ValueError(f"Group line {n}: the share must be a number (a percentage).") from None
        if not (math.isfinite(share) and 0 < share < 100):  # float() accepts "nan" and "inf"
            raise ValueError(f"Group line {n}: the share must be a percentage above 0 and below 100.")
        others.append((parts[0].upper(), round(share * 100)))
    lead = 10_000 - sum(bp for _, bp in others)
    if others and lead <= 0:
        raise ValueError("The other practices' shares leave nothing for the case's own practice.")
    return [(lead_code, lead), *others] if others else []


@dataclass
class ParsedVariation:
    """A variation as typed: units and price per offer (to show again) and, when ``errors`` is empty, the lines."""

    units: dict[str, str]
    prices: dict[str, str]
    reason: str
    lines: list[LineInput] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def parse_variation(data: Mapping[str, str], offers: Sequence[SupportOffer]) -> ParsedVariation:
    """A whole number of units per offer kept or added (blank or 0: not in the package) and its price per unit in
    pounds (blank: the menu's price), and the reason for the change."""
    units = {o.code: (data.get(f"units-{o.code}") or "").strip()[:40] for o in offers}
    prices = {o.code: (data.get(f"price-{o.code}") or "").strip()[:40] for o in offers}
    out = ParsedVariation(units, prices, (data.get("reason") or "").strip()[:5000])
    for o in offers:
        raw = units[o.code]
        if raw in ("", "0"):
            continue
        n = posted_whole(raw)
        if n is None:
            out.errors[f"units-{o.code}"] = f"{o.title}: enter a whole number of {o.unit}s."
            continue
        price: int | None = None
        if prices[o.code]:
            try:
                price = parse_pounds(prices[o.code], f"The price per {o.unit} of {o.title}", f"price-{o.code}")
            except FundingError as e:
                out.errors[f"price-{o.code}"] = e.message
                continue
        out.lines.append(LineInput(o.code, n, unit_cost_pence=price))
    if not out.reason:
        out.errors["reason"] = "Say why the package changes."
    return out
