"""Typed helpers that read settings from environment variables and fail loudly on bad values."""

from __future__ import annotations

import os
from urllib.parse import unquote, urlparse


class ConfigError(RuntimeError):
    """A setting in the environment is present but unusable."""


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use true/false)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def database_from_url(url: str, base_dir: str, *, sqlite_must_exist: bool = False) -> dict[str, object]:
    """Turn ``DATABASE_URL`` into a Django DATABASES entry.

    ``sqlite:///relative/path.sqlite3`` (or absolute with four slashes) and ``postgres://user:pw@host:port/name``.
    ``sqlite_must_exist`` (production): never create a missing SQLite file (``apps.core.backends.sqlite3``); only
    ``manage.py migrate`` may.
    """
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        name = path[1:] if path.startswith("//") else os.path.join(base_dir, path.lstrip("/"))
        return {
            # Django's backend with two changes (apps/core/backends/sqlite3): a flush lifts the immutable ledger's
            # triggers, and with MUST_EXIST a missing file is an error instead of a new empty database.
            "ENGINE": "apps.core.backends.sqlite3",
            "MUST_EXIST": sqlite_must_exist,
            "NAME": name,
            "OPTIONS": {
                "timeout": 20,
                # IMMEDIATE: a writing transaction takes the write lock at BEGIN, so two writers queue instead of
                # failing mid-way; WAL lets readers carry on while one writes.
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA temp_store=MEMORY;",
            },
        }
    if parsed.scheme in {"postgres", "postgresql"}:
        return {
            "ENGINE": "apps.core.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": 60,
        }
    raise ConfigError(f"DATABASE_URL scheme {parsed.scheme!r} is not supported (use sqlite:// or postgres://)")


def refuse_insecure_production(secret_key: str, allowed_hosts: list[str], secure_cookies: bool, dev_key: str) -> None:
    """Stop a production start (DEBUG off) that lacks a real secret key, named hosts or HTTPS-only cookies.

    The key rule is Django's own deploy check (security.W009): at least 50 characters, 5 of them different, and not a
    development key; here it stops the process instead of printing a warning that a deployment may never read.
    """
    problems = []
    if not secret_key:
        problems.append("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false")
    elif secret_key == dev_key or secret_key.startswith("django-insecure-"):
        problems.append("DJANGO_SECRET_KEY is a development key: generate a real one")
    elif len(secret_key) < 50 or len(set(secret_key)) < 5:
        problems.append("DJANGO_SECRET_KEY is too weak: use 50 or more random characters")
    if not allowed_hosts:
        problems.append("DJANGO_ALLOWED_HOSTS must name the service's host names when DJANGO_DEBUG is false")
    elif "*" in allowed_hosts:
        problems.append("DJANGO_ALLOWED_HOSTS must not be '*' in production: name the hosts")
    if not secure_cookies:
        problems.append("DJANGO_SECURE_COOKIES must not be false in production: cookies go only over HTTPS")
    if problems:
        raise ConfigError(
            "; ".join(problems) + " (docs/runbook.md, section 1; for local development set DJANGO_DEBUG=true)"
        )
