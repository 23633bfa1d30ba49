"""A server compiles every template before it serves (gpsupport/wsgi.py with DEBUG off, once in gunicorn's master):
a page's first request in a new process then compiles nothing."""

from __future__ import annotations

import pytest
from django.template import engines
from jinja2 import Environment

from gpsupport.jinja2 import compile_every_template, environment

pytestmark = pytest.mark.django_db


def fresh_environment() -> Environment:
    """A new environment like the project's, with nothing compiled yet and templates not reloaded (DEBUG off)."""
    return environment(loader=engines["jinja2"].env.loader.loaders[0], auto_reload=False)


def test_every_template_is_compiled_once_and_kept(monkeypatch):
    env = fresh_environment()
    compiled: list[str] = []
    real = env.compile
    monkeypatch.setattr(
        env, "compile", lambda source, name=None, *a, **k: compiled.append(name) or real(source, name, *a, **k)
    )
    count = compile_every_template(env)
    # the design system's component macros are compiled when the environment is made; the rest now, each once
    assert count == len(env.list_templates()) > 100 and len(set(compiled)) == len(compiled)
    assert "funding/dashboard.jinja" in compiled and "cases/queue.jinja" in compiled
    compiled.clear()
    for name in env.list_templates():
        env.get_template(name)
    assert compiled == []  # nothing compiled again: all came from the cache


def test_a_cache_too_small_for_every_template_is_refused():
    env = fresh_environment()
    env.cache.capacity = 5  # an LRU smaller than the set would evict, and pages would compile again
    with pytest.raises(RuntimeError, match="fewer than the"):
        compile_every_template(env)


def test_preparing_to_serve_compiles_and_takes_what_is_alive_out_of_the_collectors_sight():
    import gc

    from gpsupport.serving import prepare_to_serve

    try:
        assert prepare_to_serve() == len(engines["jinja2"].env.list_templates())
        assert gc.get_freeze_count() > 10_000  # Django, its modules and the compiled templates
    finally:
        gc.unfreeze()
