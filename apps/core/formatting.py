"""Display helpers shared by templates and exports. Money arrives as integer pence."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone


def number(value: float | int | None, places: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{places}f}"


def decimal(value: float | None, places: int = 1) -> str:
    return number(value, places)


def pounds(pence: int | None, places: int = 0) -> str:
    if pence is None:
        return "–"
    sign = "-" if pence < 0 else ""
    return f"{sign}£{abs(pence) / 100:,.{places}f}"


def percent(value: float | None, places: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value:.{places}f}%"


def date_uk(value: date | None) -> str:
    if value is None:
        return "–"
    return f"{value.day} {value:%B %Y}"


def datetime_uk(value: datetime | None) -> str:
    if value is None:
        return "–"
    local = timezone.localtime(value)
    return f"{local.day} {local:%B %Y, %H:%M}"
