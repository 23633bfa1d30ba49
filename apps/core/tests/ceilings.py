"""Ceilings on waiting, for the tests that start processes or poll for a condition.

A ceiling is how long a test waits before it gives up, never a sleep: the test goes on as soon as the process ends
or the condition holds, so a generous ceiling costs nothing when all is well. They are generous because the suite
runs beside other runs on a shared 2-core machine: in a soak run under a load average of 16, ``manage.py migrate`` on
a scratch database took over 120 s, the old ceiling, and the test failed although nothing was wrong.
"""

from __future__ import annotations

PROCESS_SECONDS = 900
"""A subprocess doing real work: ``manage.py migrate``, ``shell -c``, a ``db_worker --batch`` run."""

CONDITION_SECONDS = 300
"""A polled condition: a worker's lease appearing, a task's result, an email delivered."""

EXIT_SECONDS = 120
"""A process told to stop (SIGTERM or SIGKILL) ending and being reaped."""
