"""The test database template's key changes whenever an input of the built database changes, and only then."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from apps.core import testdb


def test_the_key_covers_migrations_data_files_loaders_and_the_lock_file_but_not_tests() -> None:
    inputs = {str(p.relative_to(testdb.ROOT)) for p in testdb.input_files()}
    migrations = {str(p.relative_to(testdb.ROOT)) for p in testdb.ROOT.glob("apps/*/migrations/0*.py")}
    data = {str(p.relative_to(testdb.ROOT)) for p in (testdb.ROOT / "data").rglob("*") if p.is_file()}
    assert migrations and migrations <= inputs
    assert data and data <= inputs
    for needed in (
        "apps/datasets/sources.toml",
        "apps/datasets/management/commands/import_national.py",
        "apps/core/testdb.py",
        "requirements.lock.txt",
    ):
        assert needed in inputs, needed
    assert not [p for p in inputs if "/tests/" in f"/{p}"]


@pytest.fixture
def small_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in project with one file of each kind, for watching the key move."""
    for rel, text in {
        "apps/practices/migrations/0001_initial.py": "ops = []\n",
        "apps/datasets/loaders.py": "def load(): ...\n",
        "data/national/ods/epraccur.csv": "A81001,THE DENSHAM SURGERY\n",
        "apps/practices/tests/test_pages.py": "def test(): ...\n",
        "requirements.lock.txt": "django==6.1.3\n",
    }.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    monkeypatch.setattr(testdb, "ROOT", tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    "change",
    [
        "apps/practices/migrations/0002_new_field.py",  # a new migration
        "apps/datasets/loaders.py",  # changed loader code
        "data/national/ods/epraccur.csv",  # a changed data file
        "requirements.lock.txt",  # another package version
    ],
)
def test_a_new_migration_or_changed_data_or_code_gives_a_new_key(small_tree: Path, change: str) -> None:
    before = testdb.template_key()
    path = small_tree / change
    path.write_text(path.read_text() + "# changed\n" if path.exists() else "ops = ['AddField']\n")
    assert testdb.template_key() != before


def test_adding_or_changing_a_test_keeps_the_key(small_tree: Path) -> None:
    before = testdb.template_key()
    (small_tree / "apps/practices/tests/test_pages.py").write_text("def test_changed(): ...\n")
    (small_tree / "apps/practices/tests/test_new.py").write_text("def test_new(): ...\n")
    assert testdb.template_key() == before


def test_a_template_another_run_is_using_is_not_removed_and_a_forgotten_one_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run started while another is going (with code edited in between) must not delete the template the first
    run puts its copy back from."""
    monkeypatch.setattr(testdb, "VAR", tmp_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time; h = open(sys.argv[1], 'w'); fcntl.flock(h, fcntl.LOCK_SH); print('held', "
            "flush=True); time.sleep(60)",
            str(tmp_path / "test-template-aaaa.inuse"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert not testdb._unused("aaaa")
    finally:
        holder.kill()
        holder.wait()
    assert testdb._unused("aaaa")
    assert not (tmp_path / "test-template-aaaa.inuse").exists()
    assert testdb._unused("never-used")
