"""Group packages people can build: the group chosen from suggested neighbours, shares by list size, each covered
practice accepting its part, and a practice across an ICB border whose own ICB approves its share."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from apps.accounts.models import Role, TeamRole, User
from apps.cases import services
from apps.cases.models import Case, Package, Route, ShareDecision, Status
from apps.cases.services.waiting import SHARE_TO_ACCEPT, SHARE_TO_APPROVE
from apps.funding.models import Commitment
from apps.practices.models import Practice

from .conftest import budget_for, plan_goals, this_year

pytestmark = pytest.mark.django_db

CROSS_LEAD = "A81005"  # in North East and North Cumbria; its neighbours include B82022, across the border


def _user(name: str, role: str, **kw: Any) -> User:
    return User.objects.create_user(username=f"t-{name}", password="x-test-password-1", role=role, **kw)


def _practice_user(p: Practice) -> User:
    return _user(f"pm-{p.code}", Role.PRACTICE, practice=p, team_role=TeamRole.LEAD)


def _near(case: Case, n: int, *, same_icb: bool = True) -> list[Practice]:
    codes = [x.code for x in services.neighbours_of(case.practice) if (x.icb_code == case.icb.code) == same_icb][:n]
    return [Practice.objects.get(code=c) for c in codes]


def _agreed(personas: dict[str, Any], case: Case, practice_user: User) -> Case:
    services.triage(personas["icb_a"], case, "high", "medium", "Workforce gap the menu can address")
    services.save_plan(practice_user, case, plan_goals())
    services.agree_plan(practice_user, case)
    case.refresh_from_db()
    return case


def _group_package(user: User, case: Case, practices: list[tuple[str, int | None]]) -> Package:
    starts, ends = this_year()
    lines = [services.LineInput("gprp-change-management", 4)]
    pkg = services.build_package(user, case, lines, practices, starts, ends)
    return services.submit_package(user, pkg)


def test_shares_default_to_list_size_and_a_given_share_stands(personas, triaged_x):
    a, b = _near(triaged_x, 2)
    lead = triaged_x.practice
    starts, ends = this_year()
    lines = [services.LineInput("gprp-change-management", 7)]
    pkg = services.build_package(
        personas["icb_a"], triaged_x, lines, [(lead.code, None), (a.code, None), (b.code, None)], starts, ends
    )
    bp = dict(pkg.practices.values_list("practice__code", "share_bp"))
    sizes = {p.code: p.list_size for p in (lead, a, b)}
    assert sum(bp.values()) == 10_000
    for code, share in bp.items():  # each within a basis point of its list-size proportion
        assert abs(share - 10_000 * sizes[code] / sum(sizes.values())) <= 1
    pkg = services.build_package(
        personas["icb_a"], triaged_x, lines, [(lead.code, 5000), (a.code, None), (b.code, None)], starts, ends
    )
    bp = dict(pkg.practices.values_list("practice__code", "share_bp"))
    assert bp[lead.code] == 5000 and bp[a.code] + bp[b.code] == 5000
    assert (bp[a.code] > bp[b.code]) == (a.list_size > b.list_size)


def test_the_builder_offers_the_neighbours_to_tick_and_reports_every_error_at_once(client_for, triaged_x):
    client = client_for("icb_a")
    url = reverse("cases:package", args=[triaged_x.pk])
    near = services.neighbours_of(triaged_x.practice)[:3]
    html = client.get(url).content.decode()
    for n in near:
        assert f'name="member" type="checkbox" value="{n.code}"' in html
        assert f'id="share-{n.code}"' in html
    assert 'name="member"' not in client_for("practice_x").get(url).content.decode()  # the ICB team's view only
    client = client_for("icb_a")
    starts, ends = this_year()
    form = {"starts": starts.isoformat(), "ends": ends.isoformat(), "action": "price"}
    bad = client.post(
        url,
        {**form, "units-gprp-change-management": "lots", "member": [near[0].code], f"share-{near[0].code}": "150"},
    )
    page = bad.content.decode()
    assert bad.status_code == 400
    assert "whole number" in page and "above 0 and below 100" in page  # both, each at its own box
    assert f'id="share-{near[0].code}-error"' in page and 'id="units-gprp-change-management-error"' in page
    assert f'value="{near[0].code}" checked' in page  # the tick is kept
    ok = client.post(url, {**form, "units-gprp-change-management": "4", "member": [near[0].code, near[1].code]})
    assert ok.status_code == 302
    pkg = triaged_x.packages.get(state=Package.State.DRAFT)
    assert sorted(pkg.practices.values_list("practice__code", flat=True)) == sorted(
        [triaged_x.practice.code, near[0].code, near[1].code]
    )
    again = client.get(url).content.decode()  # the draft comes back ticked, with its shares in the boxes
    assert f'value="{near[1].code}" checked' in again
    share = pkg.practices.get(practice__code=near[1].code).share_bp / 100
    assert f'name="share-{near[1].code}" inputmode="decimal" value="{share:g}"' in again


def test_each_covered_practice_accepts_its_share_before_the_package_can_be_approved(personas, client_for, agreed_x):
    icb = personas["icb_a"]
    (a,) = _near(agreed_x, 1)
    pa = _practice_user(a)
    pkg = _group_package(icb, agreed_x, [(agreed_x.practice.code, None), (a.code, None)])
    with pytest.raises(services.CaseError, match=f"waiting for {a.display_name} to accept"):
        services.approve_package(icb, pkg, "", budget_for(agreed_x))
    assert "Approve the package" not in {w.what for w in services.waiting_for(icb) if w.case == agreed_x}
    item = next(w for w in services.waiting_for(pa) if w.what == SHARE_TO_ACCEPT)
    assert item.href == reverse("cases:shares", args=[agreed_x.pk, pkg.number])
    assert SHARE_TO_ACCEPT not in {w.what for w in services.waiting_for(personas["practice_x"])}  # the lead's own
    with pytest.raises(services.CaseError, match="Only a practice covered"):
        services.decide_share(personas["practice_x"], pkg, True)
    services.decide_share(pa, pkg, True)
    assert SHARE_TO_ACCEPT not in {w.what for w in services.waiting_for(pa)}
    with pytest.raises(services.CaseError, match="already accepted"):
        services.decide_share(pa, pkg, True)
    services.approve_package(icb, pkg, "", budget_for(agreed_x))
    pkg.refresh_from_db()
    assert pkg.state == Package.State.APPROVED
    assert ShareDecision.objects.filter(package=pkg, practice=a, kind="accepted", by=pa).count() == 1
    assert agreed_x.events.filter(summary__contains="accepted its share").exists()


def test_a_declined_share_sends_the_package_back_to_share_again(personas, agreed_x):
    icb = personas["icb_a"]
    (a,) = _near(agreed_x, 1)
    pa = _practice_user(a)
    pkg = _group_package(icb, agreed_x, [(agreed_x.practice.code, None), (a.code, None)])
    with pytest.raises(services.CaseError, match="Say why") as refused:
        services.decide_share(pa, pkg, False, "no")
    assert refused.value.field == "reason"
    services.decide_share(pa, pkg, False, "Our partners have not agreed to shared sessions.")
    pkg.refresh_from_db()
    assert pkg.state == Package.State.DRAFT
    assert ShareDecision.objects.get(package=pkg, kind="declined").reason.startswith("Our partners")
    services.submit_package(icb, pkg)  # shared again as it was: asked again from scratch
    assert SHARE_TO_ACCEPT in {w.what for w in services.waiting_for(pa)}


def test_a_covered_practice_sees_the_package_but_not_the_case(personas, client_for, agreed_x):
    icb = personas["icb_a"]
    (a,) = _near(agreed_x, 1)
    pa = _practice_user(a)
    services.add_note(personas["practice_x"], agreed_x, "Partner off sick: do not share.", practice_confidential=True)
    pkg = _group_package(icb, agreed_x, [(agreed_x.practice.code, None), (a.code, None)])
    client = client_for("anonymous")
    client.force_login(pa)
    url = reverse("cases:shares", args=[agreed_x.pk, pkg.number])
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and "Accept our share" in html and a.display_name in html
    assert "Partner off sick" not in html and agreed_x.practice.display_name in html
    assert client.get(reverse("cases:detail", args=[agreed_x.pk])).status_code == 404
    assert client.post(url, {"decision": "decline", "reason": ""}).status_code == 400
    assert client.post(url, {"decision": "accept"}).status_code == 302
    for outsider in ("practice_y", "icb_b", "provider", "lmc", "national"):
        assert client_for(outsider).get(url).status_code == 404, outsider
    assert client_for("icb_a").get(url).status_code == 200  # the lead ICB follows the shares


@pytest.fixture
def cross(personas: dict[str, Any], referral: services.ReferralInput) -> dict[str, Any]:
    return cross_border_case(personas, referral)


def cross_border_case(personas: dict[str, Any], referral: services.ReferralInput) -> dict[str, Any]:
    """A case of a practice on the ICB border, its neighbour across it, and that ICB's team and practice users."""
    lead = Practice.objects.get(code=CROSS_LEAD)
    lead_user = _practice_user(lead)
    case, _ = services.refer(lead_user, lead, Route.SELF, referral)
    case = _agreed(personas, case, lead_user)
    (other,) = _near(case, 1, same_icb=False)
    assert other.icb is not None
    return {
        "case": case,
        "lead_user": lead_user,
        "other": other,
        "other_user": _practice_user(other),
        "other_icb": _user("icb-c", Role.ICB, icb=other.icb, team_role=TeamRole.LEAD),
        "other_icb_2": _user("icb-c2", Role.ICB, icb=other.icb, team_role=TeamRole.MEMBER),
    }


