"""Watch-list business rules. Every decision is checked against the access rules, needs a rationale, and writes an
immutable, attributed history row in the same transaction. Scoring runs themselves are ``scoring_runs``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q

from apps.accounts.models import User
from apps.indicators.models import REVIEW_INTERVAL, LocalRating, PracticeScore, ScoringRun, WatchChange, WatchEntry
from apps.indicators.policy import can_edit_watch_list
from apps.indicators.scoring_runs import current_run as current_run  # the pages and API ask services for it
from apps.indicators.scoring_runs import run_for as run_for
from apps.practices.models import ICB, Practice, PracticeStatus

TOP_SHARE = 0.10  # the national top 10% by composite score are on their ICB's watch list by score
FLAGS_FOR_LIST = 2  # …and so is any practice meeting two or more national criteria
MIN_RATIONALE = 10


def score_cutoff(practices_scored: int) -> int:
    """The national rank at or above which a practice is on its ICB's list by score."""
    return math.ceil(TOP_SHARE * practices_scored)


def listed_by_score(score: PracticeScore, practices_scored: int) -> bool:
    cutoff = score_cutoff(practices_scored)
    return (score.rank is not None and score.rank <= cutoff) or score.flag_count >= FLAGS_FOR_LIST


@dataclass
class WatchRow:
    practice: Practice
    score: PracticeScore | None
    entry: WatchEntry | None
    by_score: bool

    @property
    def on_list(self) -> bool:
        if self.entry is not None:
            return self.entry.status != WatchEntry.Status.REMOVED
        return self.by_score

    @property
    def reasons(self) -> list[str]:
        """The top reasons in words: the three largest contributions (to the deployed model's log-odds when a model
        ranks the run, else to the composite)."""
        if self.score is None:
            return []
        model = [e for e in self.score.model_explanation if (e.get("contribution") or 0) > 0]
        if model:
            return [
                f"{e['title']} (raises the chance of closing by {e['contribution']:+.2f} log-odds)" for e in model[:3]
            ]
        items = [e for e in self.score.explanation if e.get("contribution") is not None]
        items.sort(key=lambda e: -(e["contribution"] or 0))
        return [e["sentence"] for e in items[:3]]

    @property
    def trend(self) -> list[tuple[str, float | None]]:
        """(year, composite) at each financial-year end with data, oldest first."""
        if self.score is None:
            return []
        return [(d[:4], v) for d, v in sorted(self.score.trend.items())]

    @property
    def review_due(self) -> date | None:
        return self.entry.review_due if self.entry else None

    @property
    def review_overdue(self) -> bool:
        return bool(self.entry and self.entry.review_overdue and self.on_list)


def watch_rows(icb: ICB, run: ScoringRun | None, *, listed_or_decided: bool = False) -> list[WatchRow]:
    """Every open practice of the ICB with its score and the ICB's decision, most pressure first.

    ``listed_or_decided``: only the practices on the list by score or with a decision of the ICB's, a superset of the
    rows the "on the list" and "taken off" views show. The watch list is the busiest page of an ICB team and building
    every practice and score of a large ICB was most of its time (``bench/load.py``).
    """
    entries = {e.practice_id: e for e in WatchEntry.objects.filter(icb=icb).select_related("updated_by")}
    n = run.practice_count if run else 0
    practice_qs = Practice.objects.filter(icb=icb, status=PracticeStatus.ACTIVE)
    score_qs = PracticeScore.objects.filter(run=run, practice__icb=icb, practice__status=PracticeStatus.ACTIVE)
    if listed_or_decided:
        by_score = Q(rank__lte=score_cutoff(n)) | Q(flag_count__gte=FLAGS_FOR_LIST)
        score_qs = score_qs.filter(by_score | Q(practice_id__in=list(entries)))
        wanted = set(entries) | set(score_qs.values_list("practice_id", flat=True)) if run is not None else set(entries)
        practice_qs = practice_qs.filter(pk__in=wanted)
    # Only the columns the list shows; the per-indicator explanation is the bulk of each score and only the rows
    # shown need it: see ``load_explanations``.
    practices = {p.pk: p for p in practice_qs.only("code", "name", "status", "icb_id", "pcn_id")}
    scores = {}
    if run is not None:
        scores = {
            s.practice_id: s
            for s in score_qs.only(
                "practice_id", "run_id", "icb_id", "composite", "rank", "icb_rank", "flag_count", "flags", "trend"
            )
        }
    rows = [
        WatchRow(p, scores.get(pk), entries.get(pk), bool(scores.get(pk) and listed_by_score(scores[pk], n)))
        for pk, p in practices.items()
    ]
    rows.sort(key=lambda r: (r.score is None or r.score.composite is None, -(r.score.composite or 0) if r.score else 0))
    return rows


