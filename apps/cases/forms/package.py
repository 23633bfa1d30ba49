"""The package builder's input, read by a typed parse function (a form does not fit: one units box and one note per
offer on the menu, and a free-text box of group shares). Every bad box is named at once, at its field."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from apps.cases.models import SupportOffer
from apps.cases.services import LineInput
from apps.core.errors import DomainError
from apps.core.fields import code_lines, parse_iso_date, parse_pounds, parse_units


@dataclass
class ParsedPackage:
    """What was typed (to show it again) and, when ``errors`` is empty, what the service takes."""

    units: dict[str, str]
    notes: dict[str, str]
    group: str
    starts: date | None
    ends: date | None
    lines: list[LineInput] = field(default_factory=list)
    # (ODS code, basis points or None: by list size), the lead practice first; empty: the lead practice alone
    shares: list[tuple[str, int | None]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)  # the suggested neighbours ticked
    share_boxes: dict[str, str] = field(default_factory=dict)  # ODS code → the share typed in its box


def _chosen(
    offers: Sequence[SupportOffer], units: Mapping[str, str], errors: dict[str, str]
) -> Iterator[tuple[SupportOffer, int]]:
    """Each offer given a number of units, with that number; a box that is not a whole number goes to ``errors``."""
    for o in offers:
        try:
            n = parse_units(units[o.code], o.title, o.unit)
        except DomainError as e:
            errors[f"units-{o.code}"] = e.message
            continue
        if n:
            yield o, n


def parse_package(data: Mapping[str, str], offers: Sequence[SupportOffer], lead_code: str) -> ParsedPackage:
    """Dates, a whole number of units per offer chosen (blank or 0: not chosen), and the group's shares."""
    units = {o.code: (data.get(f"units-{o.code}") or "").strip() for o in offers}
    notes = {o.code: (data.get(f"note-{o.code}") or "").strip() for o in offers}
    group = (data.get("group") or "").strip()
    out = ParsedPackage(units, notes, group, parse_iso_date(data.get("starts")), parse_iso_date(data.get("ends")))
    if out.starts is None:
        out.errors["starts"] = "Enter the date delivery starts, for example 2026-04-01."
    if out.ends is None:
        out.errors["ends"] = "Enter the date delivery ends, for example 2027-03-31."
    for o, n in _chosen(offers, units, out.errors):
        out.lines.append(LineInput(o.code, n, notes[o.code]))
    getlist = getattr(data, "getlist", None)
    ticked = getlist("member") if getlist else []
    out.members = list(dict.fromkeys(str(c).strip().upper()[:10] for c in ticked if str(c).strip()))[:30]
    out.share_boxes = {
        k[6:].upper()[:10]: str(v).strip()[:20] for k, v in data.items() if k.startswith("share-") and str(v).strip()
    }
    chosen: list[tuple[str, int | None]] = [(lead_code, None)] + [(c, None) for c in out.members if c != lead_code]
    try:
        chosen += [(c, bp) for c, bp in parse_typed_group(group)]
    except DomainError as e:
        out.errors["group"] = e.message
    for i, (code, _given) in enumerate(chosen):
        typed = out.share_boxes.get(code)
        if typed is None:
            continue
        try:
            chosen[i] = (code, _percent(typed, f"The share of {code}", f"share-{code}"))
        except DomainError as e:
            out.errors[f"share-{code}"] = e.message
    out.shares = chosen if len(chosen) > 1 else []
    return out


def _percent(typed: str, what: str, field_name: str) -> int:
    """A percentage share as basis points (``25``, ``25%``, ``12.5``), above 0 and below 100."""
    try:
        share = float(typed.rstrip("%").strip())
    except ValueError:
        raise DomainError(f"{what} must be a number (a percentage).", field_name) from None
    if not (math.isfinite(share) and 0 < share < 100):  # float() accepts "nan" and "inf"
        raise DomainError(f"{what} must be a percentage above 0 and below 100.", field_name)
    return round(share * 100)


def parse_typed_group(text: str) -> list[tuple[str, int | None]]:
    """The typed fallback for practices not suggested: one per line, an ODS code and optionally its percentage
    share (blank: shared by list size with the others left blank). :class:`DomainError` on ``group``."""
    out: list[tuple[str, int | None]] = []
    for n, raw in enumerate((text or "").splitlines(), 1):
        parts = raw.replace(",", " ").split()
        if not parts:
            continue
        if len(parts) > 2 or not parts[0].isalnum() or len(parts[0]) > 10:
            raise DomainError(
                f"Group line {n}: write an ODS code and, if you like, its share, for example “A81002 25”.", "group"
            )
        bp = _percent(parts[1], f"Group line {n}: the share", "group") if len(parts) == 2 else None
        out.append((parts[0].upper(), bp))
    return out


def parse_group(lead_code: str, text: str) -> list[tuple[str, int]]:
    """Lines "ODS share%" for the other practices; the lead practice takes the rest. :class:`DomainError` on
    ``group`` says which line is wrong. No lines: an empty list (the package is the lead practice's alone)."""
    others: list[tuple[str, int]] = []
    malformed = "Group line {n}: write the ODS code and its share, for example “A81002 25”."
    for n, code, typed in code_lines(text, malformed, "group"):
        try:
            share = float(typed)
        except ValueError:
            raise DomainError(f"Group line {n}: the share must be a number (a percentage).", "group") from None
        if not (math.isfinite(share) and 0 < share < 100):  # float() accepts "nan" and "inf"
            raise DomainError(f"Group line {n}: the share must be a percentage above 0 and below 100.", "group")
        others.append((code, round(share * 100)))
    lead = 10_000 - sum(bp for _, bp in others)
    if others and lead <= 0:
        raise DomainError("The other practices' shares leave nothing for the case's own practice.", "group")
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
    for o, n in _chosen(offers, units, out.errors):
        price: int | None = None
        if prices[o.code]:
            try:
                price = parse_pounds(prices[o.code], f"The price per {o.unit} of {o.title}", f"price-{o.code}")
            except DomainError as e:
                out.errors[f"price-{o.code}"] = e.message
                continue
        out.lines.append(LineInput(o.code, n, unit_cost_pence=price))
    if not out.reason:
        out.errors["reason"] = "Say why the package changes."
    return out
