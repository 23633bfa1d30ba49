"""The production gunicorn configuration (gunicorn.conf.py): threaded processes, one more than the cores, counts from
the environment, refused when not a whole number."""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import pytest

CONF = Path(__file__).resolve().parents[3] / "gunicorn.conf.py"


def load(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, object]:
    for name in ("GUNICORN_WORKERS", "GUNICORN_THREADS", "GUNICORN_BIND"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


def test_threaded_processes_one_more_than_the_cores_by_default(monkeypatch):
    conf = load(monkeypatch)
    assert conf["workers"] == (os.cpu_count() or 1) + 1
    assert conf["worker_class"] == "gthread"
    assert conf["threads"] == 4
    assert conf["wsgi_app"] == "gpsupport.wsgi:application"
    assert conf["accesslog"] is None
    assert conf["control_socket_disable"] is True


def test_the_environment_sets_the_counts_and_the_address(monkeypatch):
    conf = load(monkeypatch, GUNICORN_WORKERS="3", GUNICORN_THREADS="2", GUNICORN_BIND="0.0.0.0:9000")
    assert (conf["workers"], conf["threads"], conf["bind"]) == (3, 2, "0.0.0.0:9000")


@pytest.mark.parametrize("bad", ["0", "two", "-1", "1.5"])
def test_a_count_that_is_not_a_whole_number_stops_the_start(monkeypatch, bad):
    with pytest.raises(SystemExit, match="GUNICORN_THREADS must be a whole number"):
        load(monkeypatch, GUNICORN_THREADS=bad)


def test_gunicorn_reads_it_as_its_configuration(monkeypatch):
    """gunicorn itself accepts every name in the file (a misspelt setting would be ignored without a word)."""
    from gunicorn.config import Config

    known = set(Config().settings)
    conf = load(monkeypatch)
    names = {k for k in conf if not k.startswith("_") and k != "os" and not callable(conf[k])}
    assert names <= known, names - known


def test_the_application_is_loaded_once_before_the_workers_fork(monkeypatch):
    """So the templates compiled by gpsupport/wsgi.py are shared by every worker (see compile_every_template)."""
    assert load(monkeypatch)["preload_app"] is True