def shown_watch_rows(
    icb: ICB, run: ScoringRun | None, *, show: str = "listed", flag: str = "", overdue_only: bool = False
) -> list[WatchRow]:
    """The watch list as the page and the API show it: ``show`` is "listed" (on the list), "removed" (taken off by
    the ICB) or "all"; then only practices meeting the national criterion ``flag``, or with an overdue review."""
    rows = watch_rows(icb, run, listed_or_decided=show != "all")
    if show == "listed":
        rows = [r for r in rows if r.on_list]
    elif show == "removed":
        rows = [r for r in rows if r.entry and r.entry.status == WatchEntry.Status.REMOVED]
    if flag:
        rows = [r for r in rows if r.score and flag in r.score.flags]
    if overdue_only:
        rows = [r for r in rows if r.review_overdue]
    return rows


def flags_met_in(icb: ICB, run: ScoringRun | None) -> list[str]:
    """The national criteria met by at least one open practice of the ICB: the watch list's filter choices."""
    if run is None:
        return []
    found = PracticeScore.objects.filter(
        run=run, practice__icb=icb, practice__status=PracticeStatus.ACTIVE, flag_count__gt=0
    ).values_list("flags", flat=True)
    return sorted({f for flags in found for f in flags})


@dataclass
class WatchSummaryRow:
    """One ICB's watch-list counts for the national team: numbers only, no practice named."""

    icb: ICB
    open: int
    by_score: int
    added: int
    removed: int
    overdue: int


def watch_summary(run: ScoringRun | None) -> list[WatchSummaryRow]:
    """Counts per ICB (open practices, on the list by score, added, removed, reviews overdue), by region then name."""
    if run is None:
        return []
    cutoff = score_cutoff(run.practice_count)
    by_score = dict(
        PracticeScore.objects.filter(run=run, practice__status=PracticeStatus.ACTIVE)
        .filter(Q(rank__lte=cutoff) | Q(flag_count__gte=FLAGS_FOR_LIST))
        .values_list("icb")
        .annotate(n=Count("id"))
    )
    entries: dict[int, list[WatchEntry]] = {}
    for e in WatchEntry.objects.all():
        entries.setdefault(e.icb_id, []).append(e)
    # Counted on their own, from the (icb, status) index: annotating the ICB query joined and grouped every practice
    # row with the ICB and region columns, which took SQLite most of this page's time.
    open_n = dict(
        Practice.objects.filter(status=PracticeStatus.ACTIVE, icb__isnull=False)
        .values_list("icb")
        .annotate(n=Count("id"))
        .order_by()
    )
    rows = []
    for icb in ICB.objects.select_related("region").order_by("region__name", "name"):
        mine = entries.get(icb.pk, [])
        rows.append(
            WatchSummaryRow(
                icb=icb,
                open=open_n.get(icb.pk, 0),
                by_score=by_score.get(icb.pk, 0),
                added=sum(e.status == WatchEntry.Status.ADDED for e in mine),
                removed=sum(e.status == WatchEntry.Status.REMOVED for e in mine),
                overdue=sum(e.review_overdue and e.status != WatchEntry.Status.REMOVED for e in mine),
            )
        )
    return rows


def load_explanations(rows: list[WatchRow]) -> list[WatchRow]:
    """Fill in the explanations (for ``WatchRow.reasons``) of the rows about to be shown, in one query."""
    wanted = [r.score for r in rows if r.score is not None]
    found = {
        pk: (explanation, model)
        for pk, explanation, model in PracticeScore.objects.filter(pk__in=[s.pk for s in wanted]).values_list(
            "pk", "explanation", "model_explanation"
        )
    }
    for score in wanted:
        score.explanation, score.model_explanation = found.get(score.pk, ([], []))
    return rows


