"""Field types the delivery forms share: each turns what a browser (or a hand-made POST) sends into a typed value or
a message the user can act on, never a server error.

A hand-made POST can send anything where the page offered a list: ``"1.5"``, ``"٣"``, or an id wider than the
database's integer (see :mod:`apps.core.formdata`); these fields refuse such values in words.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.core.formdata import posted_id, posted_whole
from apps.delivery.errors import DeliveryError


def parse_local_datetime(raw: str) -> datetime:
    """A ``datetime-local`` value (or "YYYY-MM-DD HH:MM") in UK time, as an aware datetime."""
    try:
        naive = datetime.fromisoformat(raw.strip().replace(" ", "T"))
    except ValueError:
        raise DeliveryError(f"“{raw.strip()}” is not a date and time, for example 2027-01-14 10:00.") from None
    if naive.tzinfo is not None:
        return naive
    return timezone.make_aware(naive, timezone.get_current_timezone())


class LocalDateTimeField(forms.Field):
    """A date and time in UK time (``datetime-local`` or "YYYY-MM-DD HH:MM")."""

    def __init__(self, what: str, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", {"required": f"Enter {what}, for example 2027-01-14 10:00."})
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> datetime | None:
        if value in self.empty_values or not str(value).strip():
            return None
        try:
            return parse_local_datetime(str(value))
        except DeliveryError as e:
            raise ValidationError(e.message) from None


def date_field(what: str, required: bool = True) -> forms.DateField:
    """An ISO date (2027-01-31); the message names what the date is."""
    message = f"Enter {what} as a date, for example 2027-01-31."
    return forms.DateField(
        required=required, input_formats=["%Y-%m-%d"], error_messages={"required": message, "invalid": message}
    )


def number_field(what: str, required: bool = True) -> forms.FloatField:
    """A finite number: Django's FloatField refuses "nan" and "inf", which would pass every range check (NaN
    compares false) and reach a NOT NULL column as NULL."""
    message = f"Enter {what} as a number."
    return forms.FloatField(required=required, error_messages={"required": message, "invalid": message})


def text_field(required: bool = False, message: str = "", max_length: int | None = None) -> forms.CharField:
    """Free text, kept as typed (the services strip and check lengths, so the API is held to the same rules)."""
    return forms.CharField(
        required=required, strip=False, max_length=max_length, error_messages={"required": message} if message else {}
    )


class WholeNumberField(forms.Field):
    """A whole number (0 included) in ASCII digits, or None when left blank."""

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("error_messages", {"required": message})
        super().__init__(**kwargs)
        self.message = message

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values or not str(value).strip():
            return None
        number = posted_whole(str(value))
        if number is None:
            raise ValidationError(self.message)
        return number


class IdField(forms.Field):
    """The id of a record the page offered, as an int; the view looks it up within what the user may see."""

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", {"required": message})
        super().__init__(**kwargs)
        self.message = message

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values or not str(value).strip():
            return None
        pk = posted_id(str(value))
        if pk is None:
            raise ValidationError(self.message)
        return pk


class IdsField(forms.Field):
    """Several ids from a list of checkboxes (``getlist``), as a tuple of ints."""

    widget = forms.SelectMultiple

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.message = message

    def to_python(self, value: Any) -> tuple[int, ...]:
        values: Sequence[Any] = value if isinstance(value, (list, tuple)) else ([value] if value else [])
        ids = tuple(posted_id(str(v)) for v in values)
        if None in ids:
            raise ValidationError(self.message)
        return tuple(i for i in ids if i is not None)


class ChoicesField(forms.Field):
    """Several values from a list of checkboxes, as a tuple of strings (the service checks they exist)."""

    widget = forms.SelectMultiple

    def to_python(self, value: Any) -> tuple[str, ...]:
        values: Sequence[Any] = value if isinstance(value, (list, tuple)) else ([value] if value else [])
        return tuple(str(v) for v in values)


class FlagField(forms.Field):
    """A checkbox that sends "1" when ticked."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> bool:
        return value == "1"
