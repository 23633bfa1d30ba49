"""The registry of national data sources, read from ``sources.toml`` (data, reviewed like code)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings

from analytics.publications import SourceFile, source_files

SOURCES_FILE = Path(__file__).with_name("sources.toml")
REQUIRED = ("id", "title", "publisher", "cadence", "url", "licence", "path")


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    publisher: str
    cadence: str
    url: str
    licence: str
    path: str
    keeps_history: bool = False
    download_url: str = ""
    """Where ``manage.py fetch_national`` fetches the newest file from (``url`` stays the publisher's page); empty
    when the publisher has no stable address for it (a zip, or a name that changes every month)."""
    """Rows are keyed by the file's period, so an older file adds that period's history and cannot change the
    register's current values (which come from the newest period). Otherwise an older file is refused."""
    files: tuple[SourceFile, ...] = ()
    """Every file of the source with its period and publication date: the history files, then the newest."""

    @property
    def file(self) -> Path:
        return Path(settings.NATIONAL_DATA_DIR) / self.path

    @property
    def history_files(self) -> tuple[Path, ...]:
        """Older files of this source, oldest first (loaded before the newest one)."""
        return tuple(Path(settings.NATIONAL_DATA_DIR) / f.path for f in self.files[:-1])

    @property
    def published(self) -> SourceFile:
        """The newest file's period and publication date."""
        return self.files[-1]

    @property
    def provenance_file(self) -> Path:
        return self.file.parent / "PROVENANCE.md"


@cache
def sources() -> tuple[Source, ...]:
    """All sources in load order. Raises ValueError naming the entry and field when the file is incomplete."""
    data = tomllib.loads(SOURCES_FILE.read_text(encoding="utf-8"))
    out = []
    for i, entry in enumerate(data.get("source", []), start=1):
        missing = [k for k in REQUIRED if not entry.get(k)]
        if missing:
            raise ValueError(f"{SOURCES_FILE.name}: source #{i} lacks {', '.join(missing)}")
        history = entry.get("keeps_history", False)
        if not isinstance(history, bool):
            raise ValueError(f"{SOURCES_FILE.name}: source #{i} keeps_history must be true or false")
        where = f"{SOURCES_FILE.name}: source {entry['id']}"
        download_url = entry.get("download_url", "")
        if not isinstance(download_url, str):
            raise ValueError(f"{where}: download_url must be a string")
        out.append(
            Source(
                **{k: entry[k] for k in REQUIRED},
                keeps_history=history,
                download_url=download_url,
                files=source_files(entry, where),
            )
        )
    ids = [s.id for s in out]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{SOURCES_FILE.name}: duplicate source ids")
    return tuple(out)


def get_source(source_id: str) -> Source:
    for s in sources():
        if s.id == source_id:
            return s
    known = ", ".join(s.id for s in sources())
    raise KeyError(f"unknown dataset {source_id!r}; known: {known}")
