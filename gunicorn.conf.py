"""gunicorn's configuration for production (docs/runbook.md) and for the load bench (bench/load.py), so both run the
same server: ``gunicorn -c gunicorn.conf.py``. Command-line options override it (the bench passes its own port).

Why these numbers (bench/README.md, "Load", session 9: the 70x data, 50 users, the same code with each configuration):

- **Processes: the cores + 1, four threads each** (``gthread``). A request spends about a third of its time waiting
  for PostgreSQL, so a process needs threads to keep its core busy; but threads of one process share one interpreter
  lock, so a heavy page holds up the light ones beside it. On a quiet machine 3 x 4 served the load with 16.6 ms of
  CPU a request and p95 118 ms (5 pages over 150 ms), 2 x 8 with 17.1 ms and p95 163 ms (10 pages over). On a machine
  busy with other work 2 x 8 cost less CPU a request (11.6-12.0 ms of server CPU against 13.1-17.0 ms): set
  ``GUNICORN_WORKERS`` to the number of cores there. ``sync`` workers (one request each) need many more processes to
  overlap the database waits (5 of them, on the busy machine: 15.3 ms).
- **The application loaded once, before the workers are forked** (``preload_app``): ``gpsupport/wsgi.py``
  (``gpsupport.serving.prepare_to_serve``) compiles every template then, so no worker's first request of a page
  compiles its templates (about 250 ms of CPU for the money dashboard's first request in a new process, 17 ms
  after), and freezes what is alive then out of the garbage collector's sight, so a full collection no longer pauses
  a request for ~110 ms; the workers share both. A new
  release therefore needs a restart of the master (``systemctl restart``), not a HUP.
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
workers = _count("GUNICORN_WORKERS", (os.cpu_count() or 1) + 1)
threads = _count("GUNICORN_THREADS", 4)
timeout = 60
accesslog = None
errorlog = "-"
loglevel = "warning"
control_socket_disable = True
preload_app = True
