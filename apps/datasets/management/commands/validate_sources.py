"""Check the national data registry (apps/datasets/sources.toml): every entry complete, with a parser, a loader,
its file (and every history file) present and a PROVENANCE.md beside it, and any download_url an http(s) address.
Publication dates are checked when the registry is read (analytics.publications)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError

from analytics.ingest.parsers import PARSERS
from apps.datasets.loaders import LOADERS
from apps.datasets.registry import sources


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args: Any, **opts: Any) -> None:
        problems = []
        try:
            entries = sources()
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        for s in entries:
            if s.id not in PARSERS:
                problems.append(f"{s.id}: no parser in analytics.ingest.parsers.PARSERS")
            if s.id not in LOADERS:
                problems.append(f"{s.id}: no loader in apps.datasets.loaders.LOADERS")
            if not s.file.exists():
                problems.append(f"{s.id}: file missing: {s.file}")
            if not s.provenance_file.exists():
                problems.append(f"{s.id}: no PROVENANCE.md beside {s.file.name}")
            if s.download_url:
                parts = urlsplit(s.download_url)
                if parts.scheme not in ("http", "https") or not parts.netloc:
                    problems.append(f"{s.id}: download_url is not an http(s) address: {s.download_url!r}")
            for old in s.history_files:
                if not old.exists():
                    problems.append(f"{s.id}: history file missing: {old}")
                elif not any(old.parent.glob("PROVENANCE*.md")):
                    problems.append(f"{s.id}: no PROVENANCE*.md beside history file {old.name}")
        for extra in sorted(set(PARSERS) - {s.id for s in entries}):
            problems.append(f"{extra}: a parser with no registry entry")
        if problems:
            raise CommandError("source registry problems:\n  " + "\n  ".join(problems))
        self.stdout.write(f"{len(entries)} national data sources OK")
