"""Back up and restore the whole database: SQLite through its online backup API, PostgreSQL with pg_dump/pg_restore.

Both functions take a Django database settings dict (``connections["default"].settings_dict``, or one built from a
``DATABASE_URL`` with ``gpsupport.env.database_from_url``) so a backup can also be restored into another database to
inspect it. A backup is written to a temporary file beside the target and moved into place only when complete, so a
failed backup never leaves a half-written file under the requested name. Restores are all-or-nothing: SQLite's backup
API replaces the database in one step, and pg_restore runs in a single transaction.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from contextlib import closing
from pathlib import Path
from typing import Any

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


class BackupError(RuntimeError):
    """A backup or restore could not be done; the message says why and what to do."""


def engine_of(db: dict[str, Any]) -> str:
    engine = str(db["ENGINE"])
    if engine.endswith("sqlite3"):
        return "sqlite"
    if engine.endswith("postgresql"):
        return "postgresql"
    raise BackupError(f"backups support SQLite and PostgreSQL, not {engine}")


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path.parent.parent.name)) or (0,)


def find_pg_tool(name: str) -> str:
    """``pg_dump`` or ``pg_restore``: from ``PG_BIN_DIR`` if set, else the PATH, else the newest Debian install.

    The newest version is preferred because pg_dump refuses servers newer than itself and reads older ones fine.
    """
    if bin_dir := os.environ.get("PG_BIN_DIR"):
        tool = Path(bin_dir) / name
        if not tool.exists():
            raise BackupError(f"PG_BIN_DIR={bin_dir} has no {name}")
        return str(tool)
    installed = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=_version_key)
    if installed:
        return str(installed[-1])
    if found := shutil.which(name):
        return found
    raise BackupError(f"{name} not found: install the PostgreSQL client (postgresql-client) or set PG_BIN_DIR")


def _pg_env(db: dict[str, Any]) -> dict[str, str]:
    env = {**os.environ}
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if db.get(key):
            env[var] = str(db[key])
    return env


def _run(args: list[str], db: dict[str, Any]) -> None:
    result = subprocess.run(args, env=_pg_env(db), capture_output=True, text=True)
    if result.returncode != 0:
        tool = Path(args[0]).name
        raise BackupError(f"{tool} failed (exit {result.returncode}): {one_line(result.stderr)}")


def one_line(text: str) -> str:
    """The first line worth showing of a tool's or a library's message (the operator reads one line, not a dump)."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return ((errors or lines or [""])[0])[:300]


def _sqlite_check(path: Path) -> None:
    """A truncated or corrupt copy fails here (SQLite raises, or the integrity check lists problems)."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            result = conn.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        said = one_line(str(exc))
        raise BackupError(f"{path} is damaged or cut short (SQLite says: {said}); nothing restored") from None
    if result != "ok":
        raise BackupError(f"{path} is damaged (SQLite integrity check: {one_line(result)}); nothing restored")


def backup_database(db: dict[str, Any], dest: Path) -> Path:
    """Write a complete backup of the database ``db`` to ``dest`` (replacing it). Returns ``dest``."""
    dest = Path(dest).resolve()
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if engine_of(db) == "sqlite":
            source = Path(str(db["NAME"]))
            if not source.exists():
                raise BackupError(f"the SQLite database {source} does not exist")
            with closing(sqlite3.connect(str(source))) as src, closing(sqlite3.connect(str(tmp))) as out:
                src.backup(out)  # a consistent snapshot even while the service is writing
            _sqlite_check(tmp)
        else:
            _run([find_pg_tool("pg_dump"), "-Fc", "--no-owner", "--no-privileges", "-f", str(tmp), str(db["NAME"])], db)
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def check_backup_file(db: dict[str, Any], src: Path) -> None:
    """Refuse a file that is not a backup of this database's kind, before anything is touched."""
    src = Path(src)
    if not src.is_file():
        raise BackupError(f"no backup file at {src}")
    with src.open("rb") as fh:
        head = fh.read(16)
    if engine_of(db) == "sqlite" and not head.startswith(SQLITE_MAGIC):
        raise BackupError(f"{src} is not a SQLite database file (made by backup_db on SQLite)")
    if engine_of(db) == "postgresql" and not head.startswith(PGDUMP_MAGIC):
        raise BackupError(f"{src} is not a pg_dump custom-format file (made by backup_db on PostgreSQL)")


def restore_database(db: dict[str, Any], src: Path) -> None:
    """Replace the whole database ``db`` with the backup at ``src``. Close Django's connections first."""
    check_backup_file(db, src)
    if engine_of(db) == "sqlite":
        _sqlite_check(Path(src))
        target = Path(str(db["NAME"]))
        target.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(str(src))) as backup, closing(sqlite3.connect(str(target), timeout=30)) as live:
            backup.backup(live)
    else:
        _run(
            [
                find_pg_tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                "-d",
                str(db["NAME"]),
                str(src),
            ],
            db,
        )
