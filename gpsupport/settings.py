"""Settings, read from the environment through the typed helpers in ``gpsupport.env``.

SQLite is the default so that a clone runs with one command; set ``DATABASE_URL=postgres://…`` for the real
server database. ``DJANGO_DEBUG`` is off unless set: production then needs a real ``DJANGO_SECRET_KEY`` and
``DJANGO_ALLOWED_HOSTS`` and refuses to start without them (or with insecure cookies).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from gpsupport.env import (
    ConfigError,
    database_from_url,
    env_bool,
    env_int,
    env_list,
    env_str,
    refuse_insecure_production,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# Off unless asked for: a deployment that forgets the variable gets the production settings (and their start-up
# checks below), never the debug pages. bin/serve and the test settings (gpsupport/settings_test.py) turn it on.
DEBUG = env_bool("DJANGO_DEBUG", False)
DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "") or (DEV_SECRET_KEY if DEBUG else "")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
# Cookies go only over HTTPS in production; the variable exists so that a misconfigured "false" is refused loudly
# below rather than silently ignored.
SECURE_COOKIES = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
if not DEBUG:
    refuse_insecure_production(SECRET_KEY, ALLOWED_HOSTS, SECURE_COOKIES, DEV_SECRET_KEY)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",  # login throttling: locks out a username+address after repeated failed sign-ins
    "ninja",  # the REST API; listed so its Swagger UI assets are served from our own static files
    "django_tasks_db",  # the database-backed queue for django.tasks (its table and the db_worker command)
    "apps.core",
    "apps.accounts",
    "apps.practices",
    "apps.datasets",
    "apps.indicators",
    "apps.cases",
    "apps.targeting",
    "apps.api",
    "apps.funding",
    "apps.delivery",
    "apps.caseload",  # the day-one import of an ICB's existing cases, commitments and payments
    "apps.cohorts",  # universal offers run as cohorts: places, interest, allocation, waiting lists
    "apps.teams",  # team administration: above the register, delivery and the API
    "apps.pages",  # the top layer: start, home, health, audit and task pages (imports every app)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "apps.core.middleware.SessionIdleExpiryMiddleware",
    "apps.core.audit.AuditActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "apps.core.middleware.RefuseUnstorableInputMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.core.middleware.SecurityHeadersMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "gpsupport.urls"
WSGI_APPLICATION = "gpsupport.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {"environment": "gpsupport.jinja2.environment"},
    },
    {
        # Only for Django's own pages that we do not override (none are user-facing today).
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    },
]

# In production a missing SQLite file is an error, not a new empty database (apps/core/backends/sqlite3/base.py).
DATABASES = {
    "default": database_from_url(
        env_str("DATABASE_URL", "sqlite:///var/db.sqlite3"), str(BASE_DIR), sqlite_must_exist=not DEBUG
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not memory, so the browser tests' server thread sees the data the test session loaded.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "core:start"
# Axes first: it refuses a locked-out username+address before the password is even checked.
# The password backend is Django's, reading the user with their ICB and practice (apps/accounts/backends.py).
# The OpenID Connect backend answers only the single sign-on callback, and only when OIDC_ISSUER is set (below).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "apps.accounts.backends.ModelBackend",
    "apps.accounts.oidc.Backend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# The NHS.UK CSS asks for /assets/... at the site root; whitenoise serves the copied assets folder there.
WHITENOISE_ROOT = BASE_DIR / "static" / "vendor" / "nhsuk" / "root"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env_str(
            "DJANGO_STATICFILES_STORAGE",
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}

NATIONAL_DATA_DIR = Path(env_str("NATIONAL_DATA_DIR", str(BASE_DIR / "data" / "national")))
# manage.py fetch_national: a mirror to fetch every source from (BASE/<registry path>) instead of each source's
# download_url (empty: use the registry), and how long to wait for a publisher before keeping the shipped copy.
NATIONAL_DOWNLOAD_BASE = env_str("NATIONAL_DOWNLOAD_BASE", "")
NATIONAL_FETCH_TIMEOUT = env_int("NATIONAL_FETCH_TIMEOUT_SECONDS", 15)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# A session ends after a working day without a request (8 hours by default); each request pushes the end back
# (apps.core.middleware.SessionIdleExpiryMiddleware), so an unattended signed-in browser does not stay signed in.
SESSION_COOKIE_AGE = env_int("DJANGO_SESSION_IDLE_MINUTES", 8 * 60) * 60
if SESSION_COOKIE_AGE < 5 * 60:
    raise ConfigError("DJANGO_SESSION_IDLE_MINUTES must be 5 or more (minutes without a request before sign-out)")
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = SECURE_COOKIES
    CSRF_COOKIE_SECURE = SECURE_COOKIES
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Console mail while debugging (the demo); SMTP otherwise, configured by DJANGO_SMTP_* variables.
_MAIL_BACKEND = f"django.core.mail.backends.{'console' if DEBUG else 'smtp'}.EmailBackend"
MAILERS = {
    "default": {
        "BACKEND": env_str("DJANGO_EMAIL_BACKEND", _MAIL_BACKEND),
        "OPTIONS": {}
        if DEBUG
        else {
            "host": env_str("DJANGO_SMTP_HOST", "localhost"),
            "port": env_int("DJANGO_SMTP_PORT", 25),
            "username": env_str("DJANGO_SMTP_USER", ""),
            "password": env_str("DJANGO_SMTP_PASSWORD", ""),
            "use_tls": env_bool("DJANGO_SMTP_TLS", True),
        },
    }
}
DEFAULT_FROM_EMAIL = env_str("DJANGO_FROM_EMAIL", "gp-resilience@localhost")
# The address links in emails point at (no trailing slash).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# Background tasks (django.tasks): notification emails, reminders and the national data refresh are queued in the
# database and run by `manage.py db_worker` (docs/runbook.md, section 4). "national" holds the long national data
# refresh, so it never delays an email on "default". The test suite swaps in Django's ImmediateBackend
# (conftest.py) so a test can assert on a task's effects without a worker.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "national"],
    }
}
# A worker (`manage.py run_worker`) renews its lease every TASK_LEASE_SECONDS / 4; a task run whose worker has not
# renewed it for TASK_LEASE_SECONDS is taken as abandoned (the worker was killed) and queued again.
TASK_LEASE_SECONDS = env_int("TASK_LEASE_SECONDS", 60)
# /health/ answers 503 when no worker has been seen for this long (0: do not check the worker).
HEALTH_WORKER_MAX_SILENCE_SECONDS = env_int("HEALTH_WORKER_MAX_SILENCE_SECONDS", 300)

# Login throttling (django-axes): after AXES_FAILURE_LIMIT failed sign-ins for one username from one address, that
# pair is locked out for the cool-off time; a successful sign-in resets the count. The lockout page is the sign-in
# page with a plain message (apps.accounts.views.locked_out). Behind a reverse proxy, set DJANGO_TRUSTED_PROXIES to
# the number of proxies so the client address is read from X-Forwarded-For; never trust that header otherwise.
AXES_FAILURE_LIMIT = env_int("DJANGO_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("DJANGO_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "apps.accounts.views.locked_out"
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "password"]
_TRUSTED_PROXIES = env_int("DJANGO_TRUSTED_PROXIES", 0)
if _TRUSTED_PROXIES:
    AXES_IPWARE_PROXY_COUNT = _TRUSTED_PROXIES
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")

# Password reset by email (Django's views, NHS.UK pages): a link works once, for a day.
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

# Optional single sign-on through OpenID Connect (apps.accounts.oidc, mozilla-django-oidc). Off unless OIDC_ISSUER
# and OIDC_RP_CLIENT_ID are set; the endpoints come from the issuer's discovery document. A sign-in is accepted only
# for an existing active account with the same email: nobody is created by single sign-on.
OIDC_ISSUER = env_str("OIDC_ISSUER", "")
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET", "")
OIDC_RP_SIGN_ALGO = env_str("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid email")
OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "NHS single sign-on")
OIDC_USE_PKCE = env_bool("OIDC_USE_PKCE", True)
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT_SECONDS", 10)
OIDC_CREATE_USER = False
OIDC_AUTHENTICATION_CALLBACK_URL = "accounts:sso_callback"
if OIDC_ISSUER and not OIDC_RP_CLIENT_ID:
    raise ConfigError("OIDC_ISSUER is set but OIDC_RP_CLIENT_ID is not: set both for single sign-on, or neither")

# The REST API (apps.api): page sizes for list endpoints.
API_PAGE_SIZE = 50
API_MAX_PAGE_SIZE = 500

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "WARNING")},
    # The worker's lines (each task starting, finishing or failing) once: not again through Django's own "django"
    # logger, which also prints to the console while debugging. db_worker sets their level from its --verbosity.
    "loggers": {name: {"handlers": ["console"], "propagate": False} for name in ("django.tasks", "django_tasks_db")},
}
