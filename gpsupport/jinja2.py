"""The Jinja2 environment: NHS.UK design-system macros plus a few Django helpers."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import nhsuk_frontend_jinja
from django.contrib.messages import get_messages
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from jinja2 import ChainableUndefined, ChoiceLoader, Environment, PackageLoader
from markupsafe import Markup, escape

from apps.core import formatting
from apps.practices import charts


def url(name: str, *args: Any, **kwargs: Any) -> str:
    return reverse(name, args=args or None, kwargs=kwargs or None)


def link(href: str, text: str) -> Markup:
    """An escaped link, for the places NHS.UK macros take ``html`` (summary-list values, …)."""
    return Markup('<a href="{}">{}</a>').format(href, text)


def localtime(value: datetime | None) -> datetime | None:
    return timezone.localtime(value) if value else None


_MACRO = re.compile(r"{%-?\s*macro\s+(\w+)\(")


def _component_macros(env: Environment) -> dict[str, Any]:
    """Every NHS.UK component macro (button, summaryList, …) as a global, so any template or block can call it.

    Imports in a parent layout are not visible inside a child template's blocks; globals are.
    """
    root = Path(nhsuk_frontend_jinja.__file__).parent / "templates" / "nhsuk" / "components"
    macros: dict[str, Any] = {}
    for macro_file in sorted(root.glob("*/macro.jinja")):
        name = f"nhsuk/components/{macro_file.parent.name}/macro.jinja"
        for macro_name in _MACRO.findall(macro_file.read_text(encoding="utf-8")):
            macros[macro_name] = getattr(env.get_template(name).module, macro_name)
    return macros


def environment(**options: Any) -> Environment:
    # nhsuk-frontend-jinja needs ChainableUndefined (its macros read nested optional params); it hides typos,
    # so tests assert on rendered HTML.
    options["undefined"] = ChainableUndefined
    options.pop("autoescape", None)
    loader = options.pop("loader")
    env = Environment(
        loader=ChoiceLoader([loader, PackageLoader("nhsuk_frontend_jinja", "templates")]),
        extensions=["jinja2.ext.do"],
        autoescape=True,
        **options,
    )
    env.globals.update(
        {
            "static": static,
            "url": url,
            "link": link,
            "contribution_chart": charts.contribution_chart,
            "get_messages": get_messages,
            "today": date.today,
        }
    )
    env.globals.update(_component_macros(env))
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
