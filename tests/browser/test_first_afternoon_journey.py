"""Journey: an ICB team's first afternoon, end to end on a fresh database (issue 16's "done when").

The national team invites an ICB lead; the lead accepts, invites a colleague and a practice user, brings in the
team's tracker (200 cases, 50 of them with commitments) — three rows refused with their reasons, fixed in the file,
uploaded again and imported — and varies one imported package. The practice user accepts the practice's share of a
group package and disputes a session's log; the lead resolves the dispute and approves a payment a colleague
recorded. Every step after signing in is found from "Waiting for me" or the service's own links, never by typing an
address: the only addresses followed are the invitation emails' links.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import expect

from apps.accounts.demo import DEMO_PASSWORD
from tests.browser.conftest import assert_accessible, follow, sign_in
from tests.browser.test_caseload_journey import tracker, upload
from tests.browser.test_team_journey import check_layout, invitation_link, invite, sign_out

pytestmark = pytest.mark.browser
LEAD = "amara.lead@nhs.example"
COLLEAGUE = "tom.finance@nhs.example"
PRACTICE_USER = "jo.manager@nhs.example"
PASSWORD = "Lantern-orchard-2048"


@pytest.fixture
def afternoon(django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """What the afternoon starts from: ICB A as built (its demo delivery and money), a session at one of its
    practices signed off by the provider and waiting for the practice, and a payment a demo colleague recorded."""
    from apps.accounts.models import User
    from apps.delivery.models import Session, SessionDispute
    from apps.funding.models import Payment
    from apps.pages.testing import ICB_A
    from apps.practices.models import ICB

    with django_db_blocker.unblock():
        national = User.objects.get(username="national")
        national.set_password(DEMO_PASSWORD)  # hashed with this run's hasher
        national.save(update_fields=["password"])
        icb = ICB.objects.get(code=ICB_A)
        session = (
            Session.objects.filter(
                practice__icb=icb, signed_off_at__isnull=False, confirmed_at__isnull=True, state=Session.State.DELIVERED
            )
            .exclude(pk__in=SessionDispute.objects.values("session"))
            .select_related("practice")
            .order_by("starts_at", "pk")
            .first()
        )
        assert session is not None, "the demo delivery has a signed-off session waiting for its practice"
        payment = (
            Payment.objects.filter(commitment__budget__icb=icb, status=Payment.Status.REQUESTED)
            .order_by("requested_at", "pk")
            .first()
        )
        assert payment is not None, "the demo money has a payment recorded and awaiting a colleague's approval"
        package = _group_package_covering(session.practice)
    rows, _ = tracker(django_db_blocker)
    mail.outbox = []
    yield {
        "icb": icb.name, "practice": session.practice, "session": session, "payment": payment, "rows": rows,
        "package": package.ref,
    }  # fmt: skip


def _group_package_covering(practice: Any) -> Any:
    """A neighbouring practice's case in the same ICB, its plan agreed, with a group package submitted by the ICB
    team that shares the cost with ``practice``: the share waits for ``practice`` to accept it."""
    from apps.accounts.models import Role, TeamRole, User
    from apps.cases import services
    from apps.cases.models import Case, Route
    from apps.cases.tests.conftest import plan_goals, this_year
    from apps.practices.models import Practice, PracticeStatus

    icb_user = User.objects.get(username="icb-a")
    busy = set(Case.objects.open().values_list("practice_id", flat=True))
    lead = (
        Practice.objects.filter(icb=practice.icb, status=PracticeStatus.ACTIVE, list_size__gt=0)
        .exclude(pk__in=busy)
        .order_by("-list_size", "code")
        .first()
    )
    lead_user = User.objects.create_user(
        username=f"journey-{lead.code.lower()}", role=Role.PRACTICE, practice=lead, team_role=TeamRole.LEAD
    )
    case, _ = services.refer(lead_user, lead, Route.SELF, services.ReferralInput("Two partners retire in March."))
    services.triage(icb_user, case, "high", "medium", "Workforce gap the menu can address")
    services.save_plan(lead_user, case, plan_goals())
    services.agree_plan(lead_user, case)
    starts, ends = this_year()
    lines = [services.LineInput("gprp-change-management", 4)]
    package = services.build_package(icb_user, case, lines, [(lead.code, 8000), (practice.code, 2000)], starts, ends)
    return services.submit_package(icb_user, package)


def accept_invitation(page: Any, email: str) -> None:
    page.goto(invitation_link(email))
    expect(page.get_by_role("heading", name="Accept your invitation")).to_be_visible()
    page.get_by_label("Choose a password").fill(PASSWORD)
    page.get_by_label("Type the password again").fill(PASSWORD)
    follow(page, page.get_by_role("button", name="Create my account"))
    expect(page.get_by_text("Your account is ready")).to_be_visible()


def waiting_for_me(page: Any) -> Any:
    """The "Waiting for me" page, reached from the header as a user would."""
    follow(page, page.get_by_role("link", name="Waiting for me").first)
    expect(page.get_by_role("heading", name="Waiting for me", level=1)).to_be_visible()
    return page.locator("main")


def test_an_icb_teams_first_afternoon_from_invitation_to_an_approved_payment(page: Any, afternoon: dict) -> None:
    from apps.caseload import sample

    practice = afternoon["practice"]
    # 1. National invites the ICB's lead.
    sign_in(page, "national", DEMO_PASSWORD)
    invite(page, LEAD, "Amara", "Lead", "ICB team lead", **{"ICB (for an ICB team lead)": afternoon["icb"]})
    sign_out(page)

    # 2. The lead accepts and invites a colleague and a practice user.
    accept_invitation(page, LEAD)
    invite(page, COLLEAGUE, "Tom", "Finance", "Member of your ICB team")
    invite(
        page, PRACTICE_USER, "Jo", "Manager", "Practice user (a practice in your ICB)",
        **{"Practice ODS code (for a practice user)": practice.code},
    )  # fmt: skip

    # 3. The team's tracker: three rows refused with reasons, fixed in the file, imported.
    rows = afternoon["rows"]
    broken = [dict(r) for r in rows]
    broken[5]["practice"] = "Z99999"
    broken[70]["referred_on"] = "30/02/2025"
    broken[150]["state"] = "Nearly there"
    follow(page, page.get_by_role("link", name="Bring in existing work"))
    upload(page, "our-tracker.csv", sample.as_csv(broken))
    expect(page.get_by_text("3 in error")).to_be_visible()
    follow(page, page.get_by_role("link", name="errors", exact=True))
    table = page.get_by_role("table", name="Every row of the file and what importing it would do")
    expect(table).to_contain_text("Unknown ODS code Z99999")
    expect(table).to_contain_text("“30/02/2025” is not a date")
    expect(table).to_contain_text("“Nearly there” is not a state")
    follow(page, page.get_by_role("link", name="upload it again"))
    upload(page, "our-tracker-fixed.csv", sample.as_csv(rows))
    expect(page.get_by_text("0 in error")).to_be_visible()
    follow(page, page.get_by_role("button", name="Import 200 rows"))
    expect(page.get_by_text("Imported our-tracker-fixed.csv: 200 cases created")).to_be_visible()

    # 4. The lead varies one imported package, found through the case list.
    vary_an_imported_package(page, rows[0])

    # 5. The practice user: the group share to accept and the session to dispute, both from "Waiting for me".
    sign_out(page)
    accept_invitation(page, PRACTICE_USER)
    items = waiting_for_me(page)
    share = page.get_by_role("listitem").filter(has_text="Group share to accept")
    follow(page, share.get_by_role("link", name=afternoon["package"]))
    page.get_by_label("Accept our share").check()
    follow(page, page.get_by_role("button", name="Record our decision"))
    expect(page.get_by_text("Accepted", exact=False).first).to_be_visible()
    assert_accessible(page)
    check_layout(page, "afternoon-share-accepted")

    items = waiting_for_me(page)
    expect(items).not_to_contain_text("Group share to accept")
    session_title = afternoon["session"].title
    expect(items).to_contain_text("Confirm the session took place as logged, or dispute it")
    follow(page, items.get_by_role("link", name=f"{practice.display_name}: {session_title}", exact=False).first)
    page.get_by_text("The session did not happen as logged").click()
    page.get_by_label("What is wrong with the log?").fill("Only one partner attended; the log says three.")
    follow(page, page.get_by_role("button", name="Dispute the session"))
    expect(page.get_by_text("Your dispute is recorded: the ICB team will resolve it.")).to_be_visible()
    assert_accessible(page)
    check_layout(page, "afternoon-disputed")
    expect(waiting_for_me(page)).not_to_contain_text(session_title)

    # 6. The lead resolves the dispute and approves the payment, both from "Waiting for me".
    sign_out(page)
    sign_in(page, LEAD, PASSWORD)
    items = waiting_for_me(page)
    expect(items).to_contain_text("Resolve the practice's dispute of the session log")
    follow(page, items.get_by_role("link", name=f"{practice.display_name}: {session_title}", exact=False).first)
    page.get_by_label("The dispute is accepted: the provider must amend the log").check()
    page.get_by_label("Note of the decision").fill("The signed register shows one partner: amend the log.")
    follow(page, page.get_by_role("button", name="Resolve the dispute"))
    expect(page.get_by_text("Dispute resolved: the provider must amend the log.")).to_be_visible()

    items = waiting_for_me(page)
    payment = afternoon["payment"]
    expect(items).to_contain_text("Approve or reject the payment a colleague recorded")
    follow(page, items.get_by_role("link", name=payment.commitment.reference, exact=False).first)
    follow(page, page.get_by_role("button", name=f"Approve payment {payment.pk}"))
    expect(page.get_by_text("approved.")).to_be_visible()
    assert_accessible(page)
    check_layout(page, "afternoon-payment-approved")
    expect(waiting_for_me(page)).not_to_contain_text(payment.commitment.reference)
    assert page.js_errors == []


def vary_an_imported_package(page: Any, row: dict[str, str]) -> None:
    follow(page, page.get_by_role("link", name="Cases").first)
    page.get_by_label("Practice name or ODS code").fill(row["practice"])
    page.get_by_label("Show").select_option(label="All cases")
    follow(page, page.get_by_role("button", name="Apply filters"))
    found = page.get_by_role("table", name="Cases, oldest first unless sorted").locator("tbody tr")
    expect(found).to_have_count(1)  # the practice's one case: imported in delivery, with its package
    follow(page, found.get_by_role("link").first)
    follow(page, page.get_by_role("link", name="Vary the package"))
    offer = "gprp-management-advice"
    price = page.locator(f"#price-{offer}")
    before = float(price.input_value() or "0")
    price.fill(f"{before * 0.8:.2f}")
    page.get_by_label("Why the package changes").fill("Two advice days fewer: the practice manager started early.")
    follow(page, page.get_by_role("button", name="Vary the package"))
    expect(page.get_by_text("varied; the committed money follows.")).to_be_visible()
