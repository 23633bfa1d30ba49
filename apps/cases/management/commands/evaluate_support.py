"""Did support work? Compare practices that received support with matched comparisons of similar pressure.

Prints each outcome (list change, GP FTE change, closure within 24 months) for the supported practices and their
comparisons, or "not enough data yet" while too few supported practices have follow-up data. Method: see
analytics/support_eval.py and the evaluation page.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from analytics import support_eval
from apps.cases.support_evaluation import evaluate_support


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args: Any, **opts: Any) -> None:
        result = evaluate_support()
        self.stdout.write((support_eval.__doc__ or "").strip().splitlines()[0])
        self.stdout.write(result.as_text())
