"""When each national file was published, and the one rule that decides what an "as of" score may read.

``apps/datasets/sources.toml`` records, for every file of every source, the period it covers and the date it was
published (with the basis of that date). :func:`read_publications` turns it into :class:`Publication` rows at the
grain the data is used: one per (dataset, period). A derived compilation of many periods (the workforce means)
lists a date per period; any other file gives one row for its period.

:func:`dated` decides the date of each (dataset, period) the database holds, from its import log first: the
publication date recorded when the file was imported (the registry's date for a registry file, the publisher's
``Last-Modified`` for a fetched one); else the registry's date for that period; else the day it was first imported
(it was in hand then at the latest).

:func:`usable` is the single gate: a (dataset, period) may be read as of ``D`` only when it was published on or
before ``D``. :func:`analytics.history.as_published` applies it to every history frame; nothing else filters by
date for that purpose. Dates are conservative upper bounds where the exact day was not checked (see each entry's
``published_basis``), so a late date can hide data but never leak it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCES_TOML = REPO_ROOT / "apps" / "datasets" / "sources.toml"


class PublicationError(ValueError):
    """A source entry lacks a period or publication date, or gives one that is not a date."""


@dataclass(frozen=True)
class Publication:
    dataset: str
    period: str
    published: date
    path: str
    basis: str


@dataclass(frozen=True)
class SourceFile:
    """One file of a source: where it is, what period it covers and when it was published."""

    path: str
    period: str
    published: date
    basis: str
    published_by_period: Mapping[str, date]
    url: str = ""
    """The publisher's landing page for this very file (its release page), where the provenance names one."""

    def publications(self, dataset: str) -> list[Publication]:
        if self.published_by_period:
            return [
                Publication(dataset, period, when, self.path, self.basis)
                for period, when in self.published_by_period.items()
            ]
        return [Publication(dataset, self.period, self.published, self.path, self.basis)]


def _date(value: object, where: str) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise PublicationError(f"{where}: {value!r} is not a date (write it as a TOML date, e.g. 2023-09-29)")


def source_file(entry: Mapping[str, object], where: str) -> SourceFile:
    """Read the file fields of a ``[[source]]`` or ``[[source.history]]`` entry, naming what is missing."""
    missing = [k for k in ("path", "period", "published", "published_basis") if not entry.get(k)]
    if missing:
        raise PublicationError(f"{where} lacks {', '.join(missing)}")
    by_period_raw = entry.get("published_by_period") or {}
    if not isinstance(by_period_raw, Mapping):
        raise PublicationError(f"{where}: published_by_period must be a table of period = date")
    by_period = {str(k): _date(v, f"{where} published_by_period.{k}") for k, v in by_period_raw.items()}
    return SourceFile(
        path=str(entry["path"]),
        period=str(entry["period"]),
        published=_date(entry["published"], f"{where} published"),
        basis=str(entry["published_basis"]),
        published_by_period=by_period,
        url=str(entry.get("page_url") or ""),
    )


def source_files(entry: Mapping[str, object], where: str) -> tuple[SourceFile, ...]:
    """The history files of a source (oldest first, as listed) and then its newest file."""
    history = entry.get("history") or []
    if not isinstance(history, list):
        raise PublicationError(f"{where}: history must be an array of tables")
    older = [source_file(h, f"{where} history #{i}") for i, h in enumerate(history, start=1)]
    return (*older, source_file(entry, where))


def read_publications(sources_toml: Path = SOURCES_TOML) -> tuple[Publication, ...]:
    """Every (dataset, period) with its publication date. Where two files cover one period, the later date wins."""
    config = tomllib.loads(Path(sources_toml).read_text(encoding="utf-8"))
    best: dict[tuple[str, str], Publication] = {}
    for i, entry in enumerate(config.get("source", []), start=1):
        ident = str(entry.get("id") or f"#{i}")
        for f in source_files(entry, f"{Path(sources_toml).name}: source {ident}"):
            for pub in f.publications(ident):
                key = (pub.dataset, pub.period)
                if key not in best or pub.published > best[key].published:
                    best[key] = pub
    return tuple(best.values())


def usable(publications: Iterable[Publication], as_of: date) -> frozenset[tuple[str, str]]:
    """The (dataset, period) pairs published on or before ``as_of``: the only ones an as-of score may read."""
    return frozenset((p.dataset, p.period) for p in publications if p.published <= as_of)


@dataclass(frozen=True)
class Imported:
    """One successful import of one period of a source, as its import log recorded it."""

    dataset: str
    period: str
    file: str
    imported: date
    published: date | None = None
    basis: str = ""


def dated(
    registry: Iterable[Publication], imported: Iterable[Imported], present: Iterable[tuple[str, str]]
) -> tuple[Publication, ...]:
    """The publication date of every (dataset, period) in ``present`` (what the database holds), in this order:

    1. the latest publication date recorded by a successful import of exactly that period (a re-publication
       fetched later moves the date later, never earlier);
    2. the registry's date for that period (multi-period compilations date each period there);
    3. the day a file covering it (its period names it) was first imported.

    A period with none of these is left out, so the gate never lets it through. Registry rows for periods not in
    the database are kept (they gate nothing there, and the file-based history reads them)."""
    by_key = {(p.dataset, p.period): p for p in registry}
    logs = list(imported)
    out = dict(by_key)
    for dataset, period in sorted(set(present)):
        exact = [i for i in logs if i.dataset == dataset and i.period == period and i.published is not None]
        if exact:
            best = max(exact, key=lambda i: i.published or date.min)
            out[(dataset, period)] = Publication(
                dataset, period, best.published or date.min, best.file, best.basis or "recorded at import"
            )
            continue
        if (dataset, period) in by_key:
            continue
        covering = sorted((i for i in logs if i.dataset == dataset and period in i.period), key=lambda i: i.imported)
        if covering:
            first = covering[0]
            out[(dataset, period)] = Publication(
                dataset, period, first.imported, first.file, "first imported (no publication date recorded)"
            )
    return tuple(out.values())
