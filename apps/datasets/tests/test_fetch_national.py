"""manage.py fetch_national against a local HTTP server that serves the shipped files (data/national).

The session database holds every shipped file (conftest). The server answers ``GET /<registry path>`` with the
shipped file, or with an edited copy given to it, with a fixed Last-Modified header; the registry's addresses are
pointed at it through ``NATIONAL_DOWNLOAD_BASE``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from apps.datasets.fetch import Outcome, fetch_source
from apps.datasets.models import ImportLog
from apps.datasets.registry import get_source, sources
from apps.practices.models import Practice

pytestmark = pytest.mark.django_db

LAST_MODIFIED = datetime(2025, 6, 12, 9, 30, tzinfo=UTC)


class Server:
    """What the test server serves: the shipped files, with edited copies and missing paths the test sets."""

    def __init__(self) -> None:
        self.overrides: dict[str, bytes] = {}
        self.missing: set[str] = set()
        self.last_modified: datetime | None = LAST_MODIFIED
        self.requests: list[str] = []
        self.url = ""


def _handler(state: Server) -> type[BaseHTTPRequestHandler]:
    root = Path(django_settings.NATIONAL_DATA_DIR).resolve()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            rel = unquote(urlsplit(self.path).path).lstrip("/")
            state.requests.append(rel)
            file = (root / rel).resolve()
            if rel in state.overrides:
                body = state.overrides[rel]
            elif rel not in state.missing and file.is_relative_to(root) and file.is_file():
                body = file.read_bytes()
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            if state.last_modified is not None:
                self.send_header("Last-Modified", format_datetime(state.last_modified, usegmt=True))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def _mirror(root: Path, into: Path) -> Path:
    """The national data directory as real folders of links to the shipped files: a fetched file replaces its link
    there, never the shipped file itself."""
    for file in root.rglob("*"):
        if file.is_file():
            link = into / file.relative_to(root)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(file)
    return into


@pytest.fixture
def server(settings: Any, tmp_path: Path) -> Iterator[Server]:
    state = Server()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))  # serves the shipped files
    settings.NATIONAL_DATA_DIR = _mirror(Path(settings.NATIONAL_DATA_DIR).resolve(), tmp_path / "national")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    settings.NATIONAL_DOWNLOAD_BASE = state.url
    settings.NATIONAL_FETCH_TIMEOUT = 5
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _fingerprint() -> tuple[dict[str, int], str]:
    """Row counts of every table an import can touch, and a digest of every practice's register fields."""
    counts = {
        m._meta.label: m.objects.count()
        for app in ("practices", "datasets", "indicators")
        for m in apps.get_app_config(app).get_models()
        if m is not ImportLog
    }
    rows = Practice.objects.order_by("code").values_list("code", "name", "status", "icb_id", "list_size")
    return counts, hashlib.sha256(repr(list(rows)).encode()).hexdigest()


def _fetch(*args: str, **opts: Any) -> str:
    out = io.StringIO()
    call_command("fetch_national", *args, stdout=out, **opts)
    return out.getvalue()


def _new_logs(before: int) -> list[ImportLog]:
    return list(ImportLog.objects.order_by("pk")[before:])


def _edited_epraccur() -> bytes:
    raw = get_source("epraccur").file.read_bytes()
    assert raw.count(b'"THE DENSHAM SURGERY"') == 1
    return raw.replace(b'"THE DENSHAM SURGERY"', b'"THE DENSHAM SURGERY (RENAMED)"')


def test_fetching_the_files_already_loaded_changes_nothing_and_logs_each_with_its_date(server: Server):
    before, logs = _fingerprint(), ImportLog.objects.count()
    out = _fetch()
    new = _new_logs(logs)
    assert sorted(log.dataset for log in new) == sorted(s.id for s in sources())
    for log in new:
        source = get_source(log.dataset)
        assert log.status == ImportLog.Status.UNCHANGED, (log.dataset, log.message)
        assert log.triggered_by == "fetch_national"
        assert log.published == date(2025, 6, 12) and log.published_basis == "HTTP Last-Modified"
        assert log.source_url.startswith(server.url) and log.file_name == source.file.name
    assert sorted(server.requests) == sorted(s.path for s in sources())
    assert _fingerprint() == before
    assert f"{len(new)} fetched (0 imported, {len(new)} unchanged" in out


def test_a_newer_file_is_imported_and_its_publication_date_recorded(server: Server):
    server.overrides[get_source("epraccur").path] = _edited_epraccur()
    logs = ImportLog.objects.count()
    out = _fetch(only=["epraccur"])
    (log,) = _new_logs(logs)
    assert log.status == ImportLog.Status.SUCCESS, log.message
    assert log.updated >= 1 and log.published == date(2025, 6, 12)
    assert log.source_url == f"{server.url}/ods_epraccur/epraccur.csv"
    assert Practice.objects.get(code="A81001").name == "THE DENSHAM SURGERY (RENAMED)"
    assert "epraccur: Loaded" in out and "published 2025-06-12 (HTTP Last-Modified)" in out
    assert "1 fetched (1 imported" in out
    # the loaded file is now the national data directory's copy; the shipped file itself is untouched
    kept = get_source("epraccur").file
    assert not kept.is_symlink() and b'"THE DENSHAM SURGERY (RENAMED)"' in kept.read_bytes()
    shipped = Path(django_settings.BASE_DIR) / "data" / "national" / get_source("epraccur").path
    assert b"(RENAMED)" not in shipped.read_bytes()


