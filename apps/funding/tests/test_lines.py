"""The one rule of what a funding line may pay for (apps.funding.lines)."""

from apps.funding.lines import funds_offer, is_universal, offers_funded
from apps.funding.models import FundingLine, LineAccess, Programme

MENU = [("gprp-diagnostic", "GPRP"), ("gprp-coaching", "GPRP"), ("gpdp-pm-development", "GPDP")]


def test_a_line_that_names_its_offers_funds_only_those() -> None:
    line = FundingLine(programme=Programme(menu="GPRP"), offer_codes=["gprp-coaching", "gpdp-pm-development"])
    assert offers_funded(line, MENU) == ["gprp-coaching", "gpdp-pm-development"]
    assert not funds_offer(line, "gprp-diagnostic", "GPRP")


def test_a_line_that_names_none_funds_its_programmes_menu() -> None:
    line = FundingLine(programme=Programme(menu="GPDP"), offer_codes=[])
    assert offers_funded(line, MENU) == ["gpdp-pm-development"]


def test_targeted_is_the_default_and_universal_is_said() -> None:
    assert not is_universal(FundingLine(programme=Programme(menu="GPRP")))
    assert is_universal(FundingLine(programme=Programme(menu="GPDP"), access=LineAccess.UNIVERSAL))
