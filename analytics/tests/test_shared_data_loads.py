"""Every registry file still parses from both copies the service may be pointed at (``NATIONAL_DATA_DIR``): the
shipped ``data/national`` and the team's shared data folder, when it is present on this machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.ingest.parsers import PARSERS
from analytics.national import NATIONAL_DIR, source_paths

SHARED = Path("/work/shared/data")
ROOTS = [NATIONAL_DIR, *([SHARED] if SHARED.is_dir() else [])]
PATHS = source_paths()


@pytest.mark.parametrize("root", ROOTS, ids=[r.name for r in ROOTS])
@pytest.mark.parametrize("dataset", sorted(PATHS))
def test_every_registry_file_parses_with_rows_and_a_period(dataset: str, root: Path) -> None:
    path = root / PATHS[dataset]
    if not path.exists():
        pytest.skip(f"{path} is not in this copy")
    parsed = PARSERS[dataset](path)
    assert parsed.rows_read > 0 and parsed.period
    # the shipped files are clean: a skip or a blanked value here would be a parser regression, not bad data
    assert len(parsed.skipped) <= 0.02 * parsed.rows_read, parsed.skip_reasons()
    assert len(parsed.cleared) <= 0.02 * parsed.rows_read, parsed.cleared[:5]
