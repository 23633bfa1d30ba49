"""Indicator definitions: the shipped files validate, and broken files are reported by file name."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import polars as pl
import pytest

from analytics.indicators.definition import (
    DEFINITIONS_DIR,
    DefinitionError,
    Flag,
    load_definitions,
    validate_definitions,
)
from analytics.scoring import INDICATORS

REQUIRED_IDS = {
    "patients_per_gp_fte",
    "patients_per_clinical_fte",
    "gp_fte_change_yoy",
    "list_growth",
    "locum_trainee_share",
    "partners_per_gp",
    "small_practice",
    "cqc_rating",
    "qof_achievement",
    "payments_per_weighted_patient",
    "deprivation_imd",
    "rurality",
}

GOOD = """\
id = "{id}"
title = "Example"
measures = "something"
numerator = "a"
denominator = "b"
source_columns = ["x.a", "x.b"]
unit = "%"
direction = "high_is_worse"
group = "demand"
dataset = "x"
period = "latest"
rationale = "because"
weight = 1.0
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_definitions_validate() -> None:
    assert validate_definitions() == []
    defs = load_definitions()
    ids = {d.id for d in defs}
    assert ids >= REQUIRED_IDS
    assert len(ids) == len(defs)
    # Every definition has a computation, and every file is named after its id.
    assert ids <= set(INDICATORS)
    assert {p.stem for p in DEFINITIONS_DIR.glob("*.toml")} == ids
    for d in defs:
        assert d.weight >= 0
        assert d.rationale and d.measures and d.source_columns
        assert d.direction in ("high_is_worse", "low_is_worse")
        assert d.group in ("demand", "capacity", "internal")
    # Ordered by group, then id.
    order = [("demand", "capacity", "internal").index(d.group) for d in defs]
    assert order == sorted(order)


def test_definitions_are_frozen() -> None:
    d = load_definitions()[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.weight = 5.0  # type: ignore[misc]


def test_national_criteria_flags() -> None:
    by_id = {d.id: d for d in load_definitions()}
    qof = by_id["qof_achievement"].flag
    assert qof is not None and qof.op == "<" and qof.value == 85 and "85%" in qof.label
    cqc = by_id["cqc_rating"].flag
    assert cqc is not None and cqc.op == "in" and cqc.value == (2.0, 3.0)
    assert by_id["cqc_rating"].label_for(2.0) == "Requires improvement"
    assert by_id["small_practice"].flag is not None


def test_flag_expr_and_met_agree() -> None:
    df = pl.DataFrame({"v": [None, 80.0, 85.0, 90.0]})
    for op in ("<", "<=", ">", ">="):
        flag = Flag(op=op, value=85.0, label="x")
        got = df.select(flag.expr("v")).to_series().to_list()
        assert got == [flag.met(v) for v in df["v"].to_list()]
        assert got[0] is False  # missing never meets a criterion
    member = Flag(op="in", value=(2.0, 3.0), label="x")
    assert pl.DataFrame({"v": [1.0, 2.0, None]}).select(member.expr("v")).to_series().to_list() == [
        False,
        True,
        False,
    ]


def test_broken_definition_is_reported_with_its_file_name(tmp_path: Path) -> None:
    write(tmp_path, "fine.toml", GOOD.format(id="fine"))
    write(tmp_path, "broken.toml", GOOD.format(id="broken").replace('direction = "high_is_worse"\n', ""))
    problems = validate_definitions(tmp_path)
    assert problems == ["broken.toml: missing key 'direction'"]
    with pytest.raises(DefinitionError) as err:
        load_definitions(tmp_path)
    assert "broken.toml" in str(err.value)
    assert err.value.problems == problems


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("a.toml", GOOD.format(id="a").replace("high_is_worse", "up"), "a.toml: direction 'up' is not one of"),
        ("a.toml", GOOD.format(id="a").replace('"demand"', '"money"'), "a.toml: group 'money' is not one of"),
        ("a.toml", GOOD.format(id="b"), "a.toml: id 'b' does not match the file name"),
        ("a.toml", GOOD.format(id="a").replace("weight = 1.0", "weight = -0.5"), "a.toml: weight -0.5 is negative"),
        ("a.toml", GOOD.format(id="a").replace("weight = 1.0", 'weight = "x"'), "a.toml: weight 'x' is not a number"),
        (
            "a.toml",
            GOOD.format(id="a") + 'flag = { op = "!=", value = 1, label = "x" }\n',
            "a.toml: flag op '!=' is unknown",
        ),
        (
            "a.toml",
            GOOD.format(id="a") + 'flag = { op = "in", value = 1, label = "x" }\n',
            "a.toml: flag op 'in' needs a non-empty list",
        ),
        ("a.toml", GOOD.format(id="a") + 'flag = { op = "<", value = 1 }\n', "a.toml: flag is missing 'label'"),
        ("a.toml", GOOD.format(id="a") + "colour = 1\n", "a.toml: unknown key 'colour'"),
        ("a.toml", GOOD.format(id="a").replace('["x.a", "x.b"]', "[]"), "a.toml: 'source_columns' must be"),
        ("a.toml", GOOD.format(id="a") + "this is not toml\n", "a.toml: not valid TOML"),
    ],
)
def test_each_kind_of_problem(tmp_path: Path, name: str, text: str, expected: str) -> None:
    write(tmp_path, name, text)
    problems = validate_definitions(tmp_path)
    assert any(p.startswith(expected) for p in problems), problems


def test_duplicate_ids_are_reported(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", GOOD.format(id="a"))
    write(tmp_path, "b.toml", GOOD.format(id="a"))
    problems = validate_definitions(tmp_path)
    assert "b.toml: duplicate id 'a' (also in a.toml)" in problems
    assert "b.toml: id 'a' does not match the file name (expected 'b')" in problems


def test_empty_directory_is_a_problem(tmp_path: Path) -> None:
    assert validate_definitions(tmp_path) == [f"{tmp_path}: no indicator definition files (*.toml)"]


def test_copy_of_shipped_definitions_loads_from_another_dir(tmp_path: Path) -> None:
    for p in DEFINITIONS_DIR.glob("*.toml"):
        shutil.copy(p, tmp_path / p.name)
    assert [d.id for d in load_definitions(tmp_path)] == [d.id for d in load_definitions()]
