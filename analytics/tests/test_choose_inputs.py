"""The model's inputs are chosen on the training years alone: fitted on all but the latest, judged on the latest."""

from __future__ import annotations

import numpy as np
import polars as pl

from analytics.features import ALL_FEATURES
from analytics.model import CANDIDATES, choose_inputs


def _year(seed: int, n: int = 3000) -> tuple[pl.DataFrame, np.ndarray]:
    """A cohort where closure depends on list size only; every other input is noise."""
    rng = np.random.default_rng(seed)
    cols = {f: rng.normal(size=n) for f in ALL_FEATURES}
    logit = -4.0 - 2.0 * cols["log_list"]
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pl.DataFrame(cols), y


def test_a_set_is_chosen_by_the_latest_training_year_and_refitted_on_all() -> None:
    years = [_year(s) for s in (1, 2, 3)]
    model = choose_inputs([f for f, _ in years], [y for _, y in years])
    assert [name for name, _ in model.validation] == list(CANDIDATES)
    assert model.inputs == max(model.validation, key=lambda v: v[1])[0]
    assert model.features == CANDIDATES[model.inputs]
    assert model.training_rows == 9000  # refitted on every training year, not only the earlier ones
    assert abs(model.coef[model.features.index("log_list")]) > 1.0


def test_with_one_training_year_the_default_set_is_used_without_a_choice() -> None:
    frame, y = _year(7)
    model = choose_inputs([frame], [y])
    assert model.inputs == "indicators" and model.validation == ()
