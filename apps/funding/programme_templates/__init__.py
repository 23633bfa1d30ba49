"""Programme templates as data: GPRP and GPDP (Time for Care) as NHS England ran them, each figure with its source.

One TOML file per template in this folder (see ``gprp.toml`` for the fields). A national user starts a programme
from one on the new-programme page; the page fills the lines in and the user may change anything before saving.
Each figure carries ``source`` (the document it comes from) or ``estimate`` (why it is not in a source): the
programme's lines keep that text (``FundingLine.figures_source``) so no invented figure is shown as fact.

:func:`validate_template` names every problem in a file; :func:`templates` refuses a folder with any (a test loads
them all). Django-light: it reads the menu and the funding choices, and writes nothing.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from analytics import money
from analytics.menu.offers import offers_by_code
from apps.funding.models import AllocationBasis, LineAccess, MenuProgramme, VirementRule
from apps.funding.services.setup import LineSpec

HERE = Path(__file__).parent


class TemplateError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Figure:
    """A fact from a source, or an estimate with its reason."""

    source: str = ""
    estimate: str = ""

    @property
    def label(self) -> str:
        return f"source: {self.source}" if self.source else f"estimate: {self.estimate}"


@dataclass(frozen=True)
class TemplateYear:
    fy: int
    amount_pence: int
    basis: Figure


@dataclass(frozen=True)
class TemplateLine:
    code: str
    name: str
    offers: tuple[str, ...]
    access: str
    allocation_basis: str
    years: tuple[TemplateYear, ...]
    offers_basis: Figure
    access_basis: Figure
    allocation_basis_basis: Figure

    @property
    def figures_source(self) -> str:
        """What the line's profile rests on, in words, kept on the line it makes."""
        years = "; ".join(f"{money.fy_label(y.fy)} {y.basis.label}" for y in self.years)
        return (
            f"Offers {self.offers_basis.label}. Access {self.access_basis.label}. "
            f"Allocation {self.allocation_basis_basis.label}. Profile: {years}."
        )


@dataclass(frozen=True)
class ProgrammeTemplate:
    key: str
    code: str
    name: str
    menu: str
    description: str
    source: str
    virement_rule: str
    virement_rule_basis: Figure
    lines: tuple[TemplateLine, ...]


def _figure(row: dict[str, Any], name: str, where: str, problems: list[str]) -> Figure:
    source, estimate = row.get(f"{name}source", ""), row.get(f"{name}estimate", "")
    if not isinstance(source, str) or not isinstance(estimate, str) or bool(source.strip()) == bool(estimate.strip()):
        problems.append(f"{where}: give exactly one of {name}source or {name}estimate, in words")
    return Figure(str(source).strip(), str(estimate).strip())


def validate_template(data: dict[str, Any], key: str) -> tuple[ProgrammeTemplate | None, list[str]]:
    """The template in ``data`` and every problem with it (a template is returned only when there are none)."""
    problems: list[str] = []
    menu = offers_by_code()
    for name in ("code", "name", "menu", "description", "source", "virement_rule"):
        if not isinstance(data.get(name), str) or not data[name].strip():
            problems.append(f"{key}: {name} is missing")
    if data.get("menu") not in MenuProgramme.values:
        problems.append(f"{key}: menu must be one of {', '.join(MenuProgramme.values)}")
    if data.get("virement_rule") not in VirementRule.values:
        problems.append(f"{key}: virement_rule must be one of {', '.join(VirementRule.values)}")
    rule_basis = _figure(data, "virement_rule_", key, problems)
    lines = []
    raw_lines = data.get("line")
    if not isinstance(raw_lines, list) or not raw_lines:
        problems.append(f"{key}: add at least one [[line]]")
        raw_lines = []
    for i, row in enumerate(raw_lines, 1):
        where = f"{key} line {i}"
        offers = row.get("offers", [])
        if not isinstance(offers, list) or any(o not in menu for o in offers):
            problems.append(f"{where}: offers must be codes on the menu (analytics/menu/offers.toml)")
            offers = []
        if row.get("access") not in LineAccess.values:
            problems.append(f"{where}: access must be one of {', '.join(LineAccess.values)}")
        if row.get("allocation_basis") not in AllocationBasis.values:
            problems.append(f"{where}: allocation_basis must be one of {', '.join(AllocationBasis.values)}")
        for name in ("code", "name"):
            if not isinstance(row.get(name), str) or not row[name].strip():
                problems.append(f"{where}: {name} is missing")
        years = []
        for y in row.get("year", []):
            fy, amount = y.get("fy"), y.get("amount_pence")
            if not isinstance(fy, int) or not 2000 <= fy <= 2100 or not isinstance(amount, int) or amount <= 0:
                problems.append(f"{where}: each year needs fy (e.g. 2016) and amount_pence above 0")
                continue
            years.append(TemplateYear(fy, amount, _figure(y, "", f"{where} {fy}", problems)))
        if not years:
            problems.append(f"{where}: give the profile, one [[line.year]] per financial year")
        if len({y.fy for y in years}) != len(years):
            problems.append(f"{where}: a financial year is given twice")
        lines.append(
            TemplateLine(
                code=str(row.get("code", "")),
                name=str(row.get("name", "")),
                offers=tuple(offers),
                access=str(row.get("access", "")),
                allocation_basis=str(row.get("allocation_basis", "")),
                years=tuple(years),
                offers_basis=_figure(row, "offers_", where, problems),
                access_basis=_figure(row, "access_", where, problems),
                allocation_basis_basis=_figure(row, "allocation_basis_", where, problems),
            )
        )
    if len({ln.code.lower() for ln in lines}) != len(lines):
        problems.append(f"{key}: two lines share a code")
    if problems:
        return None, problems
    return (
        ProgrammeTemplate(
            key=key,
            code=data["code"],
            name=data["name"],
            menu=data["menu"],
            description=data["description"].strip(),
            source=data["source"].strip(),
            virement_rule=data["virement_rule"],
            virement_rule_basis=rule_basis,
            lines=tuple(lines),
        ),
        [],
    )


def load_template(path: Path) -> ProgrammeTemplate:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise TemplateError([f"{path.stem}: not valid TOML ({e})"]) from e
    template, problems = validate_template(data, path.stem)
    if template is None:
        raise TemplateError(problems)
    return template


def line_specs(template: ProgrammeTemplate, finance_codes: dict[str, tuple[str, str]]) -> list[LineSpec]:
    """The template's lines as ``create_programme`` takes them; ``finance_codes`` gives each line's local cost
    centre and ledger code by line code (the template has none: they are the finance team's)."""
    return [
        LineSpec(
            code=line.code,
            name=line.name,
            cost_centre=finance_codes.get(line.code, ("", ""))[0],
            ledger_code=finance_codes.get(line.code, ("", ""))[1],
            years={y.fy: y.amount_pence for y in line.years},
            offer_codes=line.offers,
            access=line.access,
            allocation_basis=line.allocation_basis,
            figures_source=line.figures_source,
        )
        for line in template.lines
    ]


@cache
def templates() -> dict[str, ProgrammeTemplate]:
    """Every shipped template by its key (the file name), in name order."""
    return {p.stem: load_template(p) for p in sorted(HERE.glob("*.toml"))}
