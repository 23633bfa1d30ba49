"""Delivery: who delivers what to whom, whether it happened, what it achieved, and how the faculty grows.

* **Providers and faculty**: :class:`ProviderOrganisation` (LMC teams, the improvement faculty, specialist firms,
  experienced-GP pools) and :class:`FacultyMember` (coaches, development advisers, apprentices, specialists), each
  with the menu offers they deliver, the ICBs they cover and a monthly capacity in hours. Apprentices climb
  :class:`Stage` to accredited under an accredited supervisor; every stage change is an immutable, attributed
  :class:`StageChange`. :class:`ConflictOfInterest` names a practice or a PCN a member must never be assigned to.
* **Assignment** of an approved package's lines to members or organisations (:class:`Assignment`).
* **Session log** (:class:`Session`): planned, delivered or cancelled; signed off by the provider and confirmed by the
  practice, both attributed. Its history (:class:`SessionLogVersion`, :class:`SessionDispute`,
  :class:`DisputeResolution`): amendments are new versions, a practice's dispute and the ICB's answer new rows.
* **Outcomes**: :class:`OutcomeSnapshot` (baseline at approval, follow-ups at 6 and 12 months), :class:`PracticeSurvey`,
  :class:`HoursReleased` per plan action, :class:`PackageRating` (RAG with reason, newest is current).
* **Practice-manager development**: :class:`Network` on a PCN / place / ICB footprint with members, meetings and
  "ways of managing workload" posts; :class:`CoachingOffer` with coach-published :class:`Slot` rows that a practice
  manager books (:class:`CoachingRequest` → :class:`Booking` → :class:`Session`); :class:`PeerReview` with a
  development plan.
* **Calendar and reminders**: :class:`CalendarToken` for a user's private iCalendar feed; :class:`ReminderSent` so the
  reminder command never sends the same reminder twice.
"""

from apps.delivery.models.calendar import CalendarToken, ReminderSent, new_token, token_digest
from apps.delivery.models.faculty import (
    STAGE_ORDER,
    Accreditation,
    ConflictOfInterest,
    FacultyMember,
    FacultyMemberQuerySet,
    MemberRole,
    OrganisationKind,
    ProviderOrganisation,
    Stage,
    StageChange,
)
from apps.delivery.models.networks import (
    Booking,
    CoachingOffer,
    CoachingRequest,
    DevelopmentGoal,
    Footprint,
    Meeting,
    Network,
    NetworkMembership,
    PeerReview,
    Post,
    Slot,
    Tag,
)
from apps.delivery.models.outcomes import (
    SNAPSHOT_MONTHS,
    SURVEY_QUESTIONS,
    HoursReleased,
    OutcomeSnapshot,
    PackageRating,
    PracticeSurvey,
    Rag,
    SnapshotKind,
)
from apps.delivery.models.session_history import DisputeResolution, SessionDispute, SessionLogVersion
from apps.delivery.models.work import ATTENDEE_ROLES, Assignment, Session

__all__ = [
    "ATTENDEE_ROLES",
    "SNAPSHOT_MONTHS",
    "STAGE_ORDER",
    "SURVEY_QUESTIONS",
    "Accreditation",
    "Assignment",
    "Booking",
    "CalendarToken",
    "CoachingOffer",
    "CoachingRequest",
    "ConflictOfInterest",
    "DevelopmentGoal",
    "DisputeResolution",
    "FacultyMember",
    "FacultyMemberQuerySet",
    "Footprint",
    "HoursReleased",
    "Meeting",
    "MemberRole",
    "Network",
    "NetworkMembership",
    "OrganisationKind",
    "OutcomeSnapshot",
    "PackageRating",
    "PeerReview",
    "Post",
    "PracticeSurvey",
    "ProviderOrganisation",
    "Rag",
    "ReminderSent",
    "Session",
    "SessionDispute",
    "SessionLogVersion",
    "Slot",
    "SnapshotKind",
    "Stage",
    "StageChange",
    "Tag",
    "new_token",
    "token_digest",
]
