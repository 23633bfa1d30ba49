"""The one home of every rule for reading a typed value: money, dates and times, whole numbers and units, ids, and
lists of codes with a number each. The forms of every app (and their typed parse functions, shared with the API)
build on these, so each rule exists once.

Each parser turns what a browser (or a hand-made POST) sends into a typed value or a message the user can act on,
never a server error. A hand-made POST can send anything where the page offered a list: ``"1.5"``, ``"٣"``, or an id
wider than the database's integer (see :mod:`apps.core.formdata`); these refuse such values in words. A parser
outside a form raises :class:`~apps.core.errors.DomainError` (naming the field when it knows it); a field turns that
into a ``ValidationError`` on itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.utils import timezone

from apps.core.errors import DomainError
from apps.core.formdata import posted_id, posted_whole

# Money -------------------------------------------------------------------------------------------------------

# ASCII digits only: Python's \d also matches "٣" and "²", which a person did not type as a sum of money.
_POUNDS = re.compile(r"^£?\s*(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?$", re.ASCII)
MAX_POUNDS = 100_000_000_000
"""No single amount is larger than £100bn (more than the NHS's whole budget): a longer number is a typing slip, and
one past the 64-bit pence columns would be a database error instead of a message."""


def parse_pounds(
    text: str, what: str = "Amount", field: str | None = "amount", refuse: type[DomainError] = DomainError
) -> int:
    """What people type for a sum of money ('£16,000,000', '£1,250.00', '1250', '16000000.50') → pence. Anything
    else raises ``refuse`` (a domain's own refusal, so its callers' ``except`` holds) on ``field``, in words that
    name ``what`` was wrong."""
    raw = (text or "").strip().replace(" ", "")
    if not raw:
        raise refuse(f"Enter {what.lower()} in pounds", field)
    if not _POUNDS.match(raw):
        raise refuse(f"{what} must be an amount in pounds, like 16,000,000 or 1250.50", field)
    if len(raw) > 40:
        raise refuse(f"{what} must be at most £{MAX_POUNDS:,}", field)
    try:
        value = Decimal(raw.lstrip("£").replace(",", ""))
    except InvalidOperation as e:  # pragma: no cover - the pattern already guarantees a number
        raise refuse(f"{what} must be an amount in pounds", field) from e
    if value > MAX_POUNDS:
        raise refuse(f"{what} must be at most £{MAX_POUNDS:,}", field)
    pence = int(value * 100)
    if pence <= 0:
        raise refuse(f"{what} must be more than £0", field)
    return pence


class PoundsField(forms.CharField):
    """A sum of money as people type it (``£1,250.00``, ``1,250``, ``1250.5``), cleaned to integer pence."""

    def __init__(self, *, what: str = "Amount", **kwargs: Any) -> None:
        self.what = what
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> int | None:  # type: ignore[override]
        text = super().clean(value)
        if not text:
            return None
        try:
            return parse_pounds(text, self.what)
        except DomainError as e:
            raise forms.ValidationError(e.message) from e


# Dates and times ---------------------------------------------------------------------------------------------


def parse_iso_date(raw: str | None) -> date | None:
    """An ISO date (2027-01-31), or ``None`` for anything else (blank included): the caller words the message."""
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


def date_field(what: str, required: bool = True) -> forms.DateField:
    """An ISO date (2027-01-31); the message names what the date is."""
    message = f"Enter {what} as a date, for example 2027-01-31."
    return forms.DateField(
        required=required, input_formats=["%Y-%m-%d"], error_messages={"required": message, "invalid": message}
    )


def parse_local_datetime(raw: str) -> datetime:
    """A ``datetime-local`` value (or "YYYY-MM-DD HH:MM") in UK time, as an aware datetime."""
    try:
        naive = datetime.fromisoformat(raw.strip().replace(" ", "T"))
    except ValueError:
        raise DomainError(f"“{raw.strip()}” is not a date and time, for example 2027-01-14 10:00.") from None
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
        except DomainError as e:
            raise ValidationError(e.message) from None


# Numbers, units and text -------------------------------------------------------------------------------------


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


def parse_units(raw: str, title: str, unit: str) -> int:
    """A whole number of ``unit``s of an offer (``title``) in a per-offer box: 0 when left blank or "0" (not
    chosen); :class:`DomainError` naming the offer otherwise."""
    if raw.strip() in ("", "0"):
        return 0
    n = posted_whole(raw)
    if n is None:
        raise DomainError(f"{title}: enter a whole number of {unit}s.")
    return n


class WholeNumberField(forms.Field):
    """A whole number (0 included) in ASCII digits, or None when left blank."""

    read = staticmethod(posted_whole)  # the rule for what is a number here; ``None``: not one

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("error_messages", {"required": message})
        super().__init__(**kwargs)
        self.message = message

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values or not str(value).strip():
            return None
        number = self.read(str(value))
        if number is None:
            raise ValidationError(self.message)
        return number


class FlagField(forms.Field):
    """A checkbox that sends "1" when ticked."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> bool:
        return value == "1"


# Records and choices -----------------------------------------------------------------------------------------


class IdField(WholeNumberField):
    """The id of a record the page offered, as an int; the view looks it up within what the user may see."""

    read = staticmethod(posted_id)

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("required", True)
        super().__init__(message, **kwargs)


def _listed(value: Any) -> Sequence[Any]:
    """What a list of checkboxes sent (``getlist``), as a sequence even when one value or none came."""
    return value if isinstance(value, (list, tuple)) else ([value] if value else [])


class IdsField(forms.Field):
    """Several ids from a list of checkboxes (``getlist``), as a tuple of ints."""

    widget = forms.SelectMultiple

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.message = message

    def to_python(self, value: Any) -> tuple[int, ...]:
        ids = tuple(posted_id(str(v)) for v in _listed(value))
        if None in ids:
            raise ValidationError(self.message)
        return tuple(i for i in ids if i is not None)


class ChoicesField(forms.Field):
    """Several values from a list of checkboxes, as a tuple of strings (the service checks they exist)."""

    widget = forms.SelectMultiple

    def to_python(self, value: Any) -> tuple[str, ...]:
        return tuple(str(v) for v in _listed(value))


class RecordField(forms.Field):
    """One row of ``queryset`` chosen by its id. An id that is not a plausible key ("1.5", "٣", one wider than the
    database's integers) is refused in words like an unknown one, never looked up."""

    def __init__(self, queryset: QuerySet[Any], *, missing: str, **kwargs: Any) -> None:
        self.queryset = queryset
        super().__init__(error_messages={"required": missing, "invalid_choice": missing}, **kwargs)

    def clean(self, value: Any) -> Model | None:
        pk = posted_id(value if isinstance(value, str) else str(value or ""))
        row = self.queryset.filter(pk=pk).first() if pk else None
        if row is None:
            if self.required or (value or "").strip():
                raise forms.ValidationError(self.error_messages["invalid_choice"])
            return None
        return row


# Lists of codes ----------------------------------------------------------------------------------------------

_CODE_LINE = re.compile(r"[,%\s]+")


def code_lines(
    text: str, malformed: str, field: str | None = None, refuse: type[DomainError] = DomainError
) -> list[tuple[int, str, str]]:
    """Lines "CODE value" (an ODS or ICB code and a number; comma, spaces or "%" between) as (line number, code in
    capitals, the value as typed), blank lines skipped but counted. A line that is not two parts raises ``refuse``
    on ``field`` with ``malformed`` (a message with ``{n}`` for the line number). The caller reads the value with
    its own rule."""
    out: list[tuple[int, str, str]] = []
    for n, raw in enumerate((text or "").splitlines(), 1):
        if not raw.strip():
            continue
        parts = [p for p in _CODE_LINE.split(raw.strip()) if p]
        if len(parts) != 2:
            raise refuse(malformed.format(n=n), field)
        out.append((n, parts[0].upper(), parts[1]))
    return out
