"""The Jinja2 environment: NHS.UK design-system macros plus a few Django helpers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.contrib.messages import get_messages
from django.middleware.csrf import get_token
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from jinja2 import ChainableUndefined, ChoiceLoader, Environment, PackageLoader
from markupsafe import Markup, escape

from apps.core import formatting


def url(name: str, *args: Any, **kwargs: Any) -> str:
    return reverse(name, args=args or None, kwargs=kwargs or None)


def csrf_input(request: Any) -> Markup:
    return Markup('<input type="hidden" name="csrfmiddlewaretoken" value="{}">').format(get_token(request))


def localtime(value: datetime | None) -> datetime | None:
    return timezone.localtime(value) if value else None


def environment(**options: Any) -> Environment:
    # nhsuk-frontend-jinja needs ChainableUndefined (its macros read nested optional params); it hides typos,
    # so tests assert on rendered HTML.
    options["undefined"] = ChainableUndefined
    options.setdefault("autoescape", True)
    loader = options.pop("loader")
    env = Environment(
        loader=ChoiceLoader([loader, PackageLoader("nhsuk_frontend_jinja", "templates")]),
        extensions=["jinja2.ext.do"],
        **options,
    )
    env.globals.update(
        {
            "static": static,
            "url": url,
            "csrf_input": csrf_input,
            "get_messages": get_messages,
            "today": date.today,
        }
    )
    env.filters.update(
        {
            "localtime": localtime,
            "number": formatting.number,
            "pounds": formatting.pounds,
            "decimal": formatting.decimal,
            "date_uk": formatting.date_uk,
            "datetime_uk": formatting.datetime_uk,
            "percent": formatting.percent,
            "e": escape,
        }
    )
    return env
