"""Pressure-index indicators, declared as data: one reviewed TOML file per indicator in ``definitions/``.

Each file ``definitions/<id>.toml`` holds:

==============  ===========================================================================================
key             meaning
==============  ===========================================================================================
id              the indicator id; must equal the file name (``qof_achievement.toml`` -> ``qof_achievement``)
title           short name used in sentences ("Patients per GP FTE")
measures        what it measures, in a sentence
numerator       what is counted on top (or the value itself for a plain measure)
denominator     what it is divided by ("none" for a plain measure)
source_columns  list of ``dataset.column`` the value is computed from
unit            unit of the value ("%", "£", "patients", "FTE", "headcount", "score", "rating", ...)
direction       ``high_is_worse`` or ``low_is_worse``: which end means more pressure
group           ``demand``, ``capacity`` or ``internal`` (the national criteria groups, domain brief §2)
dataset         the national dataset(s) it is read from
period          which period it needs, relative to the as-of date
rationale       why it is in the index, why this orientation and why this weight
weight          float >= 0: its weight in the composite (0 = shown and flagged, not scored)
==============  ===========================================================================================

Optional keys: ``flag = {op = "<" | ">" | "<=" | ">=" | "in", value = ..., label = "..."}`` for a national
criterion met by the raw value; ``value_labels = {"0" = "Outstanding", ...}`` to show coded values as words;
``decimals`` (int) for display; ``missing_text`` (may use ``{as_of}`` and ``{period}``) to say why a value is missing.

:func:`validate_definitions` lists every problem (each prefixed with the file name); :func:`load_definitions`
raises :class:`DefinitionError` with those problems, or returns frozen :class:`IndicatorDefinition` objects.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast

import polars as pl

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"

DIRECTIONS = ("high_is_worse", "low_is_worse")
GROUPS = ("demand", "capacity", "internal")
FLAG_OPS = ("<", ">", "<=", ">=", "in")
REQUIRED_KEYS = (
    "id",
    "title",
    "measures",
    "numerator",
    "denominator",
    "source_columns",
    "unit",
    "direction",
    "group",
    "dataset",
    "period",
    "rationale",
    "weight",
)
OPTIONAL_KEYS = ("flag", "value_labels", "decimals", "missing_text")
TEXT_KEYS = ("id", "title", "measures", "numerator", "denominator", "unit", "dataset", "period", "rationale")

Direction = Literal["high_is_worse", "low_is_worse"]
Group = Literal["demand", "capacity", "internal"]
FlagOp = Literal["<", ">", "<=", ">=", "in"]


class DefinitionError(ValueError):
    """One or more indicator definition files are invalid; ``problems`` lists them (file name first)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid indicator definitions:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Flag:
    """A national criterion met by the raw indicator value (e.g. QOF achievement under 85%)."""

    op: FlagOp
    value: float | tuple[float, ...]
    label: str

    def expr(self, column: str) -> pl.Expr:
        """True where the criterion is met; false (never null) where the value is missing."""
        c = pl.col(column)
        if self.op == "in":
            values = self.value if isinstance(self.value, tuple) else (self.value,)
            met = c.is_in(list(values))
        else:
            v = float(cast(float, self.value))
            met = {"<": c < v, ">": c > v, "<=": c <= v, ">=": c >= v}[self.op]
        return met.fill_null(False)

    def met(self, value: float | None) -> bool:
        """The same test on one Python value (used by the plain-Python baseline and explanations)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        if self.op == "in":
            values = self.value if isinstance(self.value, tuple) else (self.value,)
            return value in values
        v = float(cast(float, self.value))
        return {"<": value < v, ">": value > v, "<=": value <= v, ">=": value >= v}[self.op]


@dataclass(frozen=True)
class IndicatorDefinition:
    """One indicator, as reviewed in its TOML file."""

    id: str
    title: str
    measures: str
    numerator: str
    denominator: str
    source_columns: tuple[str, ...]
    unit: str
    direction: Direction
    group: Group
    dataset: str
    period: str
    rationale: str
    weight: float
    flag: Flag | None = None
    value_labels: tuple[tuple[float, str], ...] = field(default=())
    decimals: int | None = None
    missing_text: str | None = None

    @property
    def high_is_worse(self) -> bool:
        return self.direction == "high_is_worse"

    def label_for(self, value: float) -> str | None:
        for code, text in self.value_labels:
            if code == value:
                return text
        return None


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _check(name: str, data: dict[str, object]) -> list[str]:
    """Problems in one parsed definition file (each prefixed with the file name)."""
    problems: list[str] = []

    def bad(msg: str) -> None:
        problems.append(f"{name}: {msg}")

    for key in REQUIRED_KEYS:
        if key not in data:
            bad(f"missing key {key!r}")
    for key in data:
        if key not in REQUIRED_KEYS and key not in OPTIONAL_KEYS:
            bad(f"unknown key {key!r}")
    for key in TEXT_KEYS:
        if key in data and not (isinstance(data[key], str) and str(data[key]).strip()):
            bad(f"{key!r} must be a non-empty string")
    if "id" in data and isinstance(data["id"], str) and data["id"] != Path(name).stem:
        bad(f"id {data['id']!r} does not match the file name (expected {Path(name).stem!r})")
    if "source_columns" in data:
        cols = data["source_columns"]
        if not (isinstance(cols, list) and cols and all(isinstance(c, str) and c.strip() for c in cols)):
            bad("'source_columns' must be a non-empty list of strings")
    if "direction" in data and data["direction"] not in DIRECTIONS:
        bad(f"direction {data['direction']!r} is not one of {', '.join(DIRECTIONS)}")
    if "group" in data and data["group"] not in GROUPS:
        bad(f"group {data['group']!r} is not one of {', '.join(GROUPS)}")
    if "weight" in data:
        w = data["weight"]
        if not _is_number(w):
            bad(f"weight {w!r} is not a number")
        elif not math.isfinite(float(cast(float, w))):
            bad(f"weight {w!r} is not finite")
        elif float(cast(float, w)) < 0:
            bad(f"weight {w!r} is negative (must be >= 0)")
    if "flag" in data:
        flag = data["flag"]
        if not isinstance(flag, dict):
            bad("'flag' must be a table {op, value, label}")
        else:
            for key in ("op", "value", "label"):
                if key not in flag:
                    bad(f"flag is missing {key!r}")
            for key in flag:
                if key not in ("op", "value", "label"):
                    bad(f"flag has unknown key {key!r}")
            op = flag.get("op")
            if "op" in flag and op not in FLAG_OPS:
                bad(f"flag op {op!r} is unknown (use one of {' '.join(FLAG_OPS)})")
            value = flag.get("value")
            if op == "in" and "value" in flag:
                if not (isinstance(value, list) and value and all(_is_number(v) for v in value)):
                    bad("flag op 'in' needs a non-empty list of numbers as value")
            elif op in FLAG_OPS and "value" in flag and not _is_number(value):
                bad(f"flag op {op!r} needs a number as value, not {value!r}")
            if "label" in flag and not (isinstance(flag["label"], str) and flag["label"].strip()):
                bad("flag label must be a non-empty string")
    if "value_labels" in data:
        labels = data["value_labels"]
        if not isinstance(labels, dict) or not labels:
            bad("'value_labels' must be a table of code = label")
        else:
            for k, v in labels.items():
                try:
                    float(k)
                except ValueError:
                    bad(f"value_labels key {k!r} is not a number")
                if not isinstance(v, str):
                    bad(f"value_labels[{k!r}] must be a string")
    if "decimals" in data and not (isinstance(data["decimals"], int) and 0 <= data["decimals"] <= 6):
        bad("'decimals' must be an integer 0..6")
    if "missing_text" in data and not isinstance(data["missing_text"], str):
        bad("'missing_text' must be a string")
    return problems


def _read(path: Path) -> tuple[dict[str, object] | None, list[str]]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh), []
    except tomllib.TOMLDecodeError as exc:
        return None, [f"{path.name}: not valid TOML ({exc})"]
    except OSError as exc:
        return None, [f"{path.name}: cannot read ({exc})"]


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in Path(directory).glob("*.toml") if p.is_file())


def validate_definitions(dir: Path | None = None) -> list[str]:
    """Every problem in the definition files of ``dir`` (default: the shipped ones); empty when all are valid."""
    directory = Path(dir) if dir is not None else DEFINITIONS_DIR
    files = _files(directory)
    if not files:
        return [f"{directory}: no indicator definition files (*.toml)"]
    problems: list[str] = []
    seen: dict[str, str] = {}
    for path in files:
        data, errors = _read(path)
        problems.extend(errors)
        if data is None:
            continue
        problems.extend(_check(path.name, data))
        ident = data.get("id")
        if isinstance(ident, str):
            if ident in seen:
                problems.append(f"{path.name}: duplicate id {ident!r} (also in {seen[ident]})")
            else:
                seen[ident] = path.name
    return problems


def _build(data: dict[str, object]) -> IndicatorDefinition:
    flag = None
    raw_flag = data.get("flag")
    if isinstance(raw_flag, dict):
        raw_value = raw_flag["value"]
        value: float | tuple[float, ...] = (
            tuple(float(v) for v in raw_value) if isinstance(raw_value, list) else float(raw_value)
        )
        flag = Flag(op=cast(FlagOp, raw_flag["op"]), value=value, label=str(raw_flag["label"]))
    labels = data.get("value_labels")
    value_labels = tuple(sorted((float(k), str(v)) for k, v in labels.items())) if isinstance(labels, dict) else ()
    decimals = data.get("decimals")
    missing_text = data.get("missing_text")
    return IndicatorDefinition(
        id=str(data["id"]),
        title=str(data["title"]),
        measures=str(data["measures"]).strip(),
        numerator=str(data["numerator"]),
        denominator=str(data["denominator"]),
        source_columns=tuple(str(c) for c in cast(list[str], data["source_columns"])),
        unit=str(data["unit"]),
        direction=cast(Direction, data["direction"]),
        group=cast(Group, data["group"]),
        dataset=str(data["dataset"]),
        period=str(data["period"]),
        rationale=" ".join(str(data["rationale"]).split()),
        weight=float(cast(float, data["weight"])),
        flag=flag,
        value_labels=value_labels,
        decimals=decimals if isinstance(decimals, int) else None,
        missing_text=missing_text if isinstance(missing_text, str) else None,
    )


def load_definitions(dir: Path | None = None) -> list[IndicatorDefinition]:
    """The validated definitions of ``dir`` (default: the shipped ones), ordered by group then id.

    Raises :class:`DefinitionError` listing every problem when any file is invalid.
    """
    directory = Path(dir) if dir is not None else DEFINITIONS_DIR
    problems = validate_definitions(directory)
    if problems:
        raise DefinitionError(problems)
    definitions = []
    for path in _files(directory):
        data, _ = _read(path)
        assert data is not None  # validated above
        definitions.append(_build(data))
    return sorted(definitions, key=lambda d: (GROUPS.index(d.group), d.id))


__all__ = [
    "DEFINITIONS_DIR",
    "DefinitionError",
    "Flag",
    "IndicatorDefinition",
    "load_definitions",
    "validate_definitions",
]
