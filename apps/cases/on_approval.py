"""What else happens when a package is approved, in one place a reader of ``approve_package`` can follow.

``approve_package`` (``apps.cases.services``) calls :func:`package_approved` inside its transaction, right after the
package is saved as approved; each step below then runs in order, and a step that fails undoes the approval.

The steps belong to apps that build on cases (delivery today), which cases must not import: a step is named here by
its dotted path and looked up when it runs, so the dependency stays one way (delivery → cases) while the list stays
readable. Add a step by adding its path, and a test that approving a package does it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from apps.cases.models import Package

STEPS: tuple[str, ...] = (
    # The outcome baseline: the practice's national data and health check as they were when support was approved.
    "apps.delivery.outcomes.take_baseline_on_approval",
)


def package_approved(package: Package) -> None:
    """Run every step of :data:`STEPS` for a package that has just been approved (``decided_by`` is its approver)."""
    for path in STEPS:
        import_string(path)(package)
