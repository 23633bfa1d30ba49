"""A session's steps on its case's timeline: signed off, confirmed, amended, disputed and resolved.

The session keeps its own full history (every log version, every dispute and resolution); the case's timeline gets
one attributed line per step, so whoever reads the case sees its delivery as it happened, beside the triage, the plan
and the money. A session booked outside a case (practice-manager coaching) has no case timeline.
"""

from __future__ import annotations

from django.utils import timezone

from apps.accounts.models import User
from apps.cases.models import CaseEvent
from apps.delivery.models import Session


def on_case_timeline(session: Session, user: User, step: str, reason: str = "") -> None:
    """One line on the session's case's timeline: "“Title” (5 Dec 2026): <step>"."""
    if session.case_id is None:
        return
    when = timezone.localtime(session.starts_at)
    CaseEvent.objects.create(
        case_id=session.case_id,
        by=user,
        kind=CaseEvent.Kind.SESSION,
        summary=f"“{session.title}” ({when:%d %b %Y}): {step}"[:1000],
        reason=reason[:1000],
    )
