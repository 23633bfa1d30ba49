"""The diff-first upsert: a first load into an empty table (no comparison, plain inserts) and a re-import (compared in
polars against the rows read once) must leave identical tables, and a re-import that changes nothing writes nothing."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.datasets.upsert import canonical_json, upsert
from apps.practices.models import Lsoa2011, PaymentsYear, Practice, PracticeLineage

pytestmark = pytest.mark.django_db

LINKS = pl.DataFrame(
    {
        "pred": ["A00001", "A00002", "A00003"],
        "succ": ["B00001", "B00002", "B00003"],
        "absorbed": [date(2020, 1, 31), None, date(2021, 6, 30)],
    }
)


def _links() -> list[tuple[object, ...]]:
    return sorted(PracticeLineage.objects.values_list("predecessor_code", "successor_code", "absorbed"))


def _writes(ctx: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE"))]


def test_a_first_load_and_a_re_import_leave_identical_tables_and_the_re_import_writes_nothing():
    PracticeLineage.objects.all().delete()
    first = upsert(PracticeLineage, ["predecessor_code"], ["successor_code", "absorbed"], LINKS)
    assert (first.created, first.updated, first.unchanged) == (3, 0, 0)
    after_first = _links()
    assert after_first == [
        ("A00001", "B00001", date(2020, 1, 31)),
        ("A00002", "B00002", None),
        ("A00003", "B00003", date(2021, 6, 30)),
    ]
    with CaptureQueriesContext(connection) as ctx:
        again = upsert(PracticeLineage, ["predecessor_code"], ["successor_code", "absorbed"], LINKS)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert _writes(ctx) == []
    assert _links() == after_first


def test_a_re_import_writes_only_the_new_and_changed_rows_and_a_null_counts_as_a_value():
    PracticeLineage.objects.all().delete()
    upsert(PracticeLineage, ["predecessor_code"], ["successor_code", "absorbed"], LINKS)
    changed = pl.DataFrame(
        {
            "pred": ["A00001", "A00002", "A00003", "A00004"],
            "succ": ["B00001", "B00002", "B00009", "B00004"],
            "absorbed": [None, None, date(2021, 6, 30), None],  # A00001 loses its date: a change, not a match
        }
    )
    counts = upsert(PracticeLineage, ["predecessor_code"], ["successor_code", "absorbed"], changed)
    assert (counts.created, counts.updated, counts.unchanged) == (1, 2, 1)
    assert _links() == [
        ("A00001", "B00001", None),
        ("A00002", "B00002", None),
        ("A00003", "B00009", date(2021, 6, 30)),
        ("A00004", "B00004", None),
    ]
    # The same end state as a first load of the changed file into an empty table.
    reloaded = _links()
    PracticeLineage.objects.all().delete()
    upsert(PracticeLineage, ["predecessor_code"], ["successor_code", "absorbed"], changed)
    assert _links() == reloaded


def test_a_repeated_key_behaves_as_a_row_by_row_upsert_last_fields_and_first_create_only_fields():
    Lsoa2011.objects.filter(code__startswith="E0199").delete()
    rows = pl.DataFrame(
        {
            "code": ["E01999991", "E01999992", "E01999991"],
            "sub": ["00A", "00B", "00C"],
            "lad": ["E06000001", "E06000002", "E06000001"],
            "lad_name": ["One", "Two", "One"],
            "name": ["first name", "other", "second name"],
        }
    )
    counts = upsert(Lsoa2011, ["code"], ["sub_icb_code", "lad_code", "lad_name"], rows, create_fields=["name"])
    assert (counts.created, counts.updated, counts.unchanged) == (2, 1, 0)
    got = dict(Lsoa2011.objects.filter(code__startswith="E0199").values_list("code", "sub_icb_code"))
    assert got == {"E01999991": "00C", "E01999992": "00B"}
    assert Lsoa2011.objects.get(code="E01999991").name == "first name"


def test_update_only_never_creates_and_counts_the_unknown_keys():
    practice = Practice.objects.order_by("code").first()
    assert practice is not None
    rows = pl.DataFrame(
        {"code": [practice.code, "Z99999", "Z99999"], "lat": [51.5, 52.0, 52.0], "lon": [-0.1, 0.0, 0.0]}
    )
    counts = upsert(Practice, ["code"], ["lat", "lon"], rows, update_only=True)
    assert (counts.created, counts.not_found) == (0, 2)
    assert not Practice.objects.filter(code="Z99999").exists()
    practice.refresh_from_db()
    assert (practice.lat, practice.lon) == (51.5, -0.1)


def test_json_is_compared_as_canonical_text_so_an_unchanged_payments_year_is_not_rewritten():
    practice = Practice.objects.order_by("code").first()
    assert practice is not None
    PaymentsYear.objects.filter(financial_year="1999-00").delete()
    lines = {"Global Sum": 12345, "Aspiration Payment": -50}
    frame = pl.DataFrame(
        {"practice_id": [practice.pk], "fy": ["1999-00"], "total": [12295], "lines": [canonical_json(lines)]}
    )
    keys, fields = ["practice_id", "financial_year"], ["total_pence", "lines_pence"]
    assert upsert(PaymentsYear, keys, fields, frame, scope={"financial_year": "1999-00"}).created == 1
    assert PaymentsYear.objects.get(practice=practice, financial_year="1999-00").lines_pence == lines
    with CaptureQueriesContext(connection) as ctx:
        again = upsert(PaymentsYear, keys, fields, frame, scope={"financial_year": "1999-00"})
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert _writes(ctx) == []


def test_a_value_that_does_not_fit_the_column_type_is_refused_not_truncated():
    PracticeLineage.objects.all().delete()
    bad = pl.DataFrame({"pred": ["A00001"], "succ": ["B00001"], "absorbed": ["not a date"]})
    with pytest.raises(pl.exceptions.InvalidOperationError):
        upsert(PracticeLineage, ["predecessor_code"], ["successor_code", "absorbed"], bad)
    assert _links() == []
