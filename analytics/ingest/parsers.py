"""Django-free parsers for the national open-data files, one module per dataset.

``PARSERS`` maps a dataset id to its ``parse(path) -> Parsed``. Every parser checks the file's layout first and
raises :class:`~analytics.ingest.base.DatasetFormatError` when it cannot recognise it; rows that fail validation
are dropped and listed in ``Parsed.skipped``. See :mod:`analytics.ingest.base` for the contract.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from analytics.ingest import (
    closure_labels,
    cqc,
    epcn,
    epraccur,
    lineage,
    locations,
    lsoa11_ccg,
    lsoa11_centroids,
    lsoa21_icb,
    mapping,
    payments,
    qof,
    qof_prevalence,
    registrations,
    workforce,
)
from analytics.ingest.base import DatasetFormatError, Parsed, Skip

PARSERS: dict[str, Callable[[Path], Parsed]] = {
    "epraccur": epraccur.parse,
    "registrations": registrations.parse,
    "mapping": mapping.parse,
    "epcn": epcn.parse,
    "workforce": workforce.parse,
    "cqc": cqc.parse,
    "qof": qof.parse,
    "payments": payments.parse,
    "locations": locations.parse,
    "lsoa11_ccg": lsoa11_ccg.parse,
    "lsoa21_icb": lsoa21_icb.parse,
    "lsoa11_centroids": lsoa11_centroids.parse,
    "qof_prevalence": qof_prevalence.parse,
    "lineage": lineage.parse,
    "closure_labels": closure_labels.parse,
}

__all__ = ["PARSERS", "DatasetFormatError", "Parsed", "Skip"]
