"""Checks of a parsed national file against what is already loaded, made before anything is written.

The parsers check what one file can tell about itself (layout, field counts, a final line break). What only the
import history can tell is checked here:

* **older over newer** — a file whose period is older than the newest period loaded for its source would revert
  current values (practice statuses, links, coordinates). It is refused, unless the source keeps history (its rows
  are keyed by period, so the older file adds history and the register keeps reading the newest period);
* **a superseded file** — files that carry no date (CQC ratings, NHS website locations, ONS lookups) have a
  fixed period, so an older copy is recognised by content instead: a file identical to one loaded before and since
  replaced by another (for a history source: another of the same period) is refused;
* **row-count drop** — a file cut cleanly at a line end is still well formed. It is caught by comparing its rows
  with the previous import of the same source: a drop of more than :data:`MAX_ROW_DROP` is refused unless the
  operator says the drop is real (``allow_row_drop``; the import is then audited).

Periods are compared as text within one source, which orders every form the parsers write (``2025-04-23``,
``2019-05``, ``2022-23``, ``2023``) as long as both have the same shape; periods of different shapes (a layout
change) are not compared, and the log says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from analytics.ingest.base import Parsed
from apps.datasets.models import ImportLog
from apps.datasets.registry import Source

MAX_ROW_DROP = 0.05
"""The largest fall in rows read, against the previous import of the same source, accepted without the operator's
say-so. Month to month the practice files move by well under 1% (mergers and closures)."""


class ImportRefused(Exception):
    """The file is readable but loading it would lose or revert data. The message says why and what to do."""


@dataclass
class Verdict:
    """What the checks decided for a file that may load: notes for the log, and whether an override was used."""

    notes: list[str] = field(default_factory=list)
    history_only: bool = False
    row_drop_accepted: str = ""


def _shape(period: str) -> str:
    return re.sub(r"[0-9]", "9", period)


def _loaded(source: Source, history_file: str) -> list[ImportLog]:
    """Successful real loads of one file slot of this source, newest first (dry runs, failures and unchanged files
    change nothing).

    A source may list older files in the registry (``[[source.history]]``: earlier years, or a multi-year compilation
    beside the newest one). A registry history file (``history_file`` names it) is compared only with its own earlier
    loads; every other file (the newest, or one given with ``--path``) only with loads that are not registry history
    files: a three-year compilation must not be judged against a nine-year one, nor a new file against an old year."""
    logs = ImportLog.objects.filter(dataset=source.id, status=ImportLog.Status.SUCCESS)
    if history_file:
        logs = logs.filter(file_name=history_file)
    else:
        logs = logs.exclude(file_name__in=[p.name for p in source.history_files])
    return list(logs.order_by("-started_at"))


def check_against_loaded(
    source: Source, parsed: Parsed, *, sha256: str = "", history_file: str = "", allow_row_drop: bool = False
) -> Verdict:
    """Refuse (raise :class:`ImportRefused`) a file older than what is loaded, or with far fewer rows; else say why
    it may load. ``history_file`` is the file's name when it is one of the registry's history files of the source.
    Reads the import log only; writes nothing."""
    verdict = Verdict()
    loaded = _loaded(source, history_file)
    if not loaded:
        return verdict
    period = parsed.period
    comparable = [log for log in loaded if period and log.period and _shape(log.period) == _shape(period)]
    newest = max((log.period for log in comparable), default="")
    if period and not comparable:
        verdict.notes.append(
            f"period {period!r} is not comparable with the periods loaded before "
            f"({', '.join(sorted({log.period for log in loaded if log.period})) or 'none recorded'})"
        )
    if newest and period < newest:
        if not source.keeps_history:
            raise ImportRefused(
                f"refused: this file is for {period}, older than the {newest} already loaded; loading it would revert "
                f"current values to older ones. Nothing was changed (load the newer file, or a file for {newest} or "
                f"later)."
            )
        verdict.history_only = True
        verdict.notes.append(
            f"loaded as history: {period} is older than the {newest} already loaded, whose values stay current"
        )
    rivals = [log for log in loaded if log.period == period] if source.keeps_history else loaded
    earlier = next((log for log in rivals[1:] if sha256 and log.sha256 == sha256), None)
    if earlier is not None and rivals[0].sha256 != sha256:
        raise ImportRefused(
            f"refused: this exact file was loaded on {earlier.started_at:%Y-%m-%d} and has since been replaced by "
            f"{rivals[0].file_name} (loaded {rivals[0].started_at:%Y-%m-%d}); loading it again would revert current "
            f"values to older ones. Nothing was changed."
        )
    # The baseline is the last load of the same period (a re-publication) or, for the newest period, the last load
    # of the newest one before it. A first load of an older period is history and has no baseline.
    same = [log for log in loaded if log.period == period]
    baseline = same[0] if same else (None if verdict.history_only else next(iter(comparable or loaded), None))
    if baseline is None or not baseline.rows_read:
        return verdict
    lost = baseline.rows_read - parsed.rows_read
    if lost <= MAX_ROW_DROP * baseline.rows_read:  # rows lost, not a ratio: 50 of 1,000 is exactly 5%, allowed
        return verdict
    drop = lost / baseline.rows_read
    what = (
        f"{parsed.rows_read:,} rows read, {100 * drop:.1f}% fewer than the {baseline.rows_read:,} of "
        f"{baseline.file_name} ({baseline.period or 'no period'}) loaded on {baseline.started_at:%Y-%m-%d}"
    )
    if not allow_row_drop:
        raise ImportRefused(
            f"refused: {what}; a drop of more than {100 * MAX_ROW_DROP:.0f}% usually means a truncated file. Nothing "
            f"was changed. If the publisher really dropped the rows, load it again with --allow-row-drop (audited)."
        )
    verdict.row_drop_accepted = what
    verdict.notes.append(f"row-count drop accepted by the operator: {what}")
    return verdict
