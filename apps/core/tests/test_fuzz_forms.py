"""Fuzz every form that writes something: hostile input never gives a server error, a refusal changes nothing and
says what is wrong, a valid submission does what it says. See :mod:`apps.core.tests.formfuzz` for the oracle.

Adding a form is one :class:`Form` entry in :data:`FORMS` (its URL, the persona who may use it, its fields with
valid values and other ICBs' or practices' ids, and what the valid submission does). ``test_every_post_view_is_fuzzed``
fails when a URL whose view accepts POST has no entry.

Bounded and deterministic: each form gets a modest number of examples (``max_examples``, 15 by default, so the file
stays fast in CI; ``FUZZ_SCALE=4`` multiplies them for a deeper run), hypothesis runs derandomized with no example
database, and every example runs inside a savepoint that is rolled back, so each starts from the same world (built
once per form through the real services, :mod:`apps.core.tests.fuzz_world`). Bugs the fuzz found are kept as
explicit examples (:data:`REGRESSIONS`), tried first on every run.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings

from analytics.money import financial_year_of, fy_end
from apps.api.main import NAMESPACE as API
from apps.core.models import AuditRecord
from apps.core.tests.formfuzz import Field, Form, check_response, db_state, post, resolve, submissions
from apps.core.tests.fuzz_world import World
from apps.pages.testing import ICB_A, ICB_B

pytestmark = pytest.mark.django_db

# Examples per form: Form.max_examples (modest, so the file stays fast in CI) times FUZZ_SCALE from the environment
# (e.g. FUZZ_SCALE=4 for a deeper run before a release).
EXAMPLES_SCALE = max(1, int(os.environ.get("FUZZ_SCALE", "1") or 1))
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- Effects of the valid submissions ---------------------------------------------------------------------------


def grew(*labels: str) -> Any:
    """The valid submission added a row to each of these tables."""

    def check(world: World, before: dict[str, int], after: dict[str, int]) -> None:
        for label in labels:
            assert after[label] > before[label], f"no new {label}"

    return check


def status_is(get_case: str, status: str) -> Any:
    def check(world: World, before: dict[str, int], after: dict[str, int]) -> None:
        case = getattr(world, get_case)
        case.refresh_from_db()
        assert case.status == status, (case.status, status)

    return check


def now(attr: str, check: Callable[[Any], bool], what: str) -> Any:
    """The world's object ``attr``, read again from the database, passes ``check``."""

    def effect(world: World, before: dict[str, int], after: dict[str, int]) -> None:
        obj = getattr(world, attr)
        obj.refresh_from_db()
        assert check(obj), f"{attr}: {what}"

    return effect


def provider_is_assigned(world: World, before: dict[str, int], after: dict[str, int]) -> None:
    world.referred.refresh_from_db()
    assert world.referred.provider_id == world.p["provider"].pk, "provider not assigned"


def assert_equal(got: Any, expected: Any) -> None:
    assert got == expected, (got, expected)


def notify_kinds(user: Any) -> set[str]:
    from apps.cases import notify

    return {kind for kind, on in notify.enabled_kinds(user).items() if on}


def pk(attr: str) -> Any:
    return lambda w: (getattr(w, attr).pk,)


def ids(attr: str) -> Any:
    return lambda w: [str(getattr(w, attr).pk)]


def payee_reference(world: World) -> str:
    """ICB A's commitment to an LMC support team (£10 in two tranches of £5), made once in the world."""
    from apps.api.testing import icb_a_payee_commitment

    return icb_a_payee_commitment(world.p)


# --- Field vocabularies -----------------------------------------------------------------------------------------

TRIED = ("locums", "recruitment", "list_closure")
HELP = ("Workforce support", "Coaching, training, supervision and mentorship", "Diagnostic services")
REFERRAL_FIELDS = (
    Field("concerns", "text", ("Two partners are retiring and nobody applied for the salaried post.",)),
    Field("tried", "choice", TRIED, multi=True),
    Field("help_wanted", "choice", HELP, multi=True),
    Field("urgency", "choice", ("routine", "soon", "urgent")),
)
SURVEY = tuple(Field(q, "number", ("4", "1", "5")) for q in ("workload", "morale", "access", "sustainable"))
TODAY = timezone.localdate()
YEAR_END = fy_end(financial_year_of(TODAY))
# The columns of the world's caseload file (fuzz_world.World.caseload_csv), as a home-made tracker names them.
CASELOAD_HEADERS = {
    "reference": "Case ID", "practice": "ODS code", "route": "Referral source", "referred_on": "Date referred",
    "state": "Status", "notes": "Comments",
}  # fmt: skip
LAST_MONTH = (TODAY - timedelta(days=40)).isoformat(), (TODAY - timedelta(days=10)).isoformat()
SOON = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")


def hc_fields() -> tuple[Field, ...]:
    from apps.cases.config import questionnaire

    return tuple(Field(qid, "number", ("3", "1", "5")) for qid in questionnaire().questions)


def clock_fields() -> tuple[Field, ...]:
    """One number per stage clock: the valid submission changes the urgent triage clock, the rest stay as they are."""
    from apps.cases.clocks import default_targets

    return tuple(
        Field(t.key, "number", ("3", "1") if t.key == "triage_urgent" else (str(t.working_days),))
        for t in default_targets()
    )


def plan_fields() -> tuple[Field, ...]:
    return (
        Field("goal-0", "text", ("Fill the GP vacancy",)),
        Field("area-0", "choice", ("workforce", "leadership")),
        Field("action-0", "text", ("Recruit a salaried GP",)),
        Field("owner-0", "text", ("Practice manager",)),
        Field("due-0", "date", ("2027-01-31",)),
        Field("offer-0", "choice", ("gprp-workforce", "")),
        Field("done-0", "flag", ("", "1")),
        Field("rows", "number", ("8", "1")),
    )


