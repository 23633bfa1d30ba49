"""The per-process memos on the rendering path answer exactly what the work they skip would answer: the table
library's signature reading (``apps/core/tables.py``) and the templates' ``url()`` (``gpsupport/jinja2.py``)."""

from __future__ import annotations

import functools
from typing import Any

import django_tables2.utils as tables_utils
import pytest
from django.test import override_settings
from django.urls import NoReverseMatch, reverse

import apps.core.tables  # noqa: F401 - installs the memoised signature
from gpsupport.jinja2 import _reversed, url


class Cells:
    def render_a(self, value: Any) -> str:
        return str(value)

    def render_b(self, value: Any, record: Any, **kwargs: Any) -> str:
        return str(value)

    def render_c(self, *args: Any, table: Any) -> str:
        return ""


def plain(value: Any, bound_row: Any) -> str:
    return str(value)


def test_the_library_reads_signatures_through_the_memo() -> None:
    assert hasattr(tables_utils.signature, "read")


@pytest.mark.parametrize(
    "fn",
    [Cells().render_a, Cells().render_b, Cells().render_c, plain, lambda value: value, functools.partial(plain, 1)],
)
def test_memoised_signature_is_the_librarys(fn: Any) -> None:
    memo = tables_utils.signature
    assert memo(fn) == memo.read(fn)
    assert memo(fn) == memo.read(fn)  # the second answer comes from the memo


def test_bound_methods_of_two_instances_share_one_answer_without_self() -> None:
    first, second = Cells().render_b, Cells().render_b
    assert tables_utils.signature(first) == tables_utils.signature(second) == (("value", "record"), "kwargs")


def test_call_with_appropriate_still_passes_only_what_a_render_takes() -> None:
    seen: list[dict[str, Any]] = []

    def render(value: Any, record: Any) -> str:
        seen.append({"value": value, "record": record})
        return "ok"

    assert tables_utils.call_with_appropriate(render, {"value": 1, "record": 2, "table": 3}) == "ok"
    assert tables_utils.call_with_appropriate(render, {"value": 1}) is None  # a missing argument: not called
    assert seen == [{"value": 1, "record": 2}]


@pytest.mark.parametrize(
    ("name", "args", "kwargs"),
    [("cases:queue", (), {}), ("practices:detail", ("A81001",), {}), ("practices:detail", (), {"code": "B82005"})],
)
def test_url_is_reverse(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    expected = reverse(name, args=args or None, kwargs=kwargs or None)
    assert url(name, *args, **kwargs) == expected
    assert url(name, *args, **kwargs) == expected  # remembered


def test_url_follows_the_script_prefix() -> None:
    before = url("cases:queue")
    with override_settings(FORCE_SCRIPT_NAME="/gp/"):
        from django.urls import set_script_prefix

        set_script_prefix("/gp/")
        try:
            assert url("cases:queue") == "/gp/cases/" == reverse("cases:queue")
        finally:
            set_script_prefix("/")
    assert url("cases:queue") == before == "/cases/"


def test_url_with_an_argument_that_is_not_plain_text_or_a_number_is_reversed_every_time() -> None:
    class Named:
        def __init__(self, text: str) -> None:
            self.text = text

        def __str__(self) -> str:
            return self.text

    thing = Named("A81001")
    before = _reversed.cache_info().currsize
    assert url("practices:detail", thing) == "/practices/A81001/"
    thing.text = "B82005"  # the same object, another text: a remembered answer would be stale
    assert url("practices:detail", thing) == "/practices/B82005/"
    odd = ["A81001"]  # a list cannot even be a key
    assert url("practices:detail", odd) == reverse("practices:detail", args=[odd])
    assert _reversed.cache_info().currsize == before


def test_a_name_that_does_not_reverse_is_not_remembered() -> None:
    hits = _reversed.cache_info().currsize
    with pytest.raises(NoReverseMatch):
        url("no-such:page")
    assert _reversed.cache_info().currsize == hits