def _check(user: User, practice: Practice, rationale: str) -> ICB:
    if practice.icb is None or not can_edit_watch_list(user, practice.icb):
        raise PermissionDenied("only the practice's own ICB team can change its watch-list entry")
    if len(rationale.strip()) < MIN_RATIONALE:
        raise ValidationError(f"Give a rationale of at least {MIN_RATIONALE} characters: every decision is recorded")
    return practice.icb


def _score_now(practice: Practice) -> float | None:
    run = current_run()
    if run is None:
        return None
    s = PracticeScore.objects.filter(run=run, practice=practice).first()
    return s.composite if s else None


def _record(entry: WatchEntry, action: str, old: str, new: str, rationale: str, user: User) -> None:
    """The immutable, attributed history row every decision writes, with the score at the time."""
    WatchChange.objects.create(
        entry=entry,
        action=action,
        old_value=old,
        new_value=new,
        rationale=rationale,
        score_at_change=_score_now(entry.practice),
        by=user,
    )


def _entry(icb: ICB, practice: Practice, user: User, rationale: str, status: str) -> tuple[WatchEntry, str]:
    entry = WatchEntry.objects.select_for_update().filter(icb=icb, practice=practice).first()
    if entry is None:
        entry = WatchEntry(
            icb=icb,
            practice=practice,
            status=status,
            rationale=rationale,
            updated_by=user,
            review_due=date.today() + REVIEW_INTERVAL,
        )
        return entry, ""
    return entry, entry.status


def _set_status(
    user: User, practice: Practice, rationale: str, status: str, refuse_if: set[str], refusal: str
) -> WatchEntry:
    """Put the practice on or off the ICB's list, with the rationale, and record the change."""
    icb = _check(user, practice, rationale)
    entry, old = _entry(icb, practice, user, rationale, status)
    if old in refuse_if:
        raise ValidationError(refusal)
    entry.status, entry.rationale, entry.updated_by = status, rationale, user
    if status == WatchEntry.Status.ADDED:
        entry.review_due = date.today() + REVIEW_INTERVAL
    entry.save()
    action = WatchChange.Action.ADD if status == WatchEntry.Status.ADDED else WatchChange.Action.REMOVE
    _record(entry, action, old, status, rationale, user)
    return entry


@transaction.atomic
def add_to_watch_list(user: User, practice: Practice, rationale: str) -> WatchEntry:
    return _set_status(
        user,
        practice,
        rationale,
        WatchEntry.Status.ADDED,
        {WatchEntry.Status.ADDED, WatchEntry.Status.FOLLOWED},
        "This practice is already on the watch list",
    )


@transaction.atomic
def remove_from_watch_list(user: User, practice: Practice, rationale: str) -> WatchEntry:
    return _set_status(
        user,
        practice,
        rationale,
        WatchEntry.Status.REMOVED,
        {WatchEntry.Status.REMOVED},
        "This practice is already removed from the watch list",
    )


@transaction.atomic
def set_local_rating(user: User, practice: Practice, rating: str, rationale: str) -> WatchEntry:
    icb = _check(user, practice, rationale)
    if rating not in LocalRating.values:
        raise ValidationError(f"Choose a rating: {', '.join(LocalRating.labels)}")
    entry, _ = _entry(icb, practice, user, rationale, WatchEntry.Status.FOLLOWED)
    old = entry.local_rating
    if old == rating:
        raise ValidationError("The rating is already that")
    entry.local_rating, entry.rationale, entry.updated_by = rating, rationale, user
    entry.save()
    _record(entry, WatchChange.Action.RATE, old, rating, rationale, user)
    return entry


@transaction.atomic
def record_review(user: User, practice: Practice, rationale: str) -> WatchEntry:
    """The six-monthly review: what was decided, and the next review date."""
    icb = _check(user, practice, rationale)
    entry, _ = _entry(icb, practice, user, rationale, WatchEntry.Status.FOLLOWED)
    old = entry.review_due.isoformat() if entry.pk else ""
    entry.review_due = date.today() + REVIEW_INTERVAL
    entry.rationale, entry.updated_by = rationale, user
    entry.save()
    _record(entry, WatchChange.Action.REVIEW, old, entry.review_due.isoformat(), rationale, user)
    return entry