FORMS: tuple[Form, ...] = (
    # Cases: ways in
    Form(
        "refer",
        "cases:refer",
        "practice_x",
        REFERRAL_FIELDS,
        effect=grew("cases.Case", "cases.Referral"),
    ),
    Form(
        "nominate-icb",
        "cases:nominate",
        "icb_a",
        (
            Field("practice", "id", lambda w: [w.icb_a_practices[3]], foreign=lambda w: [w.icb_b_practice]),
            *REFERRAL_FIELDS,
            Field("route", "choice", ("icb", "watch_list", "lmc", "self")),
        ),
        effect=grew("cases.Case", "cases.Referral"),
    ),
    Form(
        "nominate-lmc",
        "cases:nominate",
        "lmc",
        (
            Field("practice", "id", lambda w: [w.icb_a_practices[3]], foreign=lambda w: [w.icb_b_practice]),
            *REFERRAL_FIELDS,
        ),
        effect=grew("cases.Case", "cases.Referral"),
    ),
    # Cases: the case's steps
    Form(
        "triage",
        "cases:triage",
        "icb_a",
        (
            Field("scope", "choice", ("high", "medium", "low")),
            Field("impact", "choice", ("medium", "high", "low")),
            Field("rationale", "text", ("Workforce gap the menu can address",)),
        ),
        args=pk("referred"),
        effect=status_is("referred", "triaged"),
    ),
    Form(
        "withdraw",
        "cases:move",
        "practice_x",
        (Field("reason", "text", ("We have recruited a partner after all.",)),),
        args=lambda w: (w.referred.pk, "withdrawn"),
        effect=status_is("referred", "withdrawn"),
    ),
    Form(
        "decline",
        "cases:move",
        "icb_a",
        (Field("reason", "text", ("Another programme fits this practice better.",)),),
        args=lambda w: (w.referred.pk, "declined"),
        effect=status_is("referred", "declined"),
    ),
    Form(
        "close",
        "cases:move",
        "icb_a",
        (Field("reason", "text", ("Support finished; the practice is stable.",)),),
        args=lambda w: (w.diagnosis.pk, "withdrawn"),
        effect=status_is("diagnosis", "withdrawn"),
    ),
    Form(
        "close-with-reason",
        "cases:move",
        "icb_a",
        (
            Field("why", "choice", ("stable", "goals_met", "other")),
            Field("reason", "text", ("Support finished; the practice is stable.",)),
        ),
        args=lambda w: (w.referred.pk, "closed"),
        effect=status_is("referred", "closed"),
    ),
    Form(
        "reopen",
        "cases:reopen",
        "icb_a",
        (Field("rationale", "text", ("The practice asked for help again.",)),),
        args=pk("closed"),
        effect=status_is("closed", "triaged"),
    ),
    Form(
        "note",
        "cases:add_note",
        "icb_a",
        (Field("text", "text", ("Phoned the practice manager.",)), Field("confidential", "flag", ("", "1"))),
        args=pk("referred"),
        effect=grew("cases.CaseNote"),
    ),
    Form(
        "note-practice",
        "cases:add_note",
        "practice_x",
        (Field("text", "text", ("We have a locum from May.",)), Field("confidential", "flag", ("1", ""))),
        args=pk("referred"),
        effect=grew("cases.CaseNote"),
    ),
    Form(
        "assign-provider",
        "cases:assign",
        "icb_a",
        (Field("provider", "id", lambda w: [str(w.p["provider"].pk)], foreign=lambda w: [str(w.p["icb_b"].pk)]),),
        args=pk("referred"),
        effect=provider_is_assigned,
    ),
    Form(
        "clock-targets",
        "cases:clock_targets",
        "icb_a",
        clock_fields(),
        effect=grew("cases.ClockTarget"),
    ),
    Form(
        "local-price",
        "cases:local_price",
        "icb_a",
        (
            Field("price", "money", ("275", "£1,250.50")),
            Field("reason", "text", ("Quote from the local provider, March",)),
        ),
        args=lambda w: ("gprp-coaching",),
        effect=grew("cases.LocalPrice"),
    ),
    Form(
        "health-check",
        "cases:health_check",
        "diagnosis_user",
        (*hc_fields(), Field("action", "choice", ("submit", "save"))),
        args=pk("diagnosis"),
        effect=grew("cases.HealthCheck"),
    ),
    Form(
        "plan",
        "cases:plan",
        "diagnosis_user",
        plan_fields(),
        args=pk("diagnosis"),
        effect=grew("cases.PlanChange"),
    ),
    Form(
        "agree-plan",
        "cases:agree",
        "diagnosis_user",
        args=pk("diagnosis"),
        effect=now("diagnosis", lambda c: c.plan.is_agreed, "plan agreed"),
    ),
    Form(
        "package",
        "cases:package",
        "icb_a",
        (
            Field("units-gprp-coaching", "number", ("3", "", "0")),
            Field("note-gprp-coaching", "text", ("Three sessions for the partners",)),
            Field("units-gprp-diagnostic", "number", ("", "1")),
            Field("group", "lines", ("", "A81002 25")),
            Field("member", "id", lambda w: ["", w.suggested_neighbour], foreign=lambda w: [w.icb_b_practice]),
            Field("starts", "date", (TODAY.isoformat(),)),
            Field("ends", "date", (fy_end(financial_year_of(TODAY)).isoformat(),)),  # was 2027-03-31: a date bomb
            Field("action", "choice", ("price", "submit")),
        ),
        args=pk("diagnosis"),
        effect=grew("cases.Package"),
    ),
    Form(
        "approve",
        "cases:decide",
        "icb_a",
        (
            Field("decision", "choice", ("approve", "refuse")),
            Field("note", "text", ("Fits the menu and the budget.",)),
            Field("budget", "id", lambda w: [str(w.budget_a.pk)]),
        ),
        args=lambda w: (w.submitted.case_id, w.submitted.number),
        effect=now("submitted", lambda p: p.state == "approved", "package approved"),
    ),
    Form(
        "accept-share",
        "cases:shares",
        "share_user",
        (
            Field("decision", "choice", ("accept", "decline")),
            Field("reason", "text", ("Our partners have not agreed to shared sessions.",)),
        ),
        args=lambda w: (w.group_submitted.case_id, w.group_submitted.number),
        effect=grew("cases.ShareDecision"),
    ),
    Form(
        "approve-share",
        "cases:shares",
        "share_icb",
        (
            Field("decision", "choice", ("approve", "refuse")),
            Field("note", "text", ("Agreed at our panel for our practice.",)),
            Field("budget", "id", lambda w: [str(w.share_icb_budget.pk)], foreign=lambda w: [str(w.budget_a.pk)]),
        ),
        args=lambda w: (w.cross_submitted.case_id, w.cross_submitted.number),
        effect=grew("cases.ShareDecision"),
    ),
    Form(
        "vary-package",
        "cases:vary",
        "icb_a",
        (
            Field("units-gprp-coaching", "number", ("4", "8")),
            Field("price-gprp-coaching", "text", ("", "240.00", "£250")),
            Field("units-gprp-hr-advice", "number", ("", "0", "1")),
            Field("reason", "text", ("The panel agreed two more coaching sessions.",)),
        ),
        args=lambda w: (w.approved.pk, w.approved.packages.get(state="approved").number),
        effect=grew("funding.LedgerEntry", "cases.CaseEvent"),
    ),
    Form(
        "notification-settings",
        "cases:notifications",
        "icb_a",
        (Field("kinds", "choice", ("new_referral", "triaged", "package_submitted", "session_reminder"), multi=True),),
        fixed={"action": "settings"},
        effect=lambda w, b, a: assert_equal(notify_kinds(w.p["icb_a"]), {"new_referral"}),
    ),
    Form(
        "notifications-read",
        "cases:notifications",
        "diagnosis_user",  # told of the triage and the provider on their case
        fixed={"action": "read"},
        needs=("diagnosis",),
        effect=lambda w, b, a: assert_equal(
            (w.diagnosis_user.notifications.exists(), w.diagnosis_user.notifications.filter(read_at=None).count()),
            (True, 0),
        ),
    ),
    # Delivery: faculty, assignment, sessions, outcomes
    Form(
        "faculty-member",
        "delivery:faculty",
        "icb_a",
        (
            Field("name", "text", ("Jo Adviser",)),
            Field("organisation", "id", ids("org")),
            Field("role", "choice", ("adviser", "coach", "apprentice", "specialist")),
            Field("capacity", "number", ("12", "0.5", "")),
            Field("joined_on", "date", ("2025-09-01",)),
            Field("offers", "choice", ("gprp-coaching", "gpdp-pm-coaching"), multi=True),
            Field("icbs", "id", lambda w: [str(w.p["icb_a"].icb_id), str(w.p["icb_b"].icb_id)], multi=True),
            Field("email", "text", ("jo@example.nhs.uk", "")),
            Field("accreditation", "choice", ("in_training", "accredited", "lapsed", "not_required")),
            Field("accredited_on", "date", ("", "2024-05-01")),
            Field("expires", "date", ("", "2027-05-01")),
            Field("supervisor", "id", lambda w: ["", str(w.coach.pk)]),
            Field("new_member", "flag", ("", "1")),
        ),
        effect=grew("delivery.FacultyMember"),
    ),
    Form(
        "apprentice-stage",
        "delivery:member",
        "icb_a",
        (
            Field("stage", "choice", ("enrolled", "foundation", "supervised", "assessment", "accredited")),
            Field("note", "text", ("Enrolled on the course.", "")),
        ),
        args=pk("apprentice"),
        fixed={"action": "stage"},
        effect=grew("delivery.StageChange"),
    ),
    Form(
        "conflict",
        "delivery:member",
        "provider",
        (
            Field("where", "id", lambda w: [w.icb_a_practices[5], "A81001"], foreign=lambda w: [w.icb_b_practice]),
            Field("description", "text", ("My sister is a partner there.",)),
        ),
        args=pk("coach"),
        fixed={"action": "conflict"},
        effect=grew("delivery.ConflictOfInterest"),
    ),
    Form(
        "assign-delivery",
        "delivery:case",
        "icb_a",
        (
            Field("line", "id", ids("line"), foreign=lambda w: [str(w.submitted.lines.get().pk)]),
            Field("who", "choice", lambda w: [f"m-{w.coach.pk}", f"o-{w.org.pk}"]),
            Field("hours", "number", ("", "6", "0.5")),
        ),
        args=pk("approved"),
        effect=grew("delivery.Assignment"),
    ),
    Form(
        "plan-session",
        "delivery:plan_session",
        "provider",
        (
            Field("title", "text", ("Coaching 3",)),
            Field("starts_at", "datetime", (SOON,)),
            Field("hours", "number", ("1.5", "2")),
            Field("assignment", "id", ids("assignment")),
        ),
        args=lambda w: (w.assignment.case_id,),
        effect=grew("delivery.Session"),
    ),
    Form(
        "session-log",
        "delivery:session",
        "provider",
        (
            Field("outcome", "choice", ("delivered", "cancelled")),
            Field("hours", "number", ("1.5", "2")),
            Field("notes", "text", ("Succession plan drafted.",)),
            Field("reason", "text", ("", "Practice closed for snow")),
            *(Field(f"att-{k}", "number", ("1", "", "0")) for k in ("gp_partner", "practice_manager", "other")),
            Field("sign_off", "flag", ("", "1")),
        ),
        args=pk("past_session"),
        fixed={"action": "log"},
        effect=now("past_session", lambda x: x.state == "delivered", "session logged as delivered"),
    ),
    Form(
        "session-confirm",
        "delivery:session",
        "approved_user",
        args=pk("signed_off_session"),
        fixed={"action": "confirm"},
        effect=now("signed_off_session", lambda x: x.confirmed_at is not None, "session confirmed"),
    ),
    Form(
        "session-amend",
        "delivery:session",
        "provider",
        (
            Field("outcome", "choice", ("delivered", "cancelled")),
            Field("hours", "number", ("1", "2")),
            Field("notes", "text", ("Rota plan drafted with both partners.",)),
            Field("reason", "text", ("", "Practice closed for snow")),
            *(Field(f"att-{k}", "number", ("1", "", "0")) for k in ("gp_partner", "practice_manager", "other")),
            Field("amend_reason", "text", ("The register shows one more partner.",)),
        ),
        args=pk("signed_off_session"),
        fixed={"action": "amend"},
        effect=grew("delivery.SessionLogVersion"),
    ),
    Form(
        "session-dispute",
        "delivery:session",
        "approved_user",
        (Field("dispute_reason", "text", ("Only one partner attended, for an hour.",)),),
        args=pk("signed_off_session"),
        fixed={"action": "dispute"},
        effect=grew("delivery.SessionDispute"),
    ),
    Form(
        "session-resolve",
        "delivery:session",
        "icb_a",
        (
            Field("decision", "choice", ("upheld", "amend", "not_delivered")),
            Field("decision_note", "text", ("The signed register settles it.",)),
        ),
        args=pk("disputed_session"),
        fixed={"action": "resolve"},
        effect=grew("delivery.DisputeResolution"),
    ),
    Form(
        "outcome-hours",
        "delivery:case_outcomes",
        "icb_a",
        (
            Field(
                "plan_action",
                "id",
                lambda w: [str(w.approved.plan.goals.get().actions.get().pk)],
                foreign=lambda w: [str(w.diagnosis.plan.goals.get().actions.get().pk)],
            ),
            Field("clinical", "number", ("4", "0.5")),
            Field("admin", "number", ("2", "")),
            Field("period_start", "date", (LAST_MONTH[0],)),
            Field("period_end", "date", (LAST_MONTH[1],)),
            Field("method", "text", ("Appointment audit before and after",)),
        ),
        args=pk("approved"),
        fixed={"action": "hours"},
        effect=grew("delivery.HoursReleased"),
    ),
    Form(
        "outcome-rag",
        "delivery:case_outcomes",
        "icb_a",
        (
            Field("package", "id", lambda w: [str(w.line.package.number)]),
            Field("rag", "choice", ("amber", "red", "green")),
            Field("reason", "text", ("Two sessions slipped to next month.",)),
        ),
        args=pk("approved"),
        fixed={"action": "rag"},
        effect=grew("delivery.PackageRating"),
    ),
    Form(
        "outcome-survey",
        "delivery:case_outcomes",
        "approved_user",
        (Field("kind", "choice", ("month_6", "baseline", "month_12")), *SURVEY, Field("comment", "text", ("",))),
        args=pk("approved"),
        fixed={"action": "survey"},
        effect=grew("delivery.PracticeSurvey"),
    ),
    Form(
        "outcome-snapshot",
        "delivery:case_outcomes",
        "icb_a",
        (Field("kind", "choice", ("month_6", "month_12", "baseline")),),
        args=pk("baseline_taken_long_ago"),
        fixed={"action": "snapshot"},
        max_examples=10,
        effect=grew("delivery.OutcomeSnapshot"),
    ),
    Form("calendar-renew", "delivery:calendar", "practice_x", max_examples=5),
    # Delivery: networks, coaching, peer review
    Form(
        "network-join",
        "delivery:network",
        "practice_x",
        args=pk("network"),
        fixed={"action": "join"},
        effect=grew("delivery.NetworkMembership"),
    ),
    Form(
        "network-post",
        "delivery:network",
        "practice_x",
        (
            Field("title", "text", ("Care navigation",)),
            Field("body", "text", ("We trained reception in care navigation.",)),
            Field("tags", "text", ("telephony, access", "")),
        ),
        args=lambda w: (w.meeting.network_id,),
        fixed={"action": "post"},
        effect=grew("delivery.Post"),
    ),
    Form(
        "meeting-new",
        "delivery:new_meeting",
        "lmc",
        (
            Field("title", "text", ("Rota planning",)),
            Field("starts_at", "datetime", (SOON,)),
            Field("minutes", "number", ("90", "60")),
            Field("location", "text", ("Video call",)),
            Field("agenda", "text", ("Rotas; locum rates",)),
        ),
        args=pk("network"),
        effect=grew("delivery.Meeting"),
    ),
    Form(
        "meeting-attendance",
        "delivery:meeting",
        "icb_a",
        (
            Field(
                "attended",
                "id",
                lambda w: [str(w.p["practice_x"].pk)],
                foreign=lambda w: [str(w.p["practice_y"].pk)],
                multi=True,
            ),
        ),
        args=pk("meeting"),
        effect=now("meeting", lambda m: m.attendees.exists(), "attendance recorded"),
    ),
    Form(
        "coaching-request",
        "delivery:coaching_offer",
        "practice_x",
        (Field("goals", "text", ("Help with rota planning.",)),),
        args=pk("coaching_offer"),
        fixed={"action": "request"},
        effect=grew("delivery.CoachingRequest"),
    ),
    Form(
        "coaching-slots",
        "delivery:coaching_offer",
        "provider",
        (
            Field("slots", "lines", (f"{SOON}\n{TODAY + timedelta(days=9)} 14:00",)),
            Field("location", "text", ("Video",)),
        ),
        args=pk("coaching_offer"),
        fixed={"action": "slots"},
        effect=grew("delivery.Slot"),
    ),
    Form(
        "coaching-book",
        "delivery:coaching_request",
        "practice_x",
        (Field("slot", "id", lambda w: [str(w.coaching_offer.slots.first().pk)]),),
        args=pk("coaching_request"),
        fixed={"action": "book"},
        effect=grew("delivery.Booking"),
    ),
    Form(
        "coaching-cancel",
        "delivery:coaching_request",
        "practice_x",
        (Field("booking", "id", ids("booking")),),
        args=lambda w: (w.booking.request_id,),
        fixed={"action": "cancel"},
        effect=now("booking", lambda b: b.cancelled_at is not None, "booking cancelled"),
    ),
    Form(
        "peer-review",
        "delivery:peer_reviews",
        "provider",
        (
            Field(
                "subject",
                "id",
                lambda w: [str(w.coaching_request.requested_by_id)],
                foreign=lambda w: [str(w.p["practice_y"].pk)],
            ),
            Field("held_on", "date", (TODAY.isoformat(),)),
            Field("strengths", "text", ("Clear rota",)),
            Field("to_develop", "text", ("Delegation",)),
            Field("goal-0", "text", ("Delegate the payroll", "")),
            Field("actions-0", "text", ("Train a deputy", "")),
            Field("due-0", "date", ("2027-03-01", "")),
        ),
        effect=grew("delivery.PeerReview"),
    ),
    Form(
        "peer-goal",
        "delivery:peer_review",
        "practice_x",
        (Field("goal", "id", lambda w: [str(w.peer_review.goals.get().pk)]), Field("done", "flag", ("1", ""))),
        args=pk("peer_review"),
        effect=lambda w, b, a: w.peer_review.goals.get().done or pytest.fail("goal not marked done"),
    ),
    # Money
    Form(
        "programme",
        "funding:programme_new",
        "national",
        (
            Field("code", "text", ("FZ2", "NEWP")),
            Field("name", "text", ("Fuzz two",)),
            Field("description", "text", ("", "A test programme")),
            Field("menu", "choice", ("GPRP", "GPDP")),
            Field("line1_code", "text", ("core",)),
            Field("line1_name", "text", ("Core",)),
            Field("line1_cost_centre", "text", ("CC09",)),
            Field("line1_ledger_code", "text", ("5219",)),
            Field("line1_profile", "lines", ("2026-27: 8,500,000\n2027-28: 8,000,000",)),
            Field("line1_total", "money", ("", "16,500,000")),
            Field("line1_offers", "choice", ("gprp-coaching", "gpdp-pm-coaching"), multi=True),
            Field("line1_access", "choice", ("targeted", "universal")),
            Field("line1_allocation_basis", "choice", ("formula", "fixed", "bid")),
            Field("line1_figures_source", "text", ("", "Local estimate by the programme board")),
            Field("line2_code", "text", ("",)),
            Field("line2_profile", "lines", ("",)),
            Field("virement_rule", "choice", ("same_access", "none", "any")),
            Field("template", "choice", ("", "gprp")),
            Field("action", "choice", ("save",)),
        ),
        effect=grew("funding.Programme", "funding.FundingLine"),
    ),
    Form(
        "allocate",
        "funding:allocate",
        "national",
        (
            Field("fy", "number", lambda w: [str(w.fy)]),
            Field("amount", "money", ("50,000", "", "£1,000.50")),
            Field("formula", "choice", ("fixed_shares", "weighted_patients", "equal")),
            Field("shares", "lines", (f"{ICB_A}, 60\n{ICB_B} 40",)),
            Field("action", "choice", ("preview",)),
        ),
        args=lambda w: (w.fuzz_line.programme.code, w.fuzz_line.code),
    ),
    # Day-one import: upload a spreadsheet, choose its columns, commit it
    Form(
        "caseload-upload",
        "caseload:home",
        "icb_a",
        (Field("file", "file", lambda w: [w.caseload_csv]),),
        effect=grew("caseload.CaseloadUpload", "caseload.StoredFile"),
    ),
    Form(
        "caseload-columns",
        "caseload:upload",
        "icb_a",
        tuple(
            Field(key, "choice", (header, "")) if key in ("route", "notes") else Field(key, "choice", (header,))
            for key, header in CASELOAD_HEADERS.items()
        ),
        args=lambda w: (w.caseload_upload.pk,),
        effect=now("caseload_upload", lambda u: u.mapping["reference"] == "Case ID", "columns chosen"),
    ),
    Form(
        "caseload-commit",
        "caseload:commit",
        "icb_a",
        args=lambda w: (w.caseload_upload.pk,),
        effect=grew("cases.Case", "caseload.ImportedCase"),
        max_examples=3,
    ),
    Form(
        "at-risk-threshold",
        "funding:programme_threshold",
        "national",
        (Field("percent", "number", ("7.5", "0", "50")),),
        args=lambda w: (w.allocated_line.programme.code,),
        effect=now("allocated_line", lambda line: line.programme.at_risk_threshold_bp == 750, "threshold saved"),
    ),
    Form(
        "virement-rule",
        "funding:programme_virement_rule",
        "national",
        (Field("rule", "choice", ("none", "same_access", "any")),),
        args=lambda w: (w.allocated_line.programme.code,),
        effect=now("allocated_line", lambda line: line.programme.virement_rule == "none", "rule saved"),
    ),
    Form(
        "release",
        "funding:release",
        "national",
        (
            Field("fy", "number", lambda w: [str(w.fy)]),
            Field("amount", "money", ("10,000", "£2,500.50")),
            Field("note", "text", ("Second tranche", "")),
        ),
        args=lambda w: (w.allocated_line.programme.code, w.allocated_line.code),
        effect=grew("funding.Release"),
    ),
    Form(
        "payment",
        "funding:payments",
        "icb_a",
        (
            Field("reference", "id", lambda w: [w.commitment.reference]),
            Field("amount", "money", ("250", "£1,000.50")),
            Field("kind", "choice", ("invoice", "direct")),
            Field("payee", "text", ("Fuzz faculty",)),
            Field("practice_code", "id", lambda w: [""]),
            Field("invoice_number", "text", ("INV-77", "")),
            Field("offer_code", "choice", ("gprp-coaching", "")),
            Field("session_refs", "lines", ("",)),
            Field("memo", "text", ("", "May sessions")),
        ),
        args=lambda w: (ICB_A,),
        fixed={"action": "record"},
        effect=grew("funding.Payment"),
    ),
    Form(
        "payment-decide",
        "funding:payments",
        "icb_a",
        (
            Field("action", "choice", ("approve", "reject")),
            Field("payment", "id", ids("payment")),
            Field("note", "text", ("Checked against the session log", "")),
        ),
        args=lambda w: (ICB_A,),
        effect=now("payment", lambda x: x.status == "approved", "payment approved"),
    ),
    # Commitments outside cases: commit to a payee; record the payment of a tranche on the commitment's page
    Form(
        "payee-commitment",
        "funding:payee_new",
        "icb_a",
        (
            Field("budget", "id", lambda w: [str(w.budget_a.pk)]),
            Field("kind", "choice", ("lmc_team", "resilience_post")),
            Field("name", "text", ("Fuzzshire LMC support team",)),
            Field("organisation", "text", ("", "LMC01")),
            Field("purpose", "text", ("Support to practices in difficulty",)),
            Field("amount", "money", ("1,000", "£1,000.00")),
            Field("schedule", "lines", (f"{YEAR_END.isoformat()}: 600\n{YEAR_END - timedelta(days=1):%d/%m/%Y}: 400",)),
        ),
        args=lambda w: (ICB_A,),
        effect=grew("funding.PayeeCommitment", "funding.Commitment", "funding.LedgerEntry"),
    ),
    Form(
        "payee-tranche-payment",
        "funding:payee",
        "icb_a",
        (
            Field("tranche", "number", ("1", "2")),
            Field("payee", "text", ("Matrixshire LMC",)),
            Field("invoice_number", "text", ("LMC-INV-1",)),
            Field("amount", "money", ("5", "£5.00")),
            Field("memo", "text", ("", "First quarter")),
        ),
        args=lambda w: (ICB_A, payee_reference(w)),
        effect=grew("funding.Payment"),
    ),
    Form(
        "payee-vary",
        "funding:payee",
        "icb_a",
        (
            Field("amount", "money", ("12", "£12.00")),
            Field("schedule", "lines", (f"{YEAR_END - timedelta(days=1)}: 5\n{YEAR_END:%d/%m/%Y}: 7",)),
            Field("reason", "text", ("The LMC added a third session a month",)),
        ),
        args=lambda w: (ICB_A, payee_reference(w)),
        fixed={"action": "vary"},
        effect=grew("funding.LedgerEntry"),
    ),
    Form(
        "payee-cancel",
        "funding:payee",
        "icb_a",
        (Field("reason", "text", ("The LMC team was disbanded in the autumn",)),),
        args=lambda w: (ICB_A, payee_reference(w)),
        fixed={"action": "cancel"},
        effect=grew("funding.LedgerEntry"),
    ),
    Form(
        "virement",
        "funding:virements",
        "icb_a",
        (
            Field("from_budget", "id", lambda w: [str(w.budget_of(w.allocated_line, ICB_A).pk)]),
            Field("to_budget", "id", lambda w: [str(w.budget_a.pk)]),
            Field("amount", "money", ("1,000", "£250.50")),
            Field("reason", "text", ("Coaching is oversubscribed this year",)),
        ),
        fixed={"action": "request"},
        effect=grew("funding.Virement"),
    ),
    Form(
        "virement-decide",
        "funding:virements",
        "national",
        (
            Field("action", "choice", ("approve", "reject")),
            Field("virement", "id", ids("virement")),
            Field("note", "text", ("Agreed at the programme board", "")),
        ),
        effect=now("virement", lambda x: x.status == "approved", "virement approved"),
    ),
    # Watch list overrides
    Form(
        "watch-override",
        "indicators:watch_practice",
        "icb_a",
        (
            Field("action", "choice", ("add", "remove", "rate", "review")),
            Field("rationale", "text", ("Two partners retiring; list rising fast.",)),
            Field("rating", "choice", ("high", "medium", "low", "")),
        ),
        args=lambda w: (ICB_A, w.icb_a_practices[4]),
        effect=grew("indicators.WatchChange"),
    ),
    # Targeting
    Form(
        "scenario",
        "targeting:scenarios",
        "icb_a",
        (
            Field("name", "text", ("Spring plan",)),
            Field("scope", "choice", ("icb", "national")),
            Field("budget", "money", ("250,000", "£100,000")),
            Field("line_budgets", "text", ("", "GPRP/CORE 200000")),  # each funding line's budget, or none
            Field("coach_hours", "number", ("300", "0")),
            Field("practice_cap", "money", ("25000",)),
            Field("floor_on", "flag", ("", "1")),
            Field("floor", "number", ("50", "10")),
        ),
        effect=grew("targeting.Scenario"),
        max_examples=8,  # an accepted scenario runs the optimiser
    ),
    Form(
        "scenario-variants",
        "targeting:variants",
        "icb_a",
        args=lambda w: (w.scenario.ref,),
        max_examples=0,  # no input but the button: the valid submission (four optimiser runs) is the test
        effect=grew("targeting.Scenario"),
    ),
    # Accounts and API tokens
    Form(
        "sign-in",
        "accounts:login",
        "anonymous",
        (Field("username", "text", ("t-icb_a",)), Field("password", "text", ("x-test-password-1",))),
        refusal_status=200,  # Django's sign-in view answers a wrong password with the form and 200
    ),
    Form("sign-out", "accounts:logout", "icb_a", max_examples=5),
    # Team administration: invite, accept, manage a member, withdraw; password reset
    Form(
        "invite-icb",
        "teams:invite",
        "icb_a",
        (
            Field("email", "text", ("new.colleague@nhs.net", "Jo.Bloggs@Example.org")),
            Field("first_name", "text", ("Jo",)),
            Field("last_name", "text", ("Bloggs",)),
            Field("kind", "choice", ("icb:member", "icb:lead", "practice:member", "provider:member")),
            Field("practice", "id", lambda w: [w.icb_a_practices[5]], foreign=lambda w: [w.icb_b_practice]),
            Field("organisation", "choice", lambda w: [w.org.name]),
        ),
        effect=grew("accounts.Invitation"),
    ),
    Form(
        "invite-national",
        "teams:invite",
        "national",
        (
            Field("email", "text", ("icb.lead@nhs.net",)),
            Field("first_name", "text", ("Ada",)),
            Field("last_name", "text", ("Lead",)),
            Field("kind", "choice", ("icb:lead", "national:member")),
            Field("icb", "id", (ICB_B, ICB_A)),
        ),
        effect=grew("accounts.Invitation"),
    ),
    Form(
        "invite-practice",
        "teams:invite",
        "practice_x",
        (
            Field("email", "text", ("colleague@practice.nhs.net",)),
            Field("first_name", "text", ("Sam",)),
            Field("last_name", "text", ("Reception",)),
            Field("kind", "choice", ("practice:member",)),
        ),
        effect=grew("accounts.Invitation"),
    ),
    Form(
        "team-member",
        "teams:member",
        "icb_a",
        (
            Field("action", "choice", ("role", "deactivate", "reactivate")),
            Field("team_role", "choice", ("lead", "member")),
        ),
        args=pk("colleague_a"),
        effect=now("colleague_a", lambda u: u.team_role == "lead", "promoted to lead"),
    ),
    Form(
        "invitation-withdraw",
        "teams:withdraw",
        "icb_a",
        args=pk("invitation"),
        max_examples=5,
        effect=now("invitation", lambda i: i.revoked_at is not None, "invitation withdrawn"),
    ),
    Form(
        "invitation-accept",
        "teams:accept",
        "anonymous",
        (
            Field("password1", "text", ("Kettle-harbour-2041",)),
            Field("password2", "text", ("Kettle-harbour-2041",)),
        ),
        args=lambda w: (w.invitation_pair[1],),
        effect=grew("accounts.User"),
    ),
    Form(
        "password-reset",
        "accounts:password_reset",
        "anonymous",
        (Field("email", "text", ("nobody@example.org", "t-practice_x@example.org")),),
        max_examples=8,
    ),
    Form(
        # Django's confirm view checks the link's token, keeps it in the session and redirects to a URL without it
        # (so the token never reaches a Referer header); a POST to the link itself is answered with that redirect.
        # The whole reset, through the redirect, is apps/accounts/tests/test_password_reset.py.
        "password-reset-confirm",
        "accounts:password_reset_confirm",
        "anonymous",
        (
            Field("new_password1", "text", ("Kettle-harbour-2041",)),
            Field("new_password2", "text", ("Kettle-harbour-2041",)),
        ),
        args=lambda w: w.reset_link,
        max_examples=5,
    ),
    Form(
        "api-token",
        "apitokens:list",
        "icb_a",
        (Field("name", "text", ("laptop", "CI job")),),
        effect=grew("api.ApiToken"),
    ),
    Form(
        "api-token-revoke",
        "apitokens:revoke",
        "icb_a",
        args=pk("token"),
        max_examples=5,
        effect=now("token", lambda t: t.revoked_at is not None, "token revoked"),
    ),
    # Cohorts of universal offers: create, express interest (the practice; the ICB for a practice), allocate, and
    # a place's steps
    Form(
        "cohort-new",
        "cohorts:new",
        "icb_a",
        (
            Field("offer", "choice", ("gpdp-pm-development", "gprp-coaching")),
            Field("line", "id", lambda w: [str(w.cohort_line.pk)], foreign=lambda w: [str(w.line.pk)]),
            Field("title", "text", ("PM development, spring",)),
            Field("description", "text", ("Six half-day modules", "")),
            Field("starts_on", "date", ((TODAY + timedelta(days=28)).isoformat(),)),
            Field("ends_on", "date", ((TODAY + timedelta(days=60)).isoformat(),)),
            Field("closes_on", "date", ((TODAY + timedelta(days=7)).isoformat(),)),
            Field("places", "number", ("12", "1")),
            Field("mode", "choice", ("venue", "online")),
            Field("venue", "text", ("Civic Centre, Newcastle",)),
            Field("provider", "id", lambda w: [str(w.cohort.provider_id)]),
            Field("cost", "money", ("£1,500", "1500.50")),
            Field("rule", "choice", ("first_come", "pressure", "quotas")),
            Field("eligible_icbs", "text", ("", f"{ICB_A} {ICB_B}")),
            Field("quotas", "lines", ("", f"{ICB_A} 3")),
            Field("practice_managers_only", "flag", ("1", "")),
        ),
        effect=grew("cohorts.Cohort"),
    ),
    Form(
        "cohort-interest",
        "cohorts:interest",
        "practice_x",
        (
            Field("attendee_name", "text", ("Robin Manager",)),
            Field("attendee_role", "choice", ("practice_manager", "gp", "reception")),
            Field("hopes", "text", ("Time to plan the rota", "")),
        ),
        args=pk("cohort"),
        effect=grew("cohorts.Interest", "cohorts.InterestEvent"),
    ),
    Form(
        "cohort-interest-for-a-practice",
        "cohorts:interest",
        "icb_a",
        (
            Field("practice", "text", lambda w: [w.icb_a_practices[0]], foreign=lambda w: [w.icb_b_practice]),
            Field("attendee_name", "text", ("Robin Manager",)),
            Field("attendee_role", "choice", ("practice_manager", "other")),
        ),
        args=pk("cohort"),
        effect=grew("cohorts.Interest"),
    ),
    Form(
        "cohort-allocate",
        "cohorts:allocate",
        "icb_a",
        args=pk("cohort_with_interest"),
        max_examples=3,
        effect=now("cohort_with_interest", lambda c: c.status == "allocated", "places allocated"),
    ),
    Form(
        "cohort-place-accept",
        "cohorts:place",
        "practice_x",
        args=pk("cohort_place"),
        fixed={"action": "accept"},
        max_examples=5,
        effect=now("cohort_place", lambda i: i.state == "accepted" and i.commitment_id, "accepted and committed"),
    ),
    Form(
        "cohort-place-decline",
        "cohorts:place",
        "practice_x",
        args=pk("cohort_place"),
        fixed={"action": "decline"},
        max_examples=5,
        effect=now("cohort_place", lambda i: i.state == "declined", "declined"),
    ),
    Form(
        "cohort-place-withdraw",
        "cohorts:place",
        "practice_x",
        (Field("reason", "text", ("Our practice manager has left",)),),
        args=pk("accepted_place"),
        fixed={"action": "withdraw"},
        effect=now("accepted_place", lambda i: i.state == "withdrawn", "withdrawn"),
    ),
    Form(
        "cohort-place-attendance",
        "cohorts:place",
        "provider",
        (Field("attended", "flag", ("1",)), Field("completed", "flag", ("1", ""))),
        args=pk("accepted_place"),
        fixed={"action": "attendance"},
        effect=now("accepted_place", lambda i: i.attended is True, "attendance recorded"),
    ),
)


