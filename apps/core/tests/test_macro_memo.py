"""The memoised NHS.UK component macros render exactly what the macros render, and never mix up inputs."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.template import engines
from jinja2 import ChainableUndefined, Undefined
from markupsafe import Markup

from gpsupport.jinja2 import MemoisedMacro, _freeze


def env_macro(name: str) -> MemoisedMacro:
    found = engines["jinja2"].env.globals[name]  # type: ignore[attr-defined]
    assert isinstance(found, MemoisedMacro)
    return found


CALLS: list[tuple[str, dict[str, Any]]] = [
    ("tag", {"text": "Overdue", "classes": "nhsuk-tag--red"}),
    ("tag", {"text": "<b>bold</b>"}),
    ("tag", {"html": Markup("<b>bold</b>")}),
    ("select", {"id": "icb", "name": "icb", "label": {"text": "ICB"}, "items": [{"value": "QHM", "text": "North"}]}),
    (
        "select",
        {
            "id": "icb",
            "name": "icb",
            "label": {"text": "ICB"},
            "items": [{"value": "QHM", "text": "North", "selected": True}],
        },
    ),
    ("button", {"text": "Search"}),
    ("input", {"id": "q", "name": "q", "label": {"text": "Name"}, "value": "O'Brien & <Sons>"}),
    # a form's empty first showing passes its fields' values as Undefined (``data.payee`` of an empty dict)
    ("input", {"id": "payee", "name": "payee", "label": {"text": "Payee"}, "value": ChainableUndefined(name="payee")}),
    ("input", {"id": "payee", "name": "payee", "label": {"text": "Payee"}, "hint": ChainableUndefined()}),
]


@pytest.mark.parametrize(("name", "params"), CALLS)
def test_memoised_output_is_the_macros_output_first_and_second_time(name: str, params: dict[str, Any]) -> None:
    memo = env_macro(name)
    direct = memo.macro(params)
    assert memo(params) == direct
    assert memo(params) == direct  # served from the store


def test_text_is_escaped_and_markup_is_not_even_with_the_same_characters() -> None:
    tag = env_macro("tag")
    plain = tag({"text": "<i>x</i>"})
    marked = tag({"text": Markup("<i>x</i>")})
    assert "&lt;i&gt;x&lt;/i&gt;" in plain
    assert "<i>x</i>" in marked
    assert _freeze({"text": "<i>x</i>"}) != _freeze({"text": Markup("<i>x</i>")})


def test_an_undefined_value_is_a_key_of_its_own_and_renders_as_a_missing_one() -> None:
    undefined = ChainableUndefined(name="payee")
    assert _freeze({"value": undefined}) == _freeze({"value": ChainableUndefined(name="other")})
    assert _freeze({"value": undefined}) not in (_freeze({"value": None}), _freeze({"value": ""}), _freeze({}))
    assert _freeze({"value": undefined}) != _freeze({"value": Undefined()})  # another kind is another key
    memo = env_macro("input")
    params = {"id": "p", "name": "p", "label": {"text": "P"}}
    assert memo({**params, "value": undefined}) == memo.macro(params)  # as if the value were not given


def test_true_and_one_and_lists_and_tuples_are_different_keys() -> None:
    assert _freeze({"a": True}) != _freeze({"a": 1})
    assert _freeze({"a": [1]}) != _freeze({"a": (1,)})
    assert _freeze({"a": 1, "b": 2}) == _freeze({"b": 2, "a": 1})


def test_parameters_that_cannot_be_keyed_go_straight_to_the_macro() -> None:
    calls: list[Any] = []

    def macro(*args: Any, **kwargs: Any) -> Markup:
        calls.append((args, kwargs))
        return Markup(f"<p>{len(calls)}</p>")

    memo = MemoisedMacro(macro)
    assert memo({"when": date(2026, 1, 1)}) == Markup("<p>1</p>")
    assert memo({"when": date(2026, 1, 1)}) == Markup("<p>2</p>")  # a date is not frozen: rendered again
    assert memo({"text": "x"}, caller=lambda: "") == Markup("<p>3</p>")  # a call block is never stored
    assert memo({"text": "x"}) == Markup("<p>4</p>")
    assert memo({"text": "x"}) == Markup("<p>4</p>")
    assert (memo.hits, memo.misses) == (1, 1)


def test_the_store_is_bounded_and_forgets_the_least_recently_used() -> None:
    memo = MemoisedMacro(lambda params: Markup(params["text"]), size=2)
    memo({"text": "a"})
    memo({"text": "b"})
    memo({"text": "a"})  # a is now the most recent
    memo({"text": "c"})  # b goes
    assert len(memo._store) == 2
    memo({"text": "a"})
    memo({"text": "b"})
    assert memo.misses == 4  # a, b, c, then b again


def test_large_outputs_are_not_kept() -> None:
    memo = MemoisedMacro(lambda params: Markup("x" * params["n"]), largest=10)
    memo({"n": 50})
    memo({"n": 5})
    assert len(memo._store) == 1


@pytest.mark.django_db
def test_the_page_header_and_footer_are_remembered_between_requests(client_for: Any) -> None:
    """The layout calls the remembered header and footer (nhsuk/template.jinja's own imports would hide them)."""
    header, footer = env_macro("header"), env_macro("footer")
    client = client_for("icb_a")
    first = client.get("/practices/").content.decode()
    hits = (header.hits, footer.hits)
    second = client.get("/practices/").content.decode()
    assert (header.hits, footer.hits) == (hits[0] + 1, hits[1] + 1)
    assert first.split("<main")[0].split("<header")[1] == second.split("<main")[0].split("<header")[1]
