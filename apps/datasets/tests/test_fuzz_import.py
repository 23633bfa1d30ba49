"""Fuzzing the Django import path (``import_dataset``) with damaged real-format files.

Every outcome is either a successful load whose skipped rows are reported by row and column, or a failed load that
is logged (one FAILED ImportLog row with a message naming the file) and leaves every other table exactly as it was.
Examples are few (each import refreshes the register), so the run stays within seconds.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from django.apps import apps
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from analytics.tests.support import FIXTURE_FILES
from analytics.tests.test_fuzz_ingest import NASTY_VALUES, _read, _rows, _write
from apps.datasets.models import ImportLog
from apps.datasets.registry import get_source
from apps.datasets.services import import_dataset

pytestmark = pytest.mark.django_db

DATASETS = ["registrations", "mapping", "cqc", "qof", "workforce"]
TABLE_APPS = ("practices", "datasets", "indicators", "accounts")


def _fingerprint() -> dict[str, int]:
    """Row counts of every table the import could touch (ImportLog separately: a failure adds exactly one)."""
    return {
        m._meta.label: m.objects.count()
        for app in TABLE_APPS
        for m in apps.get_app_config(app).get_models()
        if m is not ImportLog
    }


@st.composite
def damaged_files(draw: st.DrawFn) -> tuple[str, bytes]:
    dataset = draw(st.sampled_from(DATASETS))
    text, delimiter = _read(dataset)
    rows = _rows(text, delimiter)
    damage = draw(st.sampled_from(["cell", "truncate", "drop column", "latin-1", "utf-8 BOM", "duplicate row"]))
    if damage == "cell":
        r = draw(st.integers(1, len(rows) - 1))
        rows[r][draw(st.integers(0, len(rows[r]) - 1))] = draw(st.sampled_from(NASTY_VALUES))
    elif damage == "drop column":
        c = draw(st.integers(0, len(rows[0]) - 1))
        rows = [[cell for i, cell in enumerate(row) if i != c] for row in rows]
    elif damage == "duplicate row":
        rows.append(list(rows[draw(st.integers(1, len(rows) - 1))]))
    content = _write(rows, delimiter)
    if damage == "truncate":
        return dataset, content.encode()[: draw(st.integers(0, len(content.encode())))]
    if damage == "latin-1":
        return dataset, content.encode("latin-1", errors="replace")
    if damage == "utf-8 BOM":
        return dataset, b"\xef\xbb\xbf" + content.encode("utf-8")
    return dataset, content.encode()


@given(damaged_files())
@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_a_damaged_file_imports_with_reasons_or_fails_changing_nothing(case):
    dataset, content = case
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / FIXTURE_FILES[dataset].name
        path.write_bytes(content)
        before, logs_before = _fingerprint(), ImportLog.objects.count()
        # small fixtures over the national files: accept the row-count drop so the damage itself is what is tested
        log = import_dataset(get_source(dataset), path, force=True, triggered_by="fuzz", allow_row_drop=True)
    assert ImportLog.objects.count() == logs_before + 1
    event(f"{dataset}: {log.status}")
    if log.status == ImportLog.Status.FAILED:
        assert log.message, "a failure says why"
        assert _fingerprint() == before, f"{dataset}: a failed import changed the database"
    else:
        assert log.status == ImportLog.Status.SUCCESS, log.message
        assert all(e.startswith("row ") and ", column " in e for e in log.skip_examples), log.skip_examples
        assert log.skipped >= len(log.skip_examples)