# --- The tests --------------------------------------------------------------------------------------------------

BY_ID = {f.id: f for f in FORMS}


def _url(form: Form, world: World) -> str:
    return reverse(form.url, args=form.args(world))


def _sign_in(client: Any, world: World, form: Form) -> None:
    if form.persona != "anonymous":
        client.force_login(world.user(form.persona))


def _audit_mark() -> int:
    return AuditRecord.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@pytest.mark.parametrize("form_id", sorted(BY_ID))
def test_form_takes_valid_input_and_refuses_hostile_input_cleanly(client, personas, form_id):
    """The valid submission is accepted and does what it says; then hostile submissions (the regressions first)
    never give a server error, and are either refused with nothing changed or accepted safely (see formfuzz)."""
    form = BY_ID[form_id]
    world = World(personas)
    for name in form.needs:
        getattr(world, name)
    url = _url(form, world)
    _sign_in(client, world, form)
    values = resolve(form, world)
    valid = form.valid_pairs(world)
    regressions = [r(world) if callable(r) else r for r in REGRESSIONS.get(form.id, ())]

    with transaction.atomic():
        before, mark = db_state(), _audit_mark()
        response = post(client, url, valid, form.files)
        outcome = check_response(response, before, db_state(), mark, form.refusal_status)
        assert outcome.accepted, f"the valid submission was refused: {outcome.status} {outcome.errors}"
        if form.effect:
            form.effect(world, before, db_state())
        transaction.set_rollback(True)

    @settings(FUZZ, max_examples=max(1, form.max_examples * EXAMPLES_SCALE))
    @given(submissions(form, values))
    def run(pairs: list[tuple[str, str]]) -> None:
        with transaction.atomic():
            before, mark = db_state(), _audit_mark()
            response = post(client, url, pairs, form.files)
            check_response(response, before, db_state(), mark, form.refusal_status)
            transaction.set_rollback(True)

    for regression in regressions:
        run = example(regression)(run)
    if form.max_examples or regressions:
        run()


