"""The new-programme form: a programme and any number of funding lines, filled in from a template or typed.

No JavaScript: "Add another line" posts the page back with one more slot (:func:`line_slots` counts the slots from
the fields posted), and every slot left empty is skipped. The rules about programmes stay in
``services.create_programme``; this reads what people type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django import forms

from analytics import money
from analytics.menu.offers import load_menu
from apps.funding.errors import FundingError
from apps.funding.models import AllocationBasis, LineAccess, VirementRule
from apps.funding.programme_templates import templates
from apps.funding.services.ledger import parse_pounds
from apps.funding.services.setup import LineSpec, check_programme

# Programme set-up ------------------------------------------------------------------------------------------------

MAX_LINES = 40  # a page with more lines than this is a mistake, not a programme
LINE_FIELDS = ("code", "name", "cost_centre", "ledger_code", "profile", "total")
_LINE_KEY = re.compile(r"^line([1-9][0-9]{0,2})_")


def line_slots(data: Mapping[str, Any], add: bool = False) -> int:
    """How many line slots a posted programme form has: the highest ``line<n>_`` field sent (at least one, at most
    :data:`MAX_LINES`), one more when the user asked to add a line. No JavaScript: the page posts itself back."""
    found = [int(m.group(1)) for key in data if (m := _LINE_KEY.match(key))]
    return max(1, min(MAX_LINES, max(found, default=1) + (1 if add else 0)))


def menu_choices() -> list[tuple[str, str]]:
    """Every offer on the menu, for the lines' checkboxes: (code, 'GPRP · title')."""
    return [(o.code, f"{o.programme} · {o.title}") for o in load_menu()]


def parse_profile(text: str, where: str) -> dict[int, int]:
    """'2016-17: 16,000,000' per line → {2016: 1_600_000_000}; :class:`FundingError` naming the line otherwise."""
    years: dict[int, int] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if ":" not in line:
            raise FundingError(f"{where}, profile line {n}: write the year and the amount, like '2026-27: 8,500,000'")
        label, amount = (p.strip() for p in line.split(":", 1))
        start = label.split("-")[0].split("/")[0]
        if not (start.isascii() and start.isdigit() and len(start) == 4):  # "²⁰²⁶" passes isdigit, not int()
            raise FundingError(f"{where}, profile line {n}: {label} is not a financial year like 2026-27")
        fy = int(start)
        if fy in years:
            raise FundingError(f"{where}: {money.fy_label(fy)} is given twice")
        years[fy] = parse_pounds(amount, f"{where}, {money.fy_label(fy)} amount")
    return years


class ProgrammeForm(forms.Form):
    """A programme and any number of funding lines (``line1_code`` … ``line<n>_offers``, see :func:`line_slots`);
    a slot left empty is skipped. Each line: code, name, finance codes, profile (and optional total), the menu
    offers it funds (none ticked: the programme's whole menu), targeted or universal, the allocation basis, and
    where its figures come from."""

    code = forms.CharField(max_length=60, required=False, strip=True)
    name = forms.CharField(max_length=200, required=False)
    description = forms.CharField(max_length=5000, required=False)
    menu = forms.CharField(max_length=10, required=False)
    virement_rule = forms.CharField(max_length=20, required=False)
    template = forms.CharField(max_length=30, required=False)

    def __init__(self, *args: Any, slots: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slots = slots
        offers = menu_choices()
        for i in range(1, slots + 1):
            for name in LINE_FIELDS:
                big = name == "profile"
                self.fields[f"line{i}_{name}"] = forms.CharField(max_length=5000 if big else 200, required=False)
            self.fields[f"line{i}_offers"] = forms.MultipleChoiceField(
                choices=offers,
                required=False,
                error_messages={"invalid_choice": f"Line {i}: choose offers from the menu of support"},
            )
            # Blank means the defaults (targeted, by formula); anything else is the service's to refuse by name.
            self.fields[f"line{i}_access"] = forms.CharField(max_length=20, required=False)
            self.fields[f"line{i}_allocation_basis"] = forms.CharField(max_length=20, required=False)
            self.fields[f"line{i}_figures_source"] = forms.CharField(max_length=5000, required=False)

    def clean_template(self) -> str:
        key = self.cleaned_data.get("template", "")
        return key if key in templates() else ""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["virement_rule"] = data.get("virement_rule") or VirementRule.ANY
        specs: list[LineSpec] = []
        for i in range(1, self.slots + 1):
            values = [data.get(f"line{i}_{name}", "") or "" for name in LINE_FIELDS]
            offers = tuple(data.get(f"line{i}_offers") or ())
            source = data.get(f"line{i}_figures_source", "") or ""
            if not any(values) and not offers and not source:
                continue
            years: dict[int, int] = {}
            total = None
            try:
                years = parse_profile(values[4], f"Line {i}")
            except FundingError as e:
                self.add_error(f"line{i}_profile", e.message)
            if values[5]:
                try:
                    total = parse_pounds(values[5], f"Line {i} total")
                except FundingError as e:
                    self.add_error(f"line{i}_total", e.message)
            specs.append(
                LineSpec(
                    *values[:4],
                    years=years,
                    total_pence=total,
                    offer_codes=offers,
                    access=data.get(f"line{i}_access") or LineAccess.TARGETED,
                    allocation_basis=data.get(f"line{i}_allocation_basis") or AllocationBasis.FORMULA,
                    figures_source=source,
                    slot=i,
                )
            )
        data["lines"] = specs
        # The service's rules too, so every problem shows at once beside its field (not only after the typing
        # mistakes are fixed); a field the form already refused keeps the form's message.
        for problem in check_programme(
            code=data.get("code", ""),
            name=data.get("name", ""),
            menu=data.get("menu", ""),
            lines=specs,
            virement_rule=data["virement_rule"],
        ):
            if problem.field and problem.field in self.fields and problem.field not in self.errors:
                self.add_error(problem.field, problem.message)
            elif not problem.field or problem.field not in self.fields:
                self.add_error(None, problem.message)
        return data


def profile_text(years: Mapping[int, int]) -> str:
    """A profile as the page's textarea shows it: '2016-17: 16,000,000.00' a line."""
    return "\n".join(f"{money.fy_label(fy)}: {pence / 100:,.2f}" for fy, pence in sorted(years.items()))


def template_data(key: str) -> dict[str, Any]:
    """The new-programme page's fields filled in from the template ``key`` (the user may change any of them)."""
    t = templates()[key]
    data: dict[str, Any] = {
        "code": t.code,
        "name": t.name,
        "description": t.description,
        "menu": t.menu,
        "virement_rule": t.virement_rule,
        "template": key,
    }
    for i, line in enumerate(t.lines, 1):
        p = f"line{i}_"
        data |= {
            p + "code": line.code,
            p + "name": line.name,
            p + "profile": profile_text({y.fy: y.amount_pence for y in line.years}),
            p + "offers": list(line.offers),
            p + "access": line.access,
            p + "allocation_basis": line.allocation_basis,
            p + "figures_source": line.figures_source,
        }
    return data