def test_without_last_modified_the_fetch_date_is_recorded_and_a_dry_run_keeps_nothing(server: Server):
    server.overrides[get_source("epraccur").path] = _edited_epraccur()
    server.last_modified = None
    before, logs = _fingerprint(), ImportLog.objects.count()
    fetched_from = timezone.localdate()  # the fetch date is the day it ran: either side of a midnight passed meanwhile
    out = _fetch(only=["epraccur"], dry_run=True)
    (log,) = _new_logs(logs)
    assert log.status == ImportLog.Status.DRY_RUN, log.message
    assert log.updated >= 1
    assert log.published in {fetched_from, timezone.localdate()} and log.published_basis.startswith("fetch date")
    assert Practice.objects.get(code="A81001").name == "THE DENSHAM SURGERY"
    assert _fingerprint() == before
    assert "1 dry run" in out


def test_a_truncated_file_is_refused_and_the_database_is_unchanged(server: Server):
    source = get_source("epraccur")
    raw = source.file.read_bytes()
    server.overrides[source.path] = raw[: raw.find(b"\n", int(len(raw) * 0.6)) + 1]
    before, logs = _fingerprint(), ImportLog.objects.count()
    with pytest.raises(CommandError, match="1 source"):
        _fetch(only=["epraccur"])
    (log,) = _new_logs(logs)
    assert log.status == ImportLog.Status.FAILED
    assert any(r in log.message for r in ("truncated", "fewer than", "older than the")), log.message
    assert _fingerprint() == before


def test_a_server_that_is_down_falls_back_to_the_shipped_copies(settings: Any):
    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.NATIONAL_DOWNLOAD_BASE = f"http://127.0.0.1:{port}"
    before, logs = _fingerprint(), ImportLog.objects.count()
    out = _fetch(only=["epraccur", "qof"])
    for source_id in ("epraccur", "qof"):
        assert f"{source_id}: unreachable: cannot reach the publisher" in out
    assert out.count("the shipped copy is kept") == 2 and "2 unreachable" in out
    assert ImportLog.objects.count() == logs and _fingerprint() == before


def test_a_publisher_that_does_not_answer_in_time_falls_back(settings: Any):
    with socket.socket() as listener:  # accepts connections (backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        settings.NATIONAL_DOWNLOAD_BASE = f"http://127.0.0.1:{listener.getsockname()[1]}"
        settings.NATIONAL_FETCH_TIMEOUT = 1
        logs = ImportLog.objects.count()
        out = _fetch(only=["cqc"])
    assert "cqc: unreachable" in out and "timed out" in out
    assert ImportLog.objects.count() == logs


def test_a_404_is_reported_for_its_source_and_the_others_still_fetch(server: Server):
    server.missing.add(get_source("qof").path)
    before, logs = _fingerprint(), ImportLog.objects.count()
    out = io.StringIO()
    with pytest.raises(CommandError, match="refused, not found or with a bad address"):
        call_command("fetch_national", only=["cqc", "qof"], stdout=out)
    text = out.getvalue()
    assert "qof: http error: HTTP 404" in text and "1 HTTP error(s)" in text
    (log,) = _new_logs(logs)
    assert log.dataset == "cqc" and log.status == ImportLog.Status.UNCHANGED
    assert _fingerprint() == before


def test_offline_fetches_nothing(server: Server):
    logs = ImportLog.objects.count()
    out = _fetch(only=["cqc", "epraccur"], offline=True)
    assert server.requests == []
    assert out.count("offline: the shipped copy is kept") == 2 and "2 not fetched" in out
    assert ImportLog.objects.count() == logs


def test_a_source_download_url_is_used_without_a_mirror(server: Server, settings: Any):
    settings.NATIONAL_DOWNLOAD_BASE = ""
    source = get_source("cqc")
    assert fetch_source(dataclasses.replace(source, download_url="")).outcome == Outcome.NO_URL
    served = dataclasses.replace(source, download_url=f"{server.url}/{source.path}")
    result = fetch_source(served)
    assert result.outcome == Outcome.IMPORTED and result.log is not None
    assert result.log.status == ImportLog.Status.UNCHANGED and result.log.source_url == served.download_url
    assert server.requests == [source.path]


def test_validate_sources_refuses_a_download_url_that_is_not_http(monkeypatch: pytest.MonkeyPatch):
    from apps.datasets.management.commands import validate_sources

    bad = tuple(
        dataclasses.replace(s, download_url="ftp://example.org/x.csv") if s.id == "cqc" else s for s in sources()
    )
    monkeypatch.setattr(validate_sources, "sources", lambda: bad)
    with pytest.raises(CommandError, match="cqc: download_url is not an http"):
        call_command("validate_sources", stdout=io.StringIO())


def test_an_address_that_is_not_http_is_refused_without_fetching(settings: Any):
    settings.NATIONAL_DOWNLOAD_BASE = "file:///etc"
    logs = ImportLog.objects.count()
    with pytest.raises(CommandError, match="refused, not found or with a bad address"):
        _fetch(only=["cqc"])
    assert ImportLog.objects.count() == logs
