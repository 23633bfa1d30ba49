"""gunicorn's configuration for production (docs/runbook.md) and for the load bench (bench/load.py), so both run the
same server: ``gunicorn -c gunicorn.conf.py``. Command-line options override it (the bench passes its own port).

Why these numbers (bench/README.md, "Load": per-request CPU of each configuration at 50 users on the 70x data):

- **One process per core, eight threads each** (``gthread``). A request spends about a third of its time waiting for
  PostgreSQL, so a process needs several threads to keep its core busy; but every extra process on the same cores
  cost CPU per request (3 x 4 and 4 x 2 took 13-17 ms of server CPU a request where 2 x 8 took 11.6-12.0 ms): each
  process warms its own caches (compiled templates, reversed links, remembered NHS.UK components) and more processes
  than cores only add context switches. ``sync`` workers serve one request at a time each, so they need many more
  processes to overlap the database waits and were slower still.
- **No access log**: the reverse proxy logs each request; gunicorn writing it again costs CPU on every request.
- **No control socket** (new in gunicorn 27): nothing here uses it, and its default path in the home directory is
  shared by every gunicorn the same user starts on the machine.

``GUNICORN_WORKERS`` and ``GUNICORN_THREADS`` override the counts (a machine with other work on its cores, or a
database with few connections: each thread keeps one open for 60 s, ``CONN_MAX_AGE``); ``GUNICORN_BIND`` the address.
"""

import os


def _count(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"{name} must be a whole number of at least 1 (got {raw!r})")
    return int(raw)


wsgi_app = "gpsupport.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = _count("GUNICORN_WORKERS", os.cpu_count() or 1)
threads = _count("GUNICORN_THREADS", 8)
timeout = 60
accesslog = None
errorlog = "-"
loglevel = "warning"
control_socket_disable = True
