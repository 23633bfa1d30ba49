"""Every list page drawn with the table's kept cell plans (``DataTable.cell``, apps/core/tables.py) is the same page,
byte for byte, as drawn by django-tables2's own ``BoundRow.get_cell``: the plans only move per-cell set-up out of the
loop, they never change a cell."""

from __future__ import annotations

import re

import pytest

from apps.core.tables import DataTable
from apps.practices.models import Practice

pytestmark = pytest.mark.django_db

# (persona, path): every page that draws a table with the data_table macro, sorted several ways
PAGES = [
    ("icb_a", "/cases/?show=all"),
    ("icb_a", "/cases/?show=all&sort=-status"),
    ("icb_a", "/cases/?show=all&sort=triage"),
    ("national", "/practices/?q=surgery"),
    ("national", "/practices/?q=medical&sort=-list_size"),
    ("icb_a", "/icbs/QHM/"),
    ("icb_a", "/delivery/"),
    ("icb_a", "/money/icb/QHM/payments/"),
]


def _page(client, path: str) -> str:
    response = client.get(path, secure=True)
    assert response.status_code == 200, path
    html = response.content.decode()
    # the per-request parts: the script nonce and the form token
    html = re.sub(r'nonce="[^"]+"', "", html)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


@pytest.mark.parametrize(("persona", "path"), PAGES)
def test_a_list_page_is_the_same_with_kept_cell_plans_as_with_tables2_get_cell(client_for, monkeypatch, persona, path):
    client = client_for(persona)
    fast = _page(client, path)
    monkeypatch.setattr(DataTable, "cell", lambda self, row, column: row.get_cell(column.name))
    slow = _page(client, path)
    assert fast == slow
    rows = fast.count("<tr") - 1  # less the heading row
    assert rows >= 2, f"{path} shows {rows} rows: too few to compare"


def test_choices_are_shown_by_their_label_and_an_empty_value_by_the_default(personas):
    """The two branches of tables2's cell logic that a page's own ``render_`` methods can hide: a field with choices
    shows its label (``get_FOO_display``), and an empty value shows the table's default."""
    from apps.practices.tables import PracticeTable

    practice = Practice.objects.filter(pcn__isnull=True).first() or Practice.objects.first()
    assert practice is not None
    table = PracticeTable(Practice.objects.filter(pk=practice.pk))
    row = next(iter(table.rows))
    by_name = {c.name: c for c in table.visible_columns()}
    assert table.cell(row, by_name["status"]) == practice.get_status_display() != practice.status
    for name in by_name:
        assert table.cell(row, by_name[name]) == row.get_cell(name)
