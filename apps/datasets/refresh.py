"""The national data refresh as one service: import every source, then score and compute ripple if anything changed.

This is what ``import_national``, ``score_practices --if-stale --backtest`` and ``compute_ripple --if-stale`` do one
after the other (bin/serve, the runbook), made callable from the background task
``apps.datasets.tasks.refresh_national_data``. Idempotent: an unchanged file is passed over, and scoring and ripple
are skipped when they are up to date, so a second run in a month changes nothing.

A file that fails to parse or load leaves the database as it was for that file (``import_dataset`` guarantees it);
the files that did load are kept and the register is refreshed from them, but scoring is not run on a partial load:
:class:`RefreshFailed` names each failed file, and the next refresh (after the file is fixed) scores everything.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from django.core.management import call_command
from django.db import transaction

from apps.datasets.loaders import refresh_register
from apps.datasets.models import ImportLog
from apps.datasets.registry import sources
from apps.datasets.services import import_sources


class RefreshFailed(RuntimeError):
    """One or more national files failed to import; the message names each with its reason."""


@dataclass
class RefreshReport:
    imports: dict[str, str] = field(default_factory=dict)  # dataset id -> ImportLog status
    scoring: str = ""  # the scoring command's last line: what it stored, or that it was up to date
    ripple: str = ""


def _last_line(buf: io.StringIO) -> str:
    lines = [line for line in buf.getvalue().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def refresh_national_data(*, triggered_by: str = "national refresh") -> RefreshReport:
    """Import every registry source in order, refresh the register, then score and compute ripple when stale.

    Raises :class:`RefreshFailed` (after keeping the files that loaded) when any file failed to import.
    """
    report = RefreshReport()
    logs = import_sources(sources(), triggered_by=triggered_by, refresh=False)
    report.imports = {log.dataset: log.status for log in logs}
    if any(log.status == ImportLog.Status.SUCCESS for log in logs):
        with transaction.atomic():
            refresh_register()
    failed = [log for log in logs if log.status == ImportLog.Status.FAILED]
    if failed:
        reasons = "; ".join(f"{log.dataset}: {log.message}" for log in failed)
        raise RefreshFailed(
            f"{len(failed)} of {len(logs)} national files failed to import and are unchanged in the database "
            f"({reasons}); scoring was not run"
        )
    out = io.StringIO()
    call_command("score_practices", if_stale=True, backtest=True, stdout=out)
    report.scoring = _last_line(out)
    out = io.StringIO()
    call_command("compute_ripple", if_stale=True, stdout=out)
    report.ripple = _last_line(out)
    return report
