"""Walk every URL pattern as every persona. A new URL without an entry in EXPECTED fails this test.

Today's pages show national open data, which any signed-in user may read; the import log is for the national
and ICB teams. Later apps add their confidential pages here, with who may see what.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from apps.core.testing import ICB_A, ICB_B, PERSONA_NAMES

pytestmark = pytest.mark.django_db

SIGNED_IN = set(PERSONA_NAMES)
PUBLIC = {"core:start", "core:health", "accounts:login", "funding:spend", "funding:spend_json", "funding:spend_xlsx"}
# url name -> (args, personas that get 200; every other signed-in persona gets 403, anonymous goes to sign-in)
EXPECTED: dict[str, tuple[tuple[str, ...], set[str]]] = {
    "core:start": ((), {"anonymous"}),  # signed-in users are sent on to their home page
    "core:home": ((), SIGNED_IN),
    "core:health": ((), SIGNED_IN | {"anonymous"}),
    "accounts:login": ((), {"anonymous"}),  # signed-in users are redirected away
    "accounts:logout": ((), SIGNED_IN),
    "practices:search": ((), SIGNED_IN),
    "practices:detail": (("A81001",), SIGNED_IN),
    "practices:icb_list": ((), SIGNED_IN),
    "practices:icb_detail": ((ICB_B,), SIGNED_IN),
    "practices:pcn_detail": (("U89141",), SIGNED_IN),
    "datasets:sources": ((), SIGNED_IN),
    "datasets:logs": ((), {"national", "icb_a", "icb_b"}),
    # Watch lists name practices of concern: the ICB's own team only; the national team sees counts.
    "indicators:watch_home": ((), {"national"}),  # ICB users are redirected to their own list
    "indicators:watch_list": ((ICB_A,), {"icb_a"}),
    "indicators:watch_practice": ((ICB_A, "A81001"), {"icb_a"}),
    "indicators:definitions": ((), SIGNED_IN),
    "indicators:backtest": ((), {"national", "icb_a", "icb_b"}),
    "indicators:runs": ((), {"national", "icb_a", "icb_b"}),
    # Money: the national team sets up, allocates and releases and sees every ICB's totals; an ICB's team sees and
    # acts on its own budget; practices, providers and LMCs see no budget pages. Published spend is public.
    "funding:dashboard": ((), {"national"}),  # ICB users are redirected to their own budget
    "funding:programme_new": ((), {"national"}),
    "funding:programme": (("GPRP",), {"national"}),
    "funding:allocate": (("GPRP", "core"), {"national"}),
    "funding:release": (("GPRP", "core"), {"national"}),
    "funding:icb_budget": ((ICB_A,), {"national", "icb_a"}),
    "funding:payments": ((ICB_A,), {"icb_a"}),
    "funding:ledger": ((), {"national", "icb_a", "icb_b"}),
    "funding:virements": ((), {"national", "icb_a", "icb_b"}),
    "funding:spend": ((), SIGNED_IN | {"anonymous"}),
    "funding:spend_json": ((), SIGNED_IN | {"anonymous"}),
    "funding:spend_xlsx": ((), SIGNED_IN | {"anonymous"}),
}
REDIRECTS = {
    ("indicators:watch_home", "icb_a"),
    ("indicators:watch_home", "icb_b"),
    ("funding:dashboard", "icb_a"),
    ("funding:dashboard", "icb_b"),
}


def _names(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    resolver = resolver or get_resolver()
    out = []
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            ns = f"{prefix}{p.namespace}:" if p.namespace else prefix
            out += _names(p, ns)
        elif isinstance(p, URLPattern) and p.name:
            out.append(f"{prefix}{p.name}")
    return out


def test_every_url_has_an_expectation():
    assert set(_names()) == set(EXPECTED), "add the new URL to EXPECTED with who may see it"


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("persona", ["anonymous", *PERSONA_NAMES])
def test_url_as_persona(client_for, name, persona):
    args, allowed = EXPECTED[name]
    url = reverse(name, args=args)
    response = client_for(persona).get(url)
    if (name, persona) in REDIRECTS:
        own = ICB_A if persona == "icb_a" else ICB_B
        assert response.status_code == 302 and f"/{own}/" in response["Location"], (name, persona)
    elif persona in allowed:
        assert response.status_code == 200, (name, persona, response.status_code)
    elif persona == "anonymous":
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], (name, response)
    elif name in PUBLIC:
        assert response.status_code == 302  # e.g. the start page sends signed-in users home
    else:
        assert response.status_code == 403, (name, persona, response.status_code)


def test_unknown_practice_is_404_for_everyone_signed_in(client_for):
    assert client_for("icb_a").get(reverse("practices:detail", args=["ZZ9999"])).status_code == 404


def test_icb_a_user_sees_the_other_icb_register_because_it_is_open_data(client_for):
    """Register data is published nationally; confidential case data is what ICB scoping protects."""
    response = client_for("icb_a").get(reverse("practices:icb_detail", args=[ICB_B]))
    assert response.status_code == 200
    assert ICB_A not in response.content.decode().split("<main")[1][:200]


def test_forbidden_page_explains_in_plain_words(client_for):
    response = client_for("practice_x").get(reverse("datasets:logs"))
    assert response.status_code == 403
    assert "You do not have access to this page" in response.content.decode()


def test_not_found_page_is_styled_and_offers_search(client_for):
    response = client_for("icb_a").get("/no-such-page/")
    assert response.status_code == 404
    assert "search for the practice" in response.content.decode()
