"""The shared parse rules (apps.core.fields): each refuses odd input in words, in the refusal type its caller asks
for, and the apps' own parsers are these rules, not copies of them."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from apps.core.errors import DomainError
from apps.core.fields import (
    MAX_POUNDS,
    IdField,
    LocalDateTimeField,
    PoundsField,
    code_lines,
    parse_iso_date,
    parse_local_datetime,
    parse_pounds,
    parse_units,
)


class Refused(DomainError):
    pass


def test_pounds_read_as_people_type_them_and_refuse_in_the_callers_own_type():
    assert parse_pounds("£1,250.50") == 125_050
    assert parse_pounds(f"{MAX_POUNDS:,}") == MAX_POUNDS * 100
    with pytest.raises(Refused, match="The price must be an amount in pounds") as e:
        parse_pounds("1,25", "The price", "price-x", refuse=Refused)
    assert e.value.field == "price-x"
    with pytest.raises(DomainError, match="more than £0"):
        parse_pounds("0")
    with pytest.raises(ValidationError, match="Amount must be at most"):
        PoundsField().clean(f"{MAX_POUNDS + 1}")


def test_the_money_pages_and_the_package_builder_read_pounds_by_the_one_rule():
    from apps.cases.forms import package
    from apps.funding import forms as funding_forms
    from apps.funding.errors import FundingError
    from apps.funding.services import parse_pounds as funding_pounds

    assert funding_forms.PoundsField is PoundsField
    assert package.parse_pounds is parse_pounds
    with pytest.raises(FundingError, match="must be an amount in pounds"):
        funding_pounds("٣")


@pytest.mark.parametrize(("raw", "units"), [("", 0), ("0", 0), (" 3 ", 3), ("12", 12)])
def test_units_left_blank_or_zero_are_not_chosen(raw, units):
    assert parse_units(raw, "Coaching", "session") == units


@pytest.mark.parametrize("raw", ["1.5", "two", "-1", "٣", "9" * 30])
def test_units_that_are_not_a_whole_number_name_the_offer(raw):
    with pytest.raises(DomainError, match=r"Coaching: enter a whole number of sessions\."):
        parse_units(raw, "Coaching", "session")


def test_dates_and_times():
    assert parse_iso_date(" 2027-01-31 ") == date(2027, 1, 31)
    assert parse_iso_date("2027-02-30") is None
    assert parse_iso_date(None) is None
    when = parse_local_datetime("2027-07-14 10:00")
    assert when.utcoffset() is not None and when.hour == 10
    with pytest.raises(DomainError, match="“soon” is not a date and time"):
        parse_local_datetime("soon")
    with pytest.raises(ValidationError, match="is not a date and time"):
        LocalDateTimeField("when it starts").clean("soon")


@pytest.mark.parametrize("raw", ["1.5", "0", "٣", str(2**63)])
def test_an_id_that_is_no_plausible_key_is_refused_in_words(raw):
    with pytest.raises(ValidationError, match=r"Choose a time\."):
        IdField("Choose a time.").clean(raw)


def test_code_lines_read_a_code_and_a_value_a_line_and_count_blank_lines():
    assert code_lines("qhm, 3\n\nA81002 25%\n", "line {n}") == [(1, "QHM", "3"), (3, "A81002", "25")]
    with pytest.raises(Refused, match=r"^Line 3 is wrong$") as e:
        code_lines("QHM 3\n\nQWE\n", "Line {n} is wrong", "shares", refuse=Refused)
    assert e.value.field == "shares"


def test_the_group_box_and_the_fixed_shares_box_split_lines_by_the_one_rule():
    from apps.cases.forms import parse_group
    from apps.funding.errors import FundingError
    from apps.funding.services import parse_shares

    assert parse_group("A81001", "a81002, 25%\n") == [("A81001", 7500), ("A81002", 2500)]
    with pytest.raises(DomainError, match="Group line 2: write the ODS code") as e:
        parse_group("A81001", "A81002 25\nA81003\n")
    assert e.value.field == "group"
    assert parse_shares("QHM, 3\nqwe 1\n") == {"QHM": 3.0, "QWE": 1.0}
    with pytest.raises(FundingError, match="Shares line 1: write an ICB code"):
        parse_shares("QHM 3 4")