def _post_views(resolver: URLResolver | None = None, prefix: str = "") -> set[str]:
    """URL names whose view accepts POST: a class-based view with ``post``, or a function that reads the method."""
    out: set[str] = set()
    for p in (resolver or get_resolver()).url_patterns:
        if isinstance(p, URLResolver):
            if p.namespace == API:
                continue  # the API's writes are fuzzed from its OpenAPI document (apps/api/tests)
            out |= _post_views(p, f"{prefix}{p.namespace}:" if p.namespace else prefix)
        elif isinstance(p, URLPattern) and p.name:
            view = getattr(p.callback, "view_class", None)
            if view is not None:
                accepts = hasattr(view, "post")
            else:
                accepts = "POST" in inspect.getsource(inspect.unwrap(p.callback))
            if accepts:
                out.add(f"{prefix}{p.name}")
    return out


def test_every_post_view_is_fuzzed():
    assert _post_views() - {f.url for f in FORMS} == set(), "add a Form entry to FORMS for each new POST view"
    assert {f.url for f in FORMS} <= _post_views(), "a FORMS entry names a URL whose view no longer takes POST"


# Bugs the fuzz found, kept as regression examples (form id → the POST bodies that broke it; a callable when the
# body needs the world's ids). Each was a server error or a silent bad write before its fix.
Pairs = list[tuple[str, str]]
REGRESSIONS: dict[str, list[Pairs | Callable[[World], Pairs]]] = {
    # A NUL character: stored by SQLite, a server error on PostgreSQL (now refused for every form by
    # apps.core.middleware.RefuseUnstorableInputMiddleware, naming the field).
    "api-token": [[("name", "\x00")]],
    "withdraw": [[("reason", "\x00")]],
    "decline": [[("reason", "\x00")]],
    "close": [[("reason", "\x00")]],
    "release": [
        lambda w: [("fy", str(w.fy)), ("amount", "10,000"), ("note", "a\x00b")],
        # A note longer than its column: stored by SQLite, a server error on PostgreSQL (now refused in words).
        lambda w: [("fy", str(w.fy)), ("amount", "10,000"), ("note", "x" * 5000)],
    ],
    # An overlong username reached authenticate(); django-axes' 255-character column refused it on PostgreSQL.
    "sign-in": [[("username", "x" * 5000), ("password", "x")]],
    # An id that is not a whole number ("1.5", " ", a number wider than the database's integer): the ORM raised
    # ValueError / SQLite OverflowError, a server error (now apps.core.formdata.posted_id, refused in words).
    "assign-provider": [[("provider", "1.5")]],
    "assign-delivery": [lambda w: [("line", "1.5"), ("who", f"m-{w.coach.pk}"), ("hours", "")]],
    "coaching-book": [[("action", "book"), ("slot", "1.5")]],
    "coaching-cancel": [[("action", "cancel"), ("booking", "1.5")]],
    "outcome-rag": [[("action", "rag"), ("package", "1.5"), ("rag", "amber"), ("reason", "Two sessions slipped.")]],
    "payment-decide": [[("action", "approve"), ("payment", "1.5")]],
    "virement-decide": [[("action", "approve"), ("virement", "1.5")]],
    "virement": [lambda w: [("from_budget", str(w.budget_a.pk)), ("to_budget", "1.5"), ("amount", "1,000")]],
    "peer-goal": [[("goal", "1.5"), ("done", "1")]],
    "meeting-attendance": [[("attended", "99999999999999999999")]],
    "faculty-member": [[("name", "Jo"), ("organisation", "99999999999999999999"), ("joined_on", "2025-09-01")]],
    # "nan" and "inf" parse as floats and pass every range check; a NaN hour count reached the NOT NULL column as
    # NULL (a server error). Now refused as "not a number" (delivery parse_float; the package's group shares).
    "plan-session": [
        lambda w: [("title", "Coaching"), ("starts_at", SOON), ("hours", "nan"), ("assignment", str(w.assignment.pk))]
    ],
    "session-log": [
        [("action", "log"), ("outcome", "delivered"), ("hours", "inf"), ("notes", "Succession plan drafted.")]
    ],
    "outcome-hours": [
        [("action", "hours"), ("plan_action", " "), ("clinical", "4"), ("period_start", "2026-01-01")],
        lambda w: [
            ("action", "hours"),
            ("plan_action", str(w.approved.plan.goals.get().actions.get().pk)),
            ("clinical", "nan"),
            ("period_start", LAST_MONTH[0]),
            ("period_end", LAST_MONTH[1]),
            ("method", "Appointment audit"),
        ],
    ],
    "package": [
        [
            ("units-gprp-coaching", "3"),
            ("starts", TODAY.isoformat()),
            ("ends", fy_end(financial_year_of(TODAY)).isoformat()),  # was "2027-03-31": before TODAY from April 2027
            ("group", "A81002 inf"),
        ]
    ],
    # The plan form's row count was read with int(): "1.5" was a server error, "99999999" a very long loop.
    "plan": [[("goal-0", "Fill the GP vacancy"), ("rows", "1.5")], [("rows", "99999999")]],
}
