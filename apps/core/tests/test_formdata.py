"""Raw form ids: only a plausible primary key gets through (the views refuse the rest in words)."""

from __future__ import annotations

import pytest

from apps.core.formdata import MAX_ID, posted_id, posted_whole


@pytest.mark.parametrize("raw", ["1", " 42 ", "007", str(MAX_ID)])
def test_whole_numbers_in_ascii_digits_are_ids(raw):
    assert posted_id(raw) == int(raw)


@pytest.mark.parametrize(
    "raw", [None, "", " ", "0", "-1", "1.5", "1e3", "abc", "١٢", "１２", "1_000", "+1", str(MAX_ID + 1), "\x00"]
)
def test_anything_else_is_no_id(raw):
    assert posted_id(raw) is None


@pytest.mark.parametrize(("raw", "value"), [("0", 0), (" 90 ", 90), (str(MAX_ID), MAX_ID)])
def test_whole_numbers_include_zero(raw, value):
    assert posted_whole(raw) == value


@pytest.mark.parametrize("raw", [None, "", "-1", "1.5", "²", "٣", "１２", str(MAX_ID + 1)])
def test_digits_that_are_not_ascii_are_no_whole_number(raw):
    assert "²".isdigit()  # why str.isdigit alone was not enough
    assert posted_whole(raw) is None
