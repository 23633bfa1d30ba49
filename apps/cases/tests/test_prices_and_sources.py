"""Issue 17 §5: every menu price and effect says where it comes from (a source, or a local estimate with who set it
and when); an ICB sets its own prices as new attributed rows, the newest in force, and the package builder prices
from it (``apps.cases.services.prices.price_for``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from analytics.menu.offers import MENU_TOML, load_menu, source_label, validate_menu
from apps.cases import services
from apps.cases.models import Case, LocalPrice, SupportOffer
from apps.core.models import AuditRecord

from .conftest import this_year

pytestmark = pytest.mark.django_db


def test_every_offer_in_the_menu_names_the_source_of_its_price_and_effect():
    offers = load_menu()
    assert all(o.price_source and o.effect_source for o in offers)
    by_code = {o.code: o for o in offers}
    # The one published price is given as a source; the day rates are labelled as estimates with who and when.
    assert by_code["gpdp-reception-training"].price_label.startswith("source: NHS England board, July 2016")
    assert by_code["gprp-coaching"].price_label.startswith(
        "local estimate set by the service's menu maintainers on 23 November 2026"
    )


def test_validate_menu_refuses_a_figure_without_a_source_or_with_an_estimate_that_names_no_one(tmp_path: Path):
    text = MENU_TOML.read_text(encoding="utf-8")
    first_price = text.index('price_source = "')
    end = text.index("\n", first_price)
    bad = text[:first_price] + 'price_source = "local estimate: guessed"' + text[end:]
    first_effect = bad.index('effect_source = "')
    end = bad.index("\n", first_effect)
    bad = bad[:first_effect] + 'effect_source = ""' + bad[end:]
    path = tmp_path / "offers.toml"
    path.write_text(bad, encoding="utf-8")
    problems = validate_menu(path)
    assert "offer gprp-diagnostic: price_source must read 'local estimate by <who> on <YYYY-MM-DD>: <why>'" in problems
    assert any(p.startswith("offer gprp-diagnostic: effect_source must name its source") for p in problems)


def test_the_menu_sync_carries_the_sources_to_the_offers():
    coaching = SupportOffer.objects.get(code="gprp-coaching")
    assert coaching.price_source.startswith("local estimate by")
    assert source_label(coaching.effect_source).startswith("local estimate set by")


def test_price_for_is_the_menu_price_until_the_icb_sets_its_own_and_then_the_newest(personas: dict[str, Any]):
    icb_a, icb_b = personas["icb_a"], personas["icb_b"]
    coaching = SupportOffer.objects.get(code="gprp-coaching")
    assert services.price_for(coaching, icb_a.icb) == (coaching.unit_cost_pence, source_label(coaching.price_source))

    services.set_local_price(icb_a, icb_a.icb, coaching, 27_500, "Quote from the local provider")
    services.set_local_price(icb_a, icb_a.icb, coaching, 26_000, "Contract signed in March")

    pence, label = services.price_for(coaching, icb_a.icb)
    assert pence == 26_000 and "local price set by" in label and "(Contract signed in March)" in label
    assert services.price_for(coaching, icb_b.icb)[0] == coaching.unit_cost_pence  # another ICB: the menu's
    assert LocalPrice.objects.filter(icb=icb_a.icb, offer=coaching).count() == 2  # the old price is kept
    assert AuditRecord.objects.filter(model="cases.LocalPrice").count() >= 2
    with pytest.raises(ValueError, match="immutable"):
        LocalPrice.objects.filter(icb=icb_a.icb).first().save()  # type: ignore[union-attr]


def test_only_the_icbs_own_team_sets_its_price(personas: dict[str, Any]):
    coaching = SupportOffer.objects.get(code="gprp-coaching")
    for who in ("icb_b", "national", "practice_x"):
        with pytest.raises(services.CaseError, match="Only the ICB's own team"):
            services.set_local_price(personas[who], personas["icb_a"].icb, coaching, 100, "A price of our own")
    assert not LocalPrice.objects.exists()


def test_the_package_builder_prices_from_the_icbs_local_price(personas: dict[str, Any], agreed_x: Case):
    icb = personas["icb_a"]
    coaching = SupportOffer.objects.get(code="gprp-coaching")
    services.set_local_price(icb, icb.icb, coaching, 21_000, "Framework rate agreed with the provider")
    starts, ends = this_year()
    pkg = services.build_package(icb, agreed_x, [services.LineInput("gprp-coaching", 2)], [], starts, ends)
    line = pkg.lines.get()
    assert (line.unit_cost_pence, line.total_pence) == (21_000, 42_000)


def test_the_local_price_page_sets_a_price_and_refuses_bad_input_keeping_it(client_for, personas: dict[str, Any]):
    c = client_for("icb_a")
    url = reverse("cases:local_price", args=["gprp-coaching"])
    refused = c.post(url, {"price": "twelve", "reason": "short"})
    page = refused.content.decode()
    assert refused.status_code == 400
    assert 'id="price-error"' in page and 'id="reason-error"' in page  # both problems at once
    assert 'value="twelve"' in page and ">short</textarea>" in page
    assert not LocalPrice.objects.exists()

    done = c.post(url, {"price": "£275.00", "reason": "Quote from the local provider"})
    assert done.status_code == 302
    menu = c.get(reverse("cases:menu")).content.decode()
    assert "£275.00 per session" in menu and "local price set by" in menu
    assert "Quote from the local provider" in menu
    assert "local estimate set by the service&#39;s menu maintainers" in menu or "local estimate set by" in menu


def test_the_menu_shows_sources_to_everyone_and_the_local_price_link_only_to_icb_teams(client_for):
    page = client_for("practice_x").get(reverse("cases:menu")).content.decode()
    assert "source: NHS England board, July 2016" in page and "local estimate set by" in page
    assert "local-price" not in page
    assert client_for("practice_x").get(reverse("cases:local_price", args=["gprp-coaching"])).status_code == 403
