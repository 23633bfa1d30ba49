"""The action plan's rows, read by a typed parse function: the page offers a grid of rows (goal, area, action,
owner, due date, support offer, done), and a plan is goals grouped from the rows that are filled in. Every bad row is
named at once, at its field (``due-3``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from apps.cases.services import ActionInput, GoalInput
from apps.core.fields import parse_iso_date
from apps.core.formdata import posted_id

PLAN_ROWS = 8  # blank action rows offered on the plan form
MAX_PLAN_ROWS = 200  # rows read from one submission at most (the form grows by three each save)
COLUMNS = ("goal", "area", "action", "owner", "due", "offer", "done")


@dataclass
class ParsedPlan:
    goals: list[GoalInput]
    rows: list[dict[str, str]]  # the rows as typed, to show them again
    errors: dict[str, str] = field(default_factory=dict)  # "<column>-<row index>" → message


def parse_plan(data: Mapping[str, str]) -> ParsedPlan:
    """The goals from a posted plan grid; ``errors`` says what is wrong in which cell (nothing is kept then)."""
    # the form says how many rows it offered; anything else (missing, not a number, absurd) means the default
    offered = posted_id(data.get("rows")) or PLAN_ROWS
    rows: list[dict[str, str]] = []
    errors: dict[str, str] = {}
    goals: dict[tuple[str, str], list[ActionInput]] = {}
    for i in range(min(offered, MAX_PLAN_ROWS)):
        row = {k: (data.get(f"{k}-{i}") or "").strip() for k in COLUMNS}
        if not any(row[k] for k in ("goal", "action", "owner", "due")):
            continue
        rows.append(row)
        n = len(rows)
        at = n - 1  # the row is shown again at this index (blank rows dropped), so its cells keep this id
        missing = [k for k in ("goal", "action", "owner", "due") if not row[k]]
        if missing:
            errors[f"{missing[0]}-{at}"] = f"Row {n}: fill in the goal, the action, its owner and its due date."
            continue
        due = parse_iso_date(row["due"])
        if due is None:
            errors[f"due-{at}"] = f"Row {n}: the due date must be a date, for example 2027-01-31."
            continue
        goals.setdefault((row["goal"], row["area"]), []).append(
            ActionInput(row["action"], row["owner"], due, row["offer"], row["done"] == "1")
        )
    if errors:
        return ParsedPlan([], rows, errors)
    return ParsedPlan([GoalInput(area, title, acts) for (title, area), acts in goals.items()], rows)
