"""The dispersal map colours a practice by the fifth of England's open practices its score falls in, whatever the
score's scale (the deployed index is a chance of closure of a few per cent)."""

import math

import numpy as np

from apps.targeting.maps import BANDS, band_colour, percentiles


def test_percentiles_spread_small_scores_over_every_band():
    scores = np.array([0.2, 0.5, 0.9, 1.4, 2.0, 3.1, 4.4, 6.0, 9.5, 30.0, np.nan])
    pct = percentiles(scores)
    assert math.isnan(pct[-1]) and pct[0] == 0.0 and pct[-2] == 100.0
    assert {band_colour(p) for p in pct[:-1]} == {b[2] for b in BANDS}
    assert list(pct[:-1]) == sorted(pct[:-1])


def test_no_score_is_grey_and_ties_stay_in_order():
    assert band_colour(float("nan")) == "#aeb7bd"
    assert list(percentiles(np.array([1.0, 1.0, 2.0]))) == [0.0, 50.0, 100.0]
