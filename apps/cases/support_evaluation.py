"""Did support work? The supported practices (an approved package) and their evaluation against matched
comparisons (method in :mod:`analytics.support_eval`). Aggregates only: no practice is named."""

from __future__ import annotations

import polars as pl
from django.core.cache import cache
from django.db.models import Count, Max, Min

from analytics.history import History
from analytics.support_eval import Evaluation, evaluate
from apps.cases.models import Package
from apps.datasets.models import ImportLog
from apps.indicators.history_db import load_history


def supported_practices() -> pl.DataFrame:
    """practice_code, start: each practice with an approved package, from its first approval."""
    rows = (
        Package.objects.filter(state=Package.State.APPROVED, decided_at__isnull=False)
        .values("case__practice__code")
        .annotate(start=Min("decided_at"))
        .values_list("case__practice__code", "start")
    )
    data = [(code, when.date()) for code, when in rows]
    return pl.DataFrame(data, schema={"practice_code": pl.Utf8, "start": pl.Date}, orient="row")


def evaluate_support(history: History | None = None) -> Evaluation:
    return evaluate(history if history is not None else load_history(), supported_practices())


def evaluate_support_for_page() -> Evaluation:
    """The evaluation the page shows, kept in the cache until its inputs change.

    Loading the national history takes seconds, and the answer changes only when a national file is loaded or a
    package is approved; so the key is made of those two (the newest import log row, and the approved packages'
    count and newest decision) and a page view after the first reads the stored result."""
    packages = Package.objects.filter(state=Package.State.APPROVED).aggregate(n=Count("pk"), last=Max("decided_at"))
    newest_import = ImportLog.objects.aggregate(last=Max("pk"))["last"]
    key = f"support-evaluation:{newest_import}:{packages['n']}:{packages['last']}"
    result: Evaluation | None = cache.get(key)
    if result is None:
        result = evaluate_support()
        cache.set(key, result, timeout=None)
    return result
