"""Backup and restore round trips, on whichever database the suite runs on (SQLite, or the DATABASE_URL server).

The test database holds the national data committed once per session; it is backed up as is, restored into a scratch
database, damaged there, and restored again, so the test database itself is never overwritten.
"""

from __future__ import annotations

import io
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from apps.core.backup import BackupError, backup_database, check_backup_file, restore_database

pytestmark = pytest.mark.django_db

TABLES = ["practices_practice", "practices_listsizesnapshot", "indicators_practicescore", "datasets_importlog"]
ON_SQLITE = connection.vendor == "sqlite"


def _counts(db: dict[str, Any]) -> dict[str, int]:
    if db["ENGINE"].endswith("sqlite3"):
        with closing(sqlite3.connect(db["NAME"])) as conn:
            return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    import psycopg

    with psycopg.connect(**_pg_kwargs(db)) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def _pg_kwargs(db: dict[str, Any], dbname: str | None = None) -> dict[str, Any]:
    kw = {"dbname": dbname or db["NAME"], "user": db["USER"], "host": db["HOST"], "port": db["PORT"] or None}
    return {k: v for k, v in {**kw, "password": db.get("PASSWORD") or None}.items() if v}


def _damage(db: dict[str, Any]) -> None:
    sql = ["DELETE FROM practices_listsizesnapshot", "CREATE TABLE stray_table (x integer)"]
    if db["ENGINE"].endswith("sqlite3"):
        with closing(sqlite3.connect(db["NAME"])) as conn:
            for s in sql:
                conn.execute(s)
            conn.commit()
        return
    import psycopg

    with psycopg.connect(**_pg_kwargs(db), autocommit=True) as conn:
        for s in sql:
            conn.execute(s)


@pytest.fixture
def live_db() -> dict[str, Any]:
    """The test database's settings (its committed contents are the session's national data)."""
    return dict(connection.settings_dict)


@pytest.fixture
def scratch_db(live_db: dict[str, Any], tmp_path: Path) -> Iterator[dict[str, Any]]:
    """An empty database of the same kind, dropped afterwards."""
    if ON_SQLITE:
        yield {**live_db, "NAME": str(tmp_path / "scratch.sqlite3")}
        return
    import psycopg

    name = f"gpr_restore_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**_pg_kwargs(live_db, "postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {**live_db, "NAME": name}
    finally:
        with psycopg.connect(**_pg_kwargs(live_db, "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_backup_restores_the_whole_database_and_undoes_later_damage(live_db, scratch_db, tmp_path):
    expected = _counts(live_db)
    assert expected["practices_practice"] > 1000, "the session's national data is in the database"
    backup = backup_database(live_db, tmp_path / "backup.bin")
    restore_database(scratch_db, backup)
    assert _counts(scratch_db) == expected
    _damage(scratch_db)
    assert _counts(scratch_db)["practices_listsizesnapshot"] == 0
    restore_database(scratch_db, backup)
    assert _counts(scratch_db) == expected


def test_the_commands_round_trip_through_a_database_url(live_db, scratch_db, tmp_path):
    url = (
        f"sqlite:///{scratch_db['NAME']}"
        if ON_SQLITE
        else f"postgres://{scratch_db['USER']}@{scratch_db['HOST']}:{scratch_db['PORT']}/{scratch_db['NAME']}"
    )
    path = tmp_path / "nightly.backup"
    out = io.StringIO()
    call_command("backup_db", str(path), stdout=out)
    assert "Backed up" in out.getvalue() and path.stat().st_size > 100_000
    with pytest.raises(CommandError, match="pass --force to go ahead"):
        call_command("restore_db", str(path), database_url=url)
    call_command("restore_db", str(path), force=True, database_url=url, stdout=out)
    assert _counts(scratch_db) == _counts(live_db)


def test_backup_refuses_to_overwrite_without_force(tmp_path):
    path = tmp_path / "exists.backup"
    path.write_text("keep me")
    with pytest.raises(CommandError, match="--force"):
        call_command("backup_db", str(path))
    assert path.read_text() == "keep me"


def test_restore_refuses_a_file_that_is_not_a_backup(live_db, tmp_path):
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a database")
    with pytest.raises(BackupError, match="is not a"):
        check_backup_file(live_db, bogus)
    with pytest.raises(CommandError, match="is not a"):
        call_command("restore_db", str(bogus), force=True)
    with pytest.raises(CommandError, match="no backup file"):
        call_command("restore_db", str(tmp_path / "missing.dump"), force=True)


def test_the_commands_explain_themselves():
    from apps.core.management.commands import backup_db, restore_db

    assert "online backup API" in backup_db.Command.help and "pg_dump" in backup_db.Command.help
    assert "--force" in restore_db.Command.help and "pg_restore" in restore_db.Command.help


def _small_backup(scratch_db: dict[str, Any], tmp_path: Path) -> Path:
    """A real backup (made by backup_db's code) of a small database, so cutting it is quick."""
    key = "integer PRIMARY KEY" if ON_SQLITE else "serial PRIMARY KEY"
    sql = [f"CREATE TABLE notes (id {key}, body text)"] + [
        f"INSERT INTO notes (body) VALUES ('{f'note {i} ' * 40}')" for i in range(2000)
    ]
    if ON_SQLITE:
        with closing(sqlite3.connect(scratch_db["NAME"])) as conn:
            for s in sql:
                conn.execute(s)
            conn.commit()
    else:
        import psycopg

        with psycopg.connect(**_pg_kwargs(scratch_db), autocommit=True) as conn:
            for s in sql:
                conn.execute(s)
    return backup_database(scratch_db, tmp_path / "small.backup")


@pytest.mark.parametrize("cut", ["truncated", "corrupt"])
def test_a_truncated_or_corrupt_backup_gets_a_one_line_error_and_restores_nothing(scratch_db, tmp_path, cut):
    good = _small_backup(scratch_db, tmp_path)
    data = good.read_bytes()
    bad = tmp_path / f"{cut}.backup"
    if cut == "truncated":
        bad.write_bytes(data[: len(data) // 2])
    else:  # the header is right, the pages after it are noise
        bad.write_bytes(data[:100] + bytes((b * 7 + 13) % 256 for b in data[100:]))
    url = (
        f"sqlite:///{scratch_db['NAME']}"
        if ON_SQLITE
        else f"postgres://{scratch_db['USER']}@{scratch_db['HOST']}:{scratch_db['PORT']}/{scratch_db['NAME']}"
    )
    with pytest.raises(CommandError) as refused:
        call_command("restore_db", str(bad), force=True, database_url=url)
    message = str(refused.value)
    assert "\n" not in message and len(message) < 500, message
    assert str(bad) in message or "pg_restore failed" in message
    assert _notes(scratch_db) == 2000  # the database is as it was


def _notes(db: dict[str, Any]) -> int:
    if ON_SQLITE:
        with closing(sqlite3.connect(db["NAME"])) as conn:
            return int(conn.execute("SELECT count(*) FROM notes").fetchone()[0])
    import psycopg

    with psycopg.connect(**_pg_kwargs(db)) as conn:
        row = conn.execute("SELECT count(*) FROM notes").fetchone()
        return int(row[0]) if row else 0
