"""The practice health check: answers saved as a draft, submitted once complete, scored and benchmarked."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.cases import lifecycle, policy
from apps.cases import policy as access
from apps.cases.config import questionnaire
from apps.cases.models import (
    Case,
    CaseEvent,
    HealthCheck,
)
from apps.cases.services.base import CaseError, _event


def score_answers(answers: dict[str, int]) -> tuple[dict[str, float], float | None]:
    """Area scores 0–100 (higher is healthier) and the overall mean of areas answered."""
    q = questionnaire()
    top = len(q.scale)
    areas: dict[str, float] = {}
    for area in q.areas:
        num = den = 0.0
        for question in area.questions:
            v = answers.get(question.id)
            if v is None:
                continue
            value = (top + 1 - v) if question.reverse else v
            num += question.weight * (value - 1) / (top - 1)
            den += question.weight
        if den:
            areas[area.id] = round(100 * num / den, 1)
    overall = round(sum(areas.values()) / len(areas), 1) if areas else None
    return areas, overall


def save_health_check(user: User, case: Case, answers: dict[str, str], *, submit: bool) -> HealthCheck:
    """Save the practice's answers; on submit every question must be answered and the result is kept as it is."""
    if not policy.is_the_practice(user, case) and not access.can_run_case(user, case):
        raise CaseError("The health check is completed by the practice (or the ICB team with them).")
    case.refresh_from_db()
    if case.status not in lifecycle.HEALTH_CHECK_STATUSES:
        raise CaseError("The health check is done once the case is triaged, or at review.")
    q = questionnaire()
    top = len(q.scale)
    clean: dict[str, int] = {}
    for qid, raw in answers.items():
        if qid not in q.questions:
            raise CaseError(f"Unknown question {qid}.")
        if raw in ("", None):
            continue
        try:
            v = int(raw)
        except (TypeError, ValueError):
            raise CaseError(f"Answer {q.questions[qid].text!r} on the 1–{top} scale.", qid) from None
        if not 1 <= v <= top:
            raise CaseError(f"Answer {q.questions[qid].text!r} on the 1–{top} scale.", qid)
        clean[qid] = v
    missing = [qu for qu in q.questions.values() if qu.id not in clean]
    if submit and missing:
        raise CaseError(
            f"{len(missing)} questions are not answered yet, starting with: {missing[0].text}", missing[0].id
        )
    with transaction.atomic():
        hc = HealthCheck.objects.filter(case=case, submitted_at__isnull=True).first() or HealthCheck(
            practice=case.practice, case=case, started_by=user, questionnaire_version=q.version
        )
        hc.answers = clean
        hc.area_scores, hc.overall = score_answers(clean)
        if submit:
            hc.submitted_at, hc.submitted_by = timezone.now(), user
        hc.save()
        if submit:
            _event(case, user, CaseEvent.Kind.HEALTH_CHECK, f"Health check submitted (overall {hc.overall})")
    return hc


def benchmark(hc: HealthCheck) -> dict[str, tuple[float, int]]:
    """Area id → (percent of other submitted checks this one scores at or above, how many others answered)."""
    others = (
        HealthCheck.objects.filter(submitted_at__isnull=False).exclude(pk=hc.pk).values_list("area_scores", flat=True)
    )
    out: dict[str, tuple[float, int]] = {}
    for area, score in hc.area_scores.items():
        vals = [o[area] for o in others if area in o]
        if vals:
            out[area] = (round(100 * sum(v <= score for v in vals) / len(vals)), len(vals))
    return out
