"""The menu of support, read from ``offers.toml`` (Django-free).

The case workflow's package builder prices lines from it, and the optimiser reads unit costs, coach hours and the
documented effect assumptions from it. :func:`validate_menu` names every problem; :func:`load_menu` refuses a menu
with any.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

MENU_TOML = Path(__file__).with_name("offers.toml")
PROGRAMMES = ("GPRP", "GPDP")
UNIT_BASES = ("fixed", "patients", "weighted_patients")
IMPACT_LEVELS = ("low", "medium", "high")
_FIELDS: dict[str, type | tuple[type, ...]] = {
    "code": str,
    "programme": str,
    "heading": str,
    "title": str,
    "description": str,
    "unit": str,
    "unit_cost_pence": int,
    "unit_basis": str,
    "max_units": int,
    "coach_hours_per_unit": (int, float),
    "group": bool,
    "requires_impact": list,
    "requires_signed_off_plan": bool,
    "not_fundable": list,
    "effect": (int, float),
    "standard_units": int,
    "price_source": str,
    "effect_source": str,
}
# "local estimate by <who> on <YYYY-MM-DD>: <why>": an estimate names who set it and when (issue 17 §5).
_ESTIMATE = re.compile(r"^local estimate by (?P<by>.+?) on (?P<on>\d{4}-\d{2}-\d{2}): (?P<why>\S.*)$", re.S)
_MIN_SOURCE = 12  # a source names a document or tariff: "GPFV p. 27" is about the shortest that does


class MenuError(ValueError):
    """The menu file is wrong; ``problems`` lists each problem in words."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Offer:
    code: str
    programme: str
    heading: str
    title: str
    description: str
    unit: str
    unit_cost_pence: int
    unit_basis: str
    max_units: int
    coach_hours_per_unit: float
    group: bool
    requires_impact: tuple[str, ...]
    requires_signed_off_plan: bool
    not_fundable: tuple[str, ...]
    effect: float
    standard_units: int
    price_source: str = ""
    effect_source: str = ""

    @property
    def price_label(self) -> str:
        return source_label(self.price_source)

    @property
    def effect_label(self) -> str:
        return source_label(self.effect_source)

    @property
    def standard_cost_pence(self) -> int:
        """Cost of the optimiser's standard package for a practice of average size (fixed-unit offers)."""
        return self.unit_cost_pence * self.standard_units

    def units_for(self, requested: int, patients: int | None, weighted_patients: float | None) -> int:
        """The number of units a line buys: what was asked for, or the list size for per-patient offers."""
        if self.unit_basis == "patients":
            if patients is None:
                raise ValueError(f"{self.title} is paid per registered patient and the practice has no list size")
            return int(patients) * max(1, min(requested, self.max_units))
        if self.unit_basis == "weighted_patients":
            if weighted_patients is None:
                raise ValueError(f"{self.title} is paid per weighted patient and the practice has no weighted list")
            return round(weighted_patients) * max(1, min(requested, self.max_units))
        return requested


def _problems(i: int, row: object) -> list[str]:
    where = f"offer {i + 1}"
    if not isinstance(row, dict):
        return [f"{where}: not a table"]
    where = f"offer {row.get('code', i + 1)!s}"
    out = [f"{where}: missing {k}" for k in _FIELDS if k not in row]
    out += [f"{where}: unknown field {k}" for k in row if k not in _FIELDS]
    for k, t in _FIELDS.items():
        v = row.get(k)
        if v is None:
            continue
        if isinstance(v, bool) and t is not bool:
            out.append(f"{where}: {k} must be a number, not true/false")
        elif not isinstance(v, t):
            out.append(f"{where}: {k} has the wrong type ({type(v).__name__})")
    if out:
        return out
    if row["programme"] not in PROGRAMMES:
        out.append(f"{where}: programme must be one of {', '.join(PROGRAMMES)}")
    if row["unit_basis"] not in UNIT_BASES:
        out.append(f"{where}: unit_basis must be one of {', '.join(UNIT_BASES)}")
    if row["unit_cost_pence"] <= 0:
        out.append(f"{where}: unit_cost_pence must be positive")
    if row["max_units"] < 1 or row["standard_units"] < 1:
        out.append(f"{where}: max_units and standard_units must be at least 1")
    if row["standard_units"] > row["max_units"]:
        out.append(f"{where}: standard_units is more than max_units")
    if not 0 <= row["effect"] < 1:
        out.append(f"{where}: effect must be a fraction in [0, 1)")
    if row["coach_hours_per_unit"] < 0:
        out.append(f"{where}: coach_hours_per_unit must not be negative")
    for k in ("price_source", "effect_source"):
        problem = source_problem(row[k])
        if problem:
            out.append(f"{where}: {k} {problem}")
    bad = [x for x in row["requires_impact"] if x not in IMPACT_LEVELS]
    if bad:
        out.append(f"{where}: requires_impact has unknown levels {bad}")
    return out


