"""Issue 17 §1: an ICB may move money between lines of the same programme only within the programme's rule
(``Programme.virement_rule``: none, same kind of line, any), checked when asked and again when approved."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.money import financial_year_of
from apps.core.models import AuditRecord
from apps.funding import services
from apps.funding.errors import FundingError
from apps.funding.models import Budget, LedgerEntry, LineAccess, Virement, VirementRule
from apps.funding.tests.conftest import POUND, allocate_to
from apps.pages.testing import ICB_A

pytestmark = pytest.mark.django_db


def budgets(national: Any, rule: str) -> dict[str, Budget]:
    """A programme with two targeted lines and a universal one, each £10,000 for ICB A this year, all released."""
    fy = financial_year_of(timezone.localdate())
    programme = services.create_programme(
        user=national,
        code=f"VR-{rule}"[:30].replace("_", "-"),
        name="Virement rule test",
        menu="GPRP",
        virement_rule=rule,
        lines=[
            services.LineSpec(code, code.title(), "CC1", "5210", {fy: 10_000 * POUND}, None, (), access)
            for code, access in (
                ("diag", LineAccess.TARGETED),
                ("coach", LineAccess.TARGETED),
                ("open", LineAccess.UNIVERSAL),
            )
        ],
    )
    found = {}
    for line in programme.lines.all():
        allocate_to(national, line, {ICB_A: 1})
        services.release_tranche(user=national, line=line, fy=fy, amount_pence=line.total_pence, note="All")
        found[line.code] = Budget.objects.select_related("line__programme", "icb").get(line=line)
    return found


def ask(user: Any, source: Budget, dest: Budget) -> Virement:
    return services.request_virement(
        from_budget=source, to_budget=dest, amount_pence=1_000 * POUND, reason="Coaching is oversubscribed", user=user
    )


def test_same_kind_moves_between_targeted_lines_and_is_approved(personas):
    b = budgets(personas["national"], VirementRule.SAME_ACCESS)
    v = ask(personas["icb_a"], b["diag"], b["coach"])
    services.approve_virement(virement=v, user=personas["national"])
    assert b["coach"].balance().released == 11_000 * POUND and b["diag"].balance().released == 9_000 * POUND
    assert sorted(LedgerEntry.objects.filter(virement=v).values_list("amount_pence", flat=True)) == [
        -1_000 * POUND,
        1_000 * POUND,
    ]
    assert AuditRecord.objects.filter(model="funding.Virement", object_pk=str(v.pk)).exists()


def test_same_kind_refuses_targeted_money_moving_to_a_universal_line_and_says_why(personas):
    b = budgets(personas["national"], VirementRule.SAME_ACCESS)
    with pytest.raises(FundingError) as refused:
        ask(personas["icb_a"], b["diag"], b["open"])
    assert "moves money only between lines of the same kind: Diag is targeted and Open is universal" in str(
        refused.value
    )
    assert refused.value.problems[0].field == "to_budget"
    assert not Virement.objects.filter(from_budget=b["diag"]).exists()


def test_none_keeps_money_on_its_line(personas):
    b = budgets(personas["national"], VirementRule.NONE)
    with pytest.raises(FundingError, match="keeps money on its line: it cannot move from Diag to Coach"):
        ask(personas["icb_a"], b["diag"], b["coach"])


def test_any_moves_between_any_lines(personas):
    b = budgets(personas["national"], VirementRule.ANY)
    services.approve_virement(virement=ask(personas["icb_a"], b["diag"], b["open"]), user=personas["national"])
    assert b["open"].balance().released == 11_000 * POUND


def test_approval_checks_the_rule_in_force_then(personas):
    b = budgets(personas["national"], VirementRule.ANY)
    v = ask(personas["icb_a"], b["diag"], b["coach"])
    programme = b["diag"].line.programme
    programme.virement_rule = VirementRule.NONE
    programme.save()
    with pytest.raises(FundingError, match=r"Not approved: .* keeps money on its line"):
        services.approve_virement(virement=v, user=personas["national"])
    v.refresh_from_db()
    assert v.status == Virement.Status.REQUESTED and not LedgerEntry.objects.filter(virement=v).exists()


def test_the_national_team_changes_the_rule_on_its_page_audited(client_for, personas):
    b = budgets(personas["national"], VirementRule.ANY)
    programme = b["diag"].line.programme
    url = reverse("funding:programme_virement_rule", args=[programme.code])
    refused = client_for("national").post(url, {"rule": "sideways"})
    assert refused.status_code == 400 and "Choose whether money may move" in refused.content.decode()
    assert client_for("icb_a").post(url, {"rule": "none"}).status_code == 403
    programme.refresh_from_db()
    assert programme.virement_rule == VirementRule.ANY

    assert client_for("national").post(url, {"rule": "none"}).status_code == 302
    programme.refresh_from_db()
    assert programme.virement_rule == VirementRule.NONE
    assert AuditRecord.objects.filter(model="funding.Programme", object_pk=str(programme.pk)).exists()
    with pytest.raises(FundingError, match="keeps money on its line"):
        ask(personas["icb_a"], b["diag"], b["coach"])
