"""Did support work: matched comparisons, outcomes only once observable, "not enough data yet" below the minimum."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from analytics.disappearances import LABELS_FILE
from analytics.history import History, load_history_files
from analytics.national import NATIONAL_DIR
from analytics.support_eval import MIN_EVALUABLE, OUTCOMES, evaluate


@pytest.fixture(scope="module")
def history() -> History:
    if not (NATIONAL_DIR / LABELS_FILE).exists():
        pytest.skip("history files not shipped in this checkout")
    return load_history_files()


def _supported(history: History, start: date, n: int) -> pl.DataFrame:
    codes = (
        history.workforce.filter(pl.col("fy_end_year") == start.year - 1)
        .sort("practice_code")
        .get_column("practice_code")
        .head(n)
        .to_list()
    )
    return pl.DataFrame({"practice_code": codes, "start": [start] * len(codes)})


def test_with_follow_up_data_every_outcome_is_compared(history: History) -> None:
    result = evaluate(history, _supported(history, date(2021, 4, 1), MIN_EVALUABLE + 2))
    assert result.supported == MIN_EVALUABLE + 2 and result.matched >= MIN_EVALUABLE
    by = {o.outcome: o for o in result.outcomes}
    assert set(by) == set(OUTCOMES)
    for o in by.values():
        assert o.enough and o.difference is not None and o.comparison_n >= o.supported_n
        assert o.verdict.startswith("difference")
    assert 0 <= (by["closed within 24 months"].supported_mean or 0) <= 1


def test_support_too_recent_to_follow_up_says_not_enough_data_yet(history: History) -> None:
    result = evaluate(history, _supported(history, date(2025, 1, 15), MIN_EVALUABLE + 2))
    assert all(not o.enough and o.difference is None for o in result.outcomes)
    assert all(o.verdict.startswith("not enough data yet") for o in result.outcomes)
    assert "not enough data yet" in result.as_text()


def test_no_supported_practice_gives_an_empty_evaluation(history: History) -> None:
    empty = pl.DataFrame(schema={"practice_code": pl.Utf8, "start": pl.Date})
    result = evaluate(history, empty)
    assert (result.supported, result.matched) == (0, 0)
    assert all(o.supported_n == 0 and not o.enough for o in result.outcomes)
