"""Amounts and years typed oddly are refused in words, never a server error: non-ASCII digits, numbers too large
for the 64-bit pence columns, superscript years in a spending profile."""

from __future__ import annotations

import pytest

from apps.core.fields import MAX_POUNDS
from apps.funding.errors import FundingError
from apps.funding.forms import parse_profile
from apps.funding.services import parse_pounds


@pytest.mark.parametrize("text", ["٣٠٠", "３００", "1٬000", "²", "£٣"])
def test_amounts_in_non_ascii_digits_are_refused_in_words(text):
    with pytest.raises(FundingError, match="must be an amount in pounds"):
        parse_pounds(text)


@pytest.mark.parametrize("text", ["9" * 30, "99999999999999999999.99", f"{MAX_POUNDS + 1:,}", "9" * 5000])
def test_amounts_too_large_to_store_are_refused_in_words(text):
    with pytest.raises(FundingError, match="at most £100,000,000,000"):
        parse_pounds(text)


def test_the_largest_amount_is_still_accepted():
    assert parse_pounds(f"£{MAX_POUNDS:,}") == MAX_POUNDS * 100


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        ("²⁰²⁶-27: 1,000", "is not a financial year"),
        ("٢٠٢٦-27: 1,000", "is not a financial year"),
        ("2026-27: " + "9" * 30, "at most"),
        ("2026-27: ٣٠٠", "must be an amount in pounds"),
    ],
)
def test_a_spending_profile_with_odd_years_or_amounts_is_refused_in_words(profile, message):
    with pytest.raises(FundingError, match=message):
        parse_profile(profile, "Line 1")