def test_a_practice_across_the_border_joins_and_each_icb_commits_its_own_share(personas, client_for, cross):
    icb, case, other = personas["icb_a"], cross["case"], cross["other"]
    pkg = _group_package(icb, case, [(case.practice.code, None), (other.code, None)])
    their_budget = max(services_budgets(other), key=lambda b: b.headroom_pence)
    with pytest.raises(services.CaseError, match="once it is accepted"):
        services.decide_icb_share(cross["other_icb"], pkg, True, "", their_budget)
    assert SHARE_TO_APPROVE not in {w.what for w in services.waiting_for(cross["other_icb"])}
    services.decide_share(cross["other_user"], pkg, True)
    assert SHARE_TO_APPROVE in {w.what for w in services.waiting_for(cross["other_icb"])}
    with pytest.raises(services.CaseError, match="to approve"):
        services.approve_package(icb, pkg, "", budget_for(case))
    with pytest.raises(services.CaseError, match="another ICB"):  # the lead ICB cannot spend the other's budget
        services.decide_icb_share(cross["other_icb"], pkg, True, "", budget_for(case))
    with pytest.raises(services.CaseError, match="Only the ICB team"):
        services.decide_icb_share(icb, pkg, True, "", their_budget)
    services.decide_icb_share(cross["other_icb"], pkg, True, "", their_budget)
    assert Commitment.objects.filter(reference__startswith=pkg.ref).count() == 0  # nothing committed yet
    assert SHARE_TO_APPROVE not in {w.what for w in services.waiting_for(cross["other_icb_2"])}
    lead_page = client_for("anonymous")
    lead_page.force_login(icb)
    html = lead_page.get(reverse("cases:shares", args=[case.pk, pkg.number])).content.decode()
    assert str(their_budget) not in html  # the lead ICB never sees the other ICB's budget
    services.approve_package(icb, pkg, "", budget_for(case))
    made = {c.budget.icb_id: c for c in Commitment.objects.filter(reference__startswith=pkg.ref)}
    shares = {pp.practice.icb_id: pp.share_pence for pp in pkg.practices.select_related("practice")}
    assert set(made) == {case.icb_id, other.icb_id}
    assert {k: c.amount_pence for k, c in made.items()} == shares
    assert made[other.icb_id].created_by == cross["other_icb"]  # attributed to the ICB that approved it