def source_problem(text: str) -> str | None:
    """What is wrong with a ``price_source`` / ``effect_source``, or None. A source names its document (and page or
    paragraph) or tariff; an estimate is written "local estimate by <who> on <YYYY-MM-DD>: <why>"."""
    text = text.strip()
    if text.lower().startswith("local estimate"):
        m = _ESTIMATE.match(text)
        if not m:
            return "must read 'local estimate by <who> on <YYYY-MM-DD>: <why>'"
        try:
            date.fromisoformat(m["on"])
        except ValueError:
            return f"has a date that is not a date ({m['on']})"
        return None
    if len(text) < _MIN_SOURCE:
        return "must name its source (document and page, or tariff) or say 'local estimate by … on …: …'"
    return None


def _day(iso: str) -> str:
    d = date.fromisoformat(iso)
    return f"{d.day} {d:%B %Y}"


def source_label(text: str) -> str:
    """How a page shows a figure's basis: 'source: …' or 'local estimate set by X on 23 November 2026 (why)'."""
    m = _ESTIMATE.match(text.strip())
    if m:
        return f"local estimate set by {m['by']} on {_day(m['on'])} ({m['why']})"
    return f"source: {text.strip()}" if text.strip() else "no source given"


def validate_menu(path: Path = MENU_TOML) -> list[str]:
    """Every problem with the menu file, in words (empty when it is good)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        return [f"{path.name}: {e}"]
    rows = data.get("offer")
    if not isinstance(rows, list) or not rows:
        return [f"{path.name}: no [[offer]] tables"]
    problems = [p for i, r in enumerate(rows) for p in _problems(i, r)]
    codes = [r.get("code") for r in rows if isinstance(r, dict)]
    problems += [f"offer {c}: code used twice" for c in sorted({c for c in codes if codes.count(c) > 1}, key=str)]
    return problems


# The offers read from each menu file, with the file's (modification time, size) when read: the menu is read on
# every package build, approval and menu page, and parsing and checking the TOML twice cost 10-35 ms each time.
_READ: dict[Path, tuple[tuple[int, int], tuple[Offer, ...]]] = {}


def load_menu(path: Path = MENU_TOML) -> list[Offer]:
    """The offers, in file order. Raises :class:`MenuError` naming every problem. Read again only when the file
    changes (its modification time or size)."""
    try:
        st = path.stat()
    except OSError:
        return _read_menu(path)  # raises, naming the file
    stamp = (st.st_mtime_ns, st.st_size)
    held = _READ.get(path)
    if held is None or held[0] != stamp:
        held = (stamp, tuple(_read_menu(path)))
        _READ[path] = held
    return list(held[1])


def _read_menu(path: Path) -> list[Offer]:
    problems = validate_menu(path)
    if problems:
        raise MenuError(problems)
    rows = tomllib.loads(path.read_text(encoding="utf-8"))["offer"]
    return [
        Offer(
            **{
                **r,
                "coach_hours_per_unit": float(r["coach_hours_per_unit"]),
                "effect": float(r["effect"]),
                "requires_impact": tuple(r["requires_impact"]),
                "not_fundable": tuple(r["not_fundable"]),
            }
        )
        for r in rows
    ]


def offers_by_code(path: Path = MENU_TOML) -> dict[str, Offer]:
    """The offers keyed by their code (see :func:`load_menu`)."""
    return {o.code: o for o in load_menu(path)}
