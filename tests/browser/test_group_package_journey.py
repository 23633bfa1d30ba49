"""A group package across an ICB border, each step found from "Waiting for me": the ICB team builds it from the
suggested neighbours (one in the same ICB, one across the border), each covered practice accepts its share, the ICB
across the border approves its share from its own budget, and the lead ICB approves the package. Each page passes
axe and does not scroll sideways at 390 and 1280 px (screenshots of both widths are kept)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from apps.accounts.demo import DEMO_PASSWORD
from tests.browser.conftest import assert_accessible, follow, sign_in, sign_out
from tests.browser.test_team_journey import check_layout

pytestmark = pytest.mark.browser


@pytest.fixture
def border_case(django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """A North East and North Cumbria practice on the ICB border with an agreed plan, the neighbours the builder
    will suggest (one in its ICB, one across the border), and demo logins for them and the other ICB's team."""
    from apps.accounts.models import Role, TeamRole, User
    from apps.cases import services
    from apps.cases.models import Case, Route
    from apps.cases.tests.conftest import plan_goals
    from apps.practices.models import Practice, PracticeStatus

    def login(username: str, **kw: Any) -> User:
        user = User.objects.filter(username=username).first() or User(username=username, **kw)
        user.set_password(DEMO_PASSWORD)  # hashed with this run's hasher
        user.save()
        return user

    with django_db_blocker.unblock():
        icb = login("icb-a")
        busy = set(Case.objects.open().values_list("practice_id", flat=True))
        for lead in (
            Practice.objects.filter(icb=icb.icb, status=PracticeStatus.ACTIVE)
            .exclude(pk__in=busy)
            .order_by("code")[:200]
        ):
            near = services.neighbours_of(lead)[:8]
            across = [n for n in near if n.icb_code != icb.icb.code]
            inside = [n for n in near if n.icb_code == icb.icb.code]
            if across and inside:
                break
        else:
            pytest.fail("no practice of ICB A has a suggested neighbour across the border")
        other = Practice.objects.get(code=across[0].code)
        same = Practice.objects.get(code=inside[0].code)
        lead_user = login(f"practice-{lead.code.lower()}", role=Role.PRACTICE, practice=lead, team_role=TeamRole.LEAD)
        login(f"practice-{same.code.lower()}", role=Role.PRACTICE, practice=same, team_role=TeamRole.LEAD)
        login(f"practice-{other.code.lower()}", role=Role.PRACTICE, practice=other, team_role=TeamRole.LEAD)
        login("icb-across", role=Role.ICB, icb=other.icb, team_role=TeamRole.LEAD, first_name="Ada", last_name="Border")
        case, _ = services.refer(lead_user, lead, Route.SELF, services.ReferralInput("Two partners are retiring."))
        services.triage(icb, case, "high", "medium", "Workforce gap the menu can address")
        services.save_plan(lead_user, case, plan_goals())
        services.agree_plan(lead_user, case)
    yield {"case": case, "same": same, "other": other}


def _accept_from_waiting(page: Any, username: str, ref: str, name: str) -> None:
    sign_in(page, username, DEMO_PASSWORD)
    follow(page, page.get_by_role("link", name="Waiting for me").first)
    item = page.get_by_role("listitem").filter(has_text="Group share to accept")
    follow(page, item.get_by_role("link", name=ref))
    check_layout(page, f"group-share-{name}")
    assert_accessible(page)
    page.get_by_label("Accept our share").check()
    follow(page, page.get_by_role("button", name="Record our decision"))
    expect(page.get_by_text("Accepted", exact=False).first).to_be_visible()
    sign_out(page)


def test_an_icb_builds_a_group_package_across_the_border_and_every_share_is_settled(page: Any, border_case) -> None:
    case, same, other = border_case["case"], border_case["same"], border_case["other"]
    ref = f"{case.ref}/PKG-1"

    # The ICB team builds the package from the suggested neighbours: one in its ICB, one across the border.
    sign_in(page, "icb-a", DEMO_PASSWORD)
    page.goto(f"/cases/{case.pk}/")
    follow(page, page.get_by_role("link", name="Build the package"))
    suggested = page.locator("table#member")
    expect(suggested.get_by_text("Another ICB").first).to_be_visible()
    page.get_by_label("How many days of Change management and improvement support").fill("four")
    page.locator(f"#member-{same.code}").check()
    page.locator(f"#share-{same.code}").fill("150")
    follow(page, page.get_by_role("button", name="Price the package"))
    summary = page.locator(".nhsuk-error-summary")  # every error at once, each beside its box
    expect(summary).to_contain_text("whole number")
    expect(summary).to_contain_text("above 0 and below 100")
    check_layout(page, "group-builder-errors")
    page.get_by_label("How many days of Change management and improvement support").fill("4")
    page.locator(f"#share-{same.code}").fill("")
    page.locator(f"#member-{other.code}").check()
    follow(page, page.get_by_role("button", name="Price the package"))
    expect(page.get_by_text("Priced: £2,800.00")).to_be_visible()
    check_layout(page, "group-builder")
    assert_accessible(page)
    follow(page, page.get_by_role("button", name="Price and submit for approval"))
    expect(page.get_by_text("sent for approval")).to_be_visible()
    sign_out(page)

    # Each covered practice finds its share on "Waiting for me" and accepts it.
    _accept_from_waiting(page, f"practice-{same.code.lower()}", ref, "same-icb")
    _accept_from_waiting(page, f"practice-{other.code.lower()}", ref, "across")

    # The ICB across the border approves its share from its own budget.
    sign_in(page, "icb-across", DEMO_PASSWORD)
    follow(page, page.get_by_role("link", name="Waiting for me").first)
    item = page.get_by_role("listitem").filter(has_text="Share to approve")
    follow(page, item.get_by_role("link", name=ref))
    check_layout(page, "group-share-icb")
    assert_accessible(page)
    page.get_by_label("Approve").check()
    page.get_by_role("group", name="Paid from (for an approval)").get_by_role("radio").first.check()
    follow(page, page.get_by_role("button", name="Record the decision"))
    expect(page.get_by_role("cell", name="Approved by its ICB", exact=False)).to_be_visible()
    sign_out(page)

    # The lead ICB now has the package to approve, and approves it.
    sign_in(page, "icb-a", DEMO_PASSWORD)
    follow(page, page.get_by_role("link", name="Waiting for me").first)
    item = page.get_by_role("listitem").filter(has_text="Approve or refuse the package")
    follow(page, item.get_by_role("link", name=case.ref))
    follow(page, page.get_by_role("link", name="Where each share stands"))
    check_layout(page, "group-shares-lead")
    assert_accessible(page)
    page.go_back()
    follow(page, page.get_by_role("link", name="Approve or refuse"))
    page.get_by_label("Approve").check()
    page.get_by_role("group", name="Paid from (for an approval)").get_by_role("radio").first.check()
    follow(page, page.get_by_role("button", name="Record the decision"))
    expect(page.locator("[aria-current=step]")).to_have_text("Package approved")
    assert not page.js_errors