def test_a_refused_share_across_the_border_needs_a_reason_and_goes_back(personas, cross):
    icb, case, other = personas["icb_a"], cross["case"], cross["other"]
    pkg = _group_package(icb, case, [(case.practice.code, None), (other.code, None)])
    services.decide_share(cross["other_user"], pkg, True)
    with pytest.raises(services.CaseError, match="Say why") as refused:
        services.decide_icb_share(cross["other_icb"], pkg, False, "")
    assert refused.value.field == "note"
    services.decide_icb_share(cross["other_icb"], pkg, False, "Our budget is committed to our own practices.")
    pkg.refresh_from_db()
    assert pkg.state == Package.State.DRAFT and case.status == Status.PLAN_AGREED
    assert ShareDecision.objects.get(package=pkg, kind="refused").icb_id == other.icb_id


def test_a_practice_across_the_border_that_is_not_a_neighbour_cannot_join(personas, cross):
    far = personas["practice_y"].practice
    with pytest.raises(services.CaseError, match="another ICB and is not a neighbour"):
        _group_package(personas["icb_a"], cross["case"], [(cross["case"].practice.code, None), (far.code, 2000)])


def services_budgets(p: Practice) -> list[Any]:
    from apps.funding import services as funding

    assert p.icb is not None
    return funding.budgets_for(p.icb)


