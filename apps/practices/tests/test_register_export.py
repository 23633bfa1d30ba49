"""The register's download reads plain values (fast) and writes exactly what reading each practice's model did."""

from __future__ import annotations

from typing import Any

import pytest

from apps.practices.downloads import EXPORT_COLUMNS, export_rows
from apps.practices.models import Practice

pytestmark = pytest.mark.django_db


def _from_models(qs: Any) -> list[tuple[Any, ...]]:
    return [
        (
            p.code,
            p.name,
            p.get_status_display(),
            p.postcode,
            p.region.name if p.region else "",
            p.icb.code if p.icb else "",
            p.icb.name if p.icb else "",
            p.sub_icb.code if p.sub_icb else "",
            p.pcn.code if p.pcn else "",
            p.pcn.name if p.pcn else "",
            p.list_size,
            p.list_size_date,
            p.contract_type,
            p.rurality,
            p.dispensing,
            p.open_date,
            p.close_date,
        )
        for p in qs.select_related("region", "icb", "sub_icb", "pcn")
    ]


def test_every_practice_exports_as_its_model_reads() -> None:
    qs = Practice.objects.order_by("code")
    rows = export_rows(qs)
    assert rows == _from_models(qs)
    assert len(rows) > 6000 and all(len(r) == len(EXPORT_COLUMNS) for r in rows)
    # the national data has practices without a PCN or a region, and closed ones: blanks and labels, as before
    assert any(r[8] == "" for r in rows) and any(r[2] == "Closed" for r in rows)
