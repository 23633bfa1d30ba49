"""Production configuration: DEBUG is off unless asked for, the process refuses to start without a real key, host
names and secure cookies, deploy checks print nothing, and static files collect with hashed names (DEBUG off)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _run(args: list[str], tmp_path: Path, **overrides: str) -> subprocess.CompletedProcess[str]:
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for Playwright and the test settings DJANGO_DEBUG; a deployment
    # has neither, and runs gpsupport.settings itself.
    base = {k: v for k, v in os.environ.items() if k not in {"DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_DEBUG"}}
    env = {
        **base,
        "DJANGO_SETTINGS_MODULE": "gpsupport.settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "gp.example.org",
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        **overrides,
    }
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)


def test_deploy_checks_pass_with_production_settings(tmp_path: Path):
    result = _run(["check", "--deploy", "--fail-level", "WARNING"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # nothing to fix: not even a silenced or informational line
    assert result.stdout == "System check identified no issues (0 silenced).\n" and result.stderr == ""


def test_debug_is_off_unless_asked_for(tmp_path: Path):
    """No DJANGO_DEBUG in the environment (``_run`` removes the test settings' one): production settings."""
    probe = "from django.conf import settings as s; print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.ALLOWED_HOSTS)"
    result = _run(["shell", "-c", probe], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False True ['gp.example.org']"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY must be set"),
        ({"DJANGO_SECRET_KEY": "dev-only-insecure-key-do-not-use-in-production"}, "is a development key"),
        ({"DJANGO_SECRET_KEY": "django-insecure-" + "x1y2z3" * 10}, "is a development key"),
        ({"DJANGO_SECRET_KEY": "short-key"}, "too weak"),
        ({"DJANGO_SECRET_KEY": "ab" * 40}, "too weak"),
        ({"DJANGO_ALLOWED_HOSTS": ""}, "DJANGO_ALLOWED_HOSTS must name"),
        ({"DJANGO_ALLOWED_HOSTS": "*"}, "must not be '*'"),
        ({"DJANGO_SECURE_COOKIES": "false"}, "DJANGO_SECURE_COOKIES must not be false"),
    ],
)
def test_production_refuses_to_start_when_insecure(tmp_path: Path, overrides: dict[str, str], message: str):
    result = _run(["check"], tmp_path, **overrides)
    assert result.returncode != 0
    assert message in result.stderr and "ConfigError" in result.stderr


def test_development_settings_need_asking_for_and_then_start_without_a_key(tmp_path: Path):
    probe = "from django.conf import settings as s; print(s.DEBUG, 'testserver' in s.ALLOWED_HOSTS)"
    result = _run(["shell", "-c", probe], tmp_path, DJANGO_DEBUG="true", DJANGO_SECRET_KEY="", DJANGO_ALLOWED_HOSTS="")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True True"


def test_idle_session_length_is_a_working_day_and_configurable(tmp_path: Path):
    probe = "from django.conf import settings as s; print(s.SESSION_COOKIE_AGE)"
    assert _run(["shell", "-c", probe], tmp_path).stdout.strip().splitlines()[-1] == str(8 * 60 * 60)
    shorter = _run(["shell", "-c", probe], tmp_path, DJANGO_SESSION_IDLE_MINUTES="90")
    assert shorter.stdout.strip().splitlines()[-1] == str(90 * 60)
    nonsense = _run(["shell", "-c", probe], tmp_path, DJANGO_SESSION_IDLE_MINUTES="0")
    assert nonsense.returncode != 0 and "DJANGO_SESSION_IDLE_MINUTES must be 5 or more" in nonsense.stderr


def test_static_files_collect_with_hashed_names(tmp_path: Path):
    result = _run(["collectstatic", "--noinput", "-v", "0"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = (tmp_path / "static" / "staticfiles.json").read_text()
    assert "vendor/nhsuk/nhsuk-frontend.min.css" in manifest and "css/app.css" in manifest


def test_production_settings_refuse_to_start_without_a_secret_key(tmp_path: Path):
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "",
        "DJANGO_SETTINGS_MODULE": "gpsupport.settings",
    }
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_settings_secure_cookies_headers_and_throttling(tmp_path: Path):
    probe = (
        "import json; from django.conf import settings as s; print(json.dumps({k: getattr(s, k) for k in ["
        "'DEBUG', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', 'SECURE_SSL_REDIRECT', "
        "'SECURE_HSTS_SECONDS', 'SECURE_REFERRER_POLICY', 'SECURE_CONTENT_TYPE_NOSNIFF', 'X_FRAME_OPTIONS', "
        "'AXES_FAILURE_LIMIT', 'AXES_LOCKOUT_PARAMETERS']}))"
    )
    result = _run(["shell", "-c", probe], tmp_path)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_REFERRER_POLICY": "same-origin",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "X_FRAME_OPTIONS": "DENY",
        "AXES_FAILURE_LIMIT": 5,
        "AXES_LOCKOUT_PARAMETERS": [["username", "ip_address"]],
    }
