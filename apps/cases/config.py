"""The case workflow's data files: triage levels (``triage.toml``) and the health check (``healthcheck.toml``)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Level:
    code: str
    label: str
    hint: str


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    reverse: bool
    weight: float


@dataclass(frozen=True)
class Area:
    id: str
    title: str
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Questionnaire:
    version: str
    scale: tuple[str, ...]
    areas: tuple[Area, ...]

    @property
    def questions(self) -> dict[str, Question]:
        return {q.id: q for a in self.areas for q in a.questions}


@cache
def triage_levels() -> tuple[tuple[Level, ...], tuple[Level, ...]]:
    """(scope levels, impact levels), lowest first."""
    data = tomllib.loads((HERE / "triage.toml").read_text(encoding="utf-8"))
    scope = tuple(Level(r["code"], r["label"], r.get("hint", "")) for r in data["scope"])
    impact = tuple(Level(r["code"], r["label"], r.get("hint", "")) for r in data["impact"])
    for name, levels in (("scope", scope), ("impact", impact)):
        codes = [lv.code for lv in levels]
        if not codes or len(set(codes)) != len(codes):
            raise ValueError(f"triage.toml: {name} levels must be listed, each code once")
    return scope, impact


@cache
def questionnaire() -> Questionnaire:
    data = tomllib.loads((HERE / "healthcheck.toml").read_text(encoding="utf-8"))
    areas = tuple(
        Area(
            a["id"],
            a["title"],
            tuple(
                Question(q["id"], q["text"], bool(q.get("reverse", False)), float(q.get("weight", 1)))
                for q in a["questions"]
            ),
        )
        for a in data["area"]
    )
    ids = [q.id for a in areas for q in a.questions]
    if len(set(ids)) != len(ids):
        raise ValueError("healthcheck.toml: a question id is used twice")
    return Questionnaire(str(data["version"]), tuple(data["scale"]), areas)
