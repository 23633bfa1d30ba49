"""The Jinja2 environment: NHS.UK design-system macros plus a few Django helpers."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import nhsuk_frontend_jinja
from django.contrib.messages import get_messages
from django.templatetags.static import static
from django.utils import timezone
from jinja2 import ChainableUndefined, ChoiceLoader, Environment, PackageLoader, Undefined
from markupsafe import Markup, escape

from apps.cases.policy import open_case_of
from apps.core import formatting
from apps.core.links import _reversed, url  # noqa: F401  (_reversed: its cache, for the tests)
from apps.indicators.scoring_runs import pressure_shown_to
from apps.practices import charts


def link(href: str, text: str) -> Markup:
    """An escaped link, for the places NHS.UK macros take ``html`` (summary-list values, …)."""
    return Markup('<a href="{}">{}</a>').format(href, text)


def localtime(value: datetime | None) -> datetime | None:
    return timezone.localtime(value) if value else None


_MACRO = re.compile(r"{%-?\s*macro\s+(\w+)\(")


class _Unfreezable(Exception):
    pass


def _freeze(value: Any) -> Any:
    """A hashable key that tells apart everything that renders differently: a Markup string from a plain one (one is
    escaped, the other not), True from 1, a list from a tuple. An undefined value (a form's field on its first,
    empty showing: ``data.payee``) is one key per kind of Undefined: every one of a kind renders, tests and defaults
    alike (empty, not defined), so the call is still remembered. Anything else (dates, models) refuses."""
    if value is None or type(value) in (str, int, float):
        return value
    if isinstance(value, Undefined):
        return ("undefined", type(value).__name__)
    if type(value) is bool:
        return ("bool", value)
    if isinstance(value, Markup):
        return ("markup", str(value))
    if type(value) is dict:
        return ("dict", tuple(sorted((str(k), _freeze(v)) for k, v in value.items())))
    if type(value) in (list, tuple):
        return (type(value).__name__, tuple(_freeze(v) for v in value))
    raise _Unfreezable


class MemoisedMacro:
    """An NHS.UK component macro that remembers what it rendered for the same parameters.

    The components are pure functions of their one ``params`` argument (they are imported without context, so they
    see no request, user or global), and rendering them is most of a page's cost: a select of 42 ICBs, the header with
    its navigation, a tag in every row. The same call with the same parameters, in this request or a later one, is
    served from a bounded least-recently-used store per process (``bench/load.py`` measures the effect). Calls with a
    ``caller`` block, keyword arguments or parameters that cannot be frozen into a key go straight to the macro.
    """

    def __init__(self, macro: Any, size: int = 512, largest: int = 32_768) -> None:
        self.macro = macro
        self.size = size
        self.largest = largest  # outputs bigger than this (whole tables) are not kept
        self._store: OrderedDict[Any, Markup] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs or len(args) != 1:
            return self.macro(*args, **kwargs)
        try:
            key = _freeze(args[0])
        except _Unfreezable:
            return self.macro(*args)
        with self._lock:
            found = self._store.get(key)
            if found is not None:
                self._store.move_to_end(key)
                self.hits += 1
                return found
        rendered = self.macro(*args)
        if len(rendered) <= self.largest:
            with self._lock:
                self.misses += 1
                self._store[key] = rendered
                if len(self._store) > self.size:
                    self._store.popitem(last=False)
        return rendered


def _component_macros(env: Environment) -> dict[str, Any]:
    """Every NHS.UK component macro (button, summaryList, …) as a global, so any template or block can call it.

    Imports in a parent layout are not visible inside a child template's blocks; globals are.
    """
    root = Path(nhsuk_frontend_jinja.__file__).parent / "templates" / "nhsuk" / "components"
    macros: dict[str, Any] = {}
    for macro_file in sorted(root.glob("*/macro.jinja")):
        name = f"nhsuk/components/{macro_file.parent.name}/macro.jinja"
        for macro_name in _MACRO.findall(macro_file.read_text(encoding="utf-8")):
            macros[macro_name] = MemoisedMacro(getattr(env.get_template(name).module, macro_name))
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
            # A page of a lower app that shows a record of a higher one asks the higher app's chokepoint here, as it
            # links to it with url(): the register's practice page shows the pressure score, the watch list's
            # practice page and the ripple page the practice's open case (core/tests/test_structure.py).
            "pressure_shown_to": pressure_shown_to,
            "open_case_of": open_case_of,
        }
    )
    components = _component_macros(env)
    env.globals.update(components)
    # The same macros under one name, for the layout's header and footer blocks: nhsuk/template.jinja imports its
    # own (unremembered) header and footer, which hide the globals of those names inside its blocks.
    env.globals["nhsuk"] = components
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


def compile_every_template(env: Environment) -> int:
    """Compile every template the environment can load, once, and keep it in the environment's cache; the number
    compiled. Compiling is most of a page's first request in a new process (the national money dashboard: about 250
    ms of CPU for its 60 templates, against 17 ms for the same page after), so a server does it before it serves
    (``gpsupport.serving.prepare_to_serve``, from ``gpsupport/wsgi.py`` with DEBUG off; gunicorn's ``preload_app``
    runs it once, before its worker processes are forked, so they share the compiled templates). With DEBUG on
    templates reload as they change."""
    names = [n for n in env.list_templates() if n.endswith((".jinja", ".html", ".txt"))]
    if env.cache is not None and env.cache.capacity < len(names):  # an LRU smaller than the set would evict them
        raise RuntimeError(
            f"the Jinja template cache holds {env.cache.capacity}, fewer than the {len(names)} templates"
        )
    for name in names:
        env.get_template(name)
    return len(names)
