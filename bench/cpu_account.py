"""Where the CPU went during a load step (Linux ``/proc``): the server's processes, the database server's, the load
client's own, and everything else on the machine.

On a machine shared with other work, a latency table alone cannot say whether a page is slow or the machine was busy.
CPU seconds per request can: dividing the cores by them gives the most requests a second the machine could serve if
nothing else ran, which is what a think time and a number of users ask of it (``bench/load.py`` prints both).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, own CPU seconds, reaped children's CPU seconds) of a process, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # the name may hold spaces; what follows it does not
    ppid = int(fields[1])
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return ppid, (utime + stime) / TICK, (cutime + cstime) / TICK


def tree_cpu(root: int) -> float:
    """CPU seconds used by ``root`` and every process under it, including children that already exited (their time
    is added to the parent that reaped them), so the difference of two readings is what the tree used between them."""
    parents: dict[int, int] = {}
    own: dict[int, tuple[float, float]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            got = _stat(int(entry.name))
            if got is not None:
                parents[int(entry.name)] = got[0]
                own[int(entry.name)] = got[1:]
    inside = {root}
    grew = True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in inside and pid not in inside:
                inside.add(pid)
                grew = True
    return sum(sum(own[p]) for p in inside if p in own)


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, summed over its cores (``/proc/stat``)."""
    values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already inside user time
    return (total - idle) / TICK, total / TICK


def postmaster_pid(db_url: str) -> int | None:
    """The PostgreSQL server's main process for ``db_url`` (from ``postmaster.pid`` in its data directory), or None
    when it cannot be read (another user's server, not PostgreSQL)."""
    if not db_url.startswith("postgres"):
        return None
    import psycopg

    try:
        u = urlparse(db_url)
        with psycopg.connect(
            host=u.hostname or "127.0.0.1", port=u.port or 5432, user=u.username or "postgres", dbname=u.path[1:]
        ) as conn:
            row = conn.execute("SHOW data_directory").fetchone()
        return int((Path(row[0]) / "postmaster.pid").read_text().split()[0]) if row else None
    except (OSError, ValueError, psycopg.Error):
        return None


@dataclass
class Reading:
    server: float
    database: float
    client: float
    busy: float
    total: float


def read(server_pid: int, db_pid: int | None) -> Reading:
    t = os.times()
    busy, total = machine_busy()
    return Reading(
        server=tree_cpu(server_pid),
        database=tree_cpu(db_pid) if db_pid else 0.0,
        client=t.user + t.system,
        busy=busy,
        total=total,
    )


def describe(before: Reading, after: Reading, requests: int, wall: float) -> list[str]:
    """Lines for the report: CPU per part in the window, per request, and the throughput that implies."""
    server, db = after.server - before.server, after.database - before.database
    client = after.client - before.client
    busy, total = after.busy - before.busy, after.total - before.total
    cores = os.cpu_count() or 1
    others = max(0.0, busy - server - db - client)
    lines = [
        f"CPU in the measured {wall:.1f} s ({cores} cores = {total:.1f} CPU s): server {server:.1f} s, "
        f"PostgreSQL {db:.1f} s, load client {client:.1f} s, everything else on the machine {others:.1f} s, "
        f"idle {max(0.0, total - busy):.1f} s"
    ]
    if requests:
        per = (server + db) / requests * 1000
        per_client = client / requests * 1000
        lines.append(
            f"per request: server + database {per:.1f} ms CPU, load client {per_client:.1f} ms; the {cores} cores "
            f"could serve at most {cores * 1000 / (per + per_client):.0f} requests/s with nothing else running"
        )
    return lines
