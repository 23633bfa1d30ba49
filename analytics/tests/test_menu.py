"""The menu of support file: the shipped one loads, and a broken one is refused with every problem named."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.menu.offers import MenuError, load_menu, validate_menu


def test_the_shipped_menu_is_valid_and_has_both_programmes() -> None:
    assert validate_menu() == []
    offers = load_menu()
    assert {o.programme for o in offers} == {"GPRP", "GPDP"}
    assert len({o.code for o in offers}) == len(offers)
    it = next(o for o in offers if o.code == "gprp-it-advice")
    assert any("hardware" in x for x in it.not_fundable)
    reception = next(o for o in offers if o.code == "gpdp-reception-training")
    assert reception.unit_cost_pence == 18 and reception.unit_basis == "patients"


def test_per_patient_offers_take_their_units_from_the_list_size() -> None:
    reception = next(o for o in load_menu() if o.code == "gpdp-reception-training")
    assert reception.units_for(1, patients=8123, weighted_patients=None) == 8123
    with pytest.raises(ValueError, match="no list size"):
        reception.units_for(1, patients=None, weighted_patients=None)


def test_a_broken_menu_names_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "offers.toml"
    bad.write_text(
        '[[offer]]\ncode = "x"\nprogramme = "NOPE"\nunit_cost_pence = -1\n\n[[offer]]\ncode = "x"\n', encoding="utf-8"
    )
    problems = validate_menu(bad)
    assert any("missing heading" in p for p in problems)
    assert any("code used twice" in p for p in problems)
    with pytest.raises(MenuError):
        load_menu(bad)
