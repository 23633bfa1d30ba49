"""What a funding line may pay for: the one rule every approval, cohort and optimiser plan asks.

A line lists the menu offers it funds (``FundingLine.offer_codes``). A line that lists none funds every offer on its
programme's menu, which is how programmes set up before lines named their offers keep working.
"""

from __future__ import annotations

from collections.abc import Iterable

from apps.funding.models import FundingLine, LineAccess, VirementRule


def funds_offer(line: FundingLine, offer_code: str, offer_programme: str) -> bool:
    """True if ``line`` may pay for the offer ``offer_code`` (whose menu is ``offer_programme``)."""
    if line.offer_codes:
        return offer_code in line.offer_codes
    return offer_programme == line.programme.menu


def offers_funded(line: FundingLine, menu: Iterable[tuple[str, str]]) -> list[str]:
    """The codes of the offers in ``menu`` (pairs of offer code and menu programme) that ``line`` may pay for."""
    return [code for code, programme in menu if funds_offer(line, code, programme)]


def is_universal(line: FundingLine) -> bool:
    """Universal money is open to any practice by expression of interest; targeted money needs a support case."""
    return line.access == LineAccess.UNIVERSAL


def virement_refusal(source: FundingLine, dest: FundingLine) -> str | None:
    """Why the programme's rule forbids moving money from ``source`` to ``dest``, or None when it allows it.

    The rule (``Programme.virement_rule``, set by the national team) governs moves between two lines of the same
    programme; a move within one line (between ICBs) is always a matter for the national team's decision alone."""
    if source.programme_id != dest.programme_id or source.pk == dest.pk:
        return None
    rule = source.programme.virement_rule
    if rule == VirementRule.NONE:
        return f"{source.programme.code} keeps money on its line: it cannot move from {source.name} to {dest.name}"
    if rule == VirementRule.SAME_ACCESS and source.access != dest.access:
        return (
            f"{source.programme.code} moves money only between lines of the same kind: {source.name} is "
            f"{source.get_access_display().split(':')[0].lower()} and {dest.name} is "
            f"{dest.get_access_display().split(':')[0].lower()}"
        )
    return None
