"""Fetch the newest file of a national source from its download address and import it through the usual path.

The address is the source's ``download_url`` in ``sources.toml``, or ``NATIONAL_DOWNLOAD_BASE`` + the registry path
when that setting names a mirror. The file is saved to a temporary folder (beside copies of its companion files) and
handed to :func:`apps.datasets.services.import_dataset`, which parses it, runs the integrity checks and writes the
ImportLog; its publication date (HTTP ``Last-Modified``, else the day it was fetched) is recorded on that log, where
the as-of gate reads it. A file that loads replaces the copy in the national data directory (``NATIONAL_DATA_DIR``).
When the publisher cannot be reached the shipped copy, already loaded, stays as it is.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.utils import timezone

from apps.datasets.models import ImportLog
from apps.datasets.registry import Source
from apps.datasets.services import import_dataset

USER_AGENT = "gp-resilience fetch_national (urllib)"
CHUNK = 1 << 20


class Outcome:
    IMPORTED = "imported"  # fetched and passed to the import; the log says what happened
    NO_URL = "no download address"
    OFFLINE = "offline"
    UNREACHABLE = "unreachable"
    HTTP_ERROR = "http error"
    BAD_URL = "bad address"


@dataclass
class FetchResult:
    source: str
    outcome: str
    message: str
    url: str = ""
    log: ImportLog | None = None


def download_url(source: Source, base: str | None = None) -> str:
    """Where to fetch the source's newest file from: ``base`` (default ``NATIONAL_DOWNLOAD_BASE``) + its registry
    path when a mirror is set, else its ``download_url`` (empty when it has none)."""
    base = settings.NATIONAL_DOWNLOAD_BASE if base is None else base
    if base:
        return f"{base.rstrip('/')}/{quote(source.path)}"
    return source.download_url


def _published(last_modified: str | None) -> tuple[date, str]:
    if last_modified:
        try:
            return parsedate_to_datetime(last_modified).date(), "HTTP Last-Modified"
        except (TypeError, ValueError):
            pass
    return timezone.localdate(), "fetch date (no usable Last-Modified)"


def _unreachable(exc: BaseException) -> bool:
    """True for the failures that mean "no network": refused, name not resolved, timed out, unreachable."""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    # ConnectionRefusedError, socket.gaierror (DNS), TimeoutError and "network unreachable" are all OSErrors; a
    # reason that is only a string (an unknown URL scheme) is a mistake in the registry, not a missing network.
    return isinstance(reason, OSError)


def _download(url: str, target: Path, timeout: float) -> str | None:
    """Save ``url`` to ``target``; returns its Last-Modified header."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})  # noqa: S310 (http(s) checked)
    with urllib.request.urlopen(request, timeout=timeout) as response, open(target, "wb") as out:  # noqa: S310
        shutil.copyfileobj(response, out, CHUNK)
        return response.headers.get("Last-Modified")


def _keep_copy(fetched: Path, shipped: Path) -> None:
    """Put a loaded file where the registry says the source's file is, so that every reader of the national data
    directory (the file-based history of the benchmarks, a later ``import_national``) sees what the database holds.
    Written beside it and renamed over it: a reader never sees half a file, and a link in its place is replaced,
    not written through."""
    partial = shipped.with_name(f".{shipped.name}.fetching")
    shutil.copyfile(fetched, partial)
    os.replace(partial, shipped)


def fetch_source(
    source: Source,
    *,
    base: str | None = None,
    offline: bool = False,
    dry_run: bool = False,
    timeout: float | None = None,
    triggered_by: str = "fetch_national",
) -> FetchResult:
    """Fetch, check and import one source's newest file; never raises for a network or HTTP failure."""
    url = download_url(source, base)
    if offline:
        return FetchResult(source.id, Outcome.OFFLINE, "offline: the shipped copy is kept", url)
    if not url:
        return FetchResult(source.id, Outcome.NO_URL, "no download_url in the registry; the shipped copy is kept")
    if urlsplit(url).scheme not in ("http", "https"):
        return FetchResult(source.id, Outcome.BAD_URL, "not an http(s) address; the shipped copy is kept", url)
    timeout = settings.NATIONAL_FETCH_TIMEOUT if timeout is None else timeout
    with tempfile.TemporaryDirectory(prefix=f"fetch-{source.id}-") as tmp:
        # The whole folder, so that companion files the parser reads beside the file (QOF's mapping) are there too.
        folder = Path(tmp) / source.file.parent.name
        shutil.copytree(source.file.parent, folder)
        target = folder / source.file.name
        try:
            last_modified = _download(url, target, timeout)
        except urllib.error.HTTPError as exc:
            return FetchResult(
                source.id, Outcome.HTTP_ERROR, f"HTTP {exc.code} {exc.reason}; the shipped copy is kept", url
            )
        except (urllib.error.URLError, OSError) as exc:
            if not _unreachable(exc):
                raise
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            return FetchResult(
                source.id, Outcome.UNREACHABLE, f"cannot reach the publisher ({reason}); the shipped copy is kept", url
            )
        published, basis = _published(last_modified)
        log = import_dataset(source, target, dry_run=dry_run, triggered_by=triggered_by, refresh=False)
        if log.status == ImportLog.Status.SUCCESS:
            _keep_copy(target, source.file)
    log.source_url, log.published, log.published_basis = url[:500], published, basis
    log.save(update_fields=["source_url", "published", "published_basis"])
    return FetchResult(source.id, Outcome.IMPORTED, log.message, url, log)
