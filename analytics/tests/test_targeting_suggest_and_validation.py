"""Group package suggestions, and the dispersal back-test on the shipped national files."""

from __future__ import annotations

import math

import pytest

from analytics.menu.offers import load_menu
from analytics.targeting.dispersal import DispersalParams, Thresholds, disperse
from analytics.targeting.suggest import suggest_group
from analytics.tests.targeting_support import line_table, offer


def test_group_package_names_the_practice_and_its_most_exposed_neighbours_first() -> None:
    t = line_table([0, 1, 2, 3], [3000, 1000, 1000, 20000], [1, 1, 1, 10])
    p = DispersalParams(cap_share=1.0, thresholds=Thresholds(gp=1500.0, clinical=None))
    pkg = suggest_group(disperse(t, "P0", p), load_menu(), pressure=82.0, max_neighbours=2)
    assert pkg.members[0].code == "P0" and pkg.members[0].role == "struggling practice"
    assert pkg.members[1].crosses  # the neighbour pushed over the threshold comes first
    assert len(pkg.members) == 3
    assert "82/100" in pkg.members[0].why


def test_group_lines_are_the_menus_group_offers_priced_for_the_group() -> None:
    menu = [offer("solo", 10_000, 1, 0.5), offer("shared", 9_000, 1, 0.04, group=True, standard_units=4, max_units=40)]
    t = line_table([0, 1, 2], [1000, 1000, 1000], [1, 1, 1])
    pkg = suggest_group(disperse(t, "P0", DispersalParams(cap_share=1.0)), menu)
    assert [line.offer_code for line in pkg.lines] == ["shared"]
    units = math.ceil(4 * (1 + 0.5 * (len(pkg.members) - 1)))
    assert pkg.lines[0].units == units
    assert pkg.total_pence == units * 9_000


def test_back_test_reports_every_snapshot_window_honestly() -> None:
    from analytics.national import load_national
    from analytics.targeting.table import load_locations
    from analytics.targeting.validation import validate
    from analytics.tests.support import real_file

    real_file("locations")
    result = validate(load_national(), load_locations())
    assert len(result.windows) == 2
    for w in result.windows:
        assert w.closures > 20
        assert w.exposed > 0
        assert [e.model for e in w.errors] == ["gravity model", "nothing changes (predict 0)", "nearest takes all"]
        assert w.predicted_total <= w.closing_patients + 1e-6
    assert "MAE" in result.as_text()


@pytest.mark.parametrize("bad", [{"max_distance_km": 0.0}, {"cap_share": 3.0}, {"decay_scale_km": -1.0}])
def test_bad_dispersal_parameters_are_refused_by_name(bad: dict[str, float]) -> None:
    assert set(DispersalParams(**bad).problems()) == set(bad)  # type: ignore[arg-type]