def test_ending_the_case_releases_the_lead_icbs_money_and_asks_the_other_icb_to_release_its_own(personas, cross):
    from apps.cases.models import Notification

    icb, case, other = personas["icb_a"], cross["case"], cross["other"]
    pkg = _group_package(icb, case, [(case.practice.code, None), (other.code, None)])
    services.decide_share(cross["other_user"], pkg, True)
    services.decide_icb_share(
        cross["other_icb"], pkg, True, "", max(services_budgets(other), key=lambda b: b.headroom_pence)
    )
    services.approve_package(icb, pkg, "", budget_for(case))
    services.close_case(icb, case, "stable", "The practice recruited two GPs after all.")
    status = {c.budget.icb_id: c.status for c in Commitment.objects.filter(reference__startswith=pkg.ref)}
    assert status == {case.icb_id: Commitment.Status.CANCELLED, other.icb_id: Commitment.Status.OPEN}
    assert Notification.objects.filter(user=cross["other_icb"], message__contains="release your ICB's share").exists()


def test_the_demo_has_a_practice_with_a_group_share_to_accept(client):
    """The demo data (made in the test set-up by ``create_demo_cases``): a demo practice user finds its share on
    "Waiting for me", linked to the page where it accepts it."""
    waiting = [
        (u, w)
        for u in User.objects.filter(role=Role.PRACTICE, username__startswith="practice-")
        for w in services.waiting_for(u)
        if w.what == SHARE_TO_ACCEPT
    ]
    assert waiting, "no demo practice has a group share to accept"
    user, item = waiting[0]
    client.force_login(user)
    assert item.href in client.get(reverse("cases:notifications")).content.decode()
    assert "Accept our share" in client.get(item.href).content.decode()


def test_typed_practices_without_a_share_split_what_is_left_and_bad_shares_are_refused(personas, triaged_x):
    from apps.cases.forms.package import parse_typed_group

    a, b = _near(triaged_x, 2)
    assert parse_typed_group(f"{a.code}\n{b.code.lower()}, 20%\n") == [(a.code, None), (b.code, 2000)]
    starts, ends = this_year()
    lines = [services.LineInput("gprp-change-management", 4)]
    lead = triaged_x.practice.code
    pkg = services.build_package(
        personas["icb_a"], triaged_x, lines, [(lead, None), (a.code, None), (b.code, 2000)], starts, ends
    )
    bp = dict(pkg.practices.values_list("practice__code", "share_bp"))
    assert bp[b.code] == 2000 and bp[lead] + bp[a.code] == 8000
    for shares, message in (
        ([(lead, 6000), (a.code, 3000)], "add up to 90%"),
        ([(lead, None), (a.code, 6000), (b.code, 4000)], "leave nothing"),
        ([(lead, None), (a.code, None), (a.code, 10)], "listed twice"),
    ):
        with pytest.raises(services.CaseError, match=message) as refused:
            services.build_package(personas["icb_a"], triaged_x, lines, shares, starts, ends)
        assert refused.value.field == "group"


def test_a_decision_reads_the_package_again_under_lock_and_refuses_one_moved_since(personas, agreed_x):
    """The one locking preamble of the package decisions (``_locked_package``): the case, then the package, read as
    they are now, and a refusal when another decision has moved the package since the caller read it."""
    from django.db import transaction

    from apps.cases.services.base import CaseError, _locked_package

    (other,) = _near(agreed_x, 1)
    pkg = _group_package(personas["icb_a"], agreed_x, [(agreed_x.practice.code, None), (other.code, None)])
    stale = Package.objects.get(pk=pkg.pk)
    assert stale.state == Package.State.SUBMITTED
    Package.objects.filter(pk=pkg.pk).update(state=Package.State.DRAFT)  # a declined share, meanwhile
    refusal = "Only a package awaiting approval asks for its shares to be accepted."
    with transaction.atomic(), pytest.raises(CaseError, match=f"^{refusal}$"):
        _locked_package(stale, Package.State.SUBMITTED, refusal)
    with transaction.atomic():
        case, fresh = _locked_package(stale, Package.State.DRAFT, refusal)
    assert (case.pk, fresh.pk, fresh.state) == (agreed_x.pk, pkg.pk, Package.State.DRAFT)
    with pytest.raises(CaseError, match=f"^{refusal}$"):  # the practice's own decision meets the same refusal
        services.decide_share(_practice_user(other), stale, accept=True)
