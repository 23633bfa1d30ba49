from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_save


class DeliveryConfig(AppConfig):
    name = "apps.delivery"
    verbose_name = "Delivery, faculty, outcomes and practice-manager networks"

    def ready(self) -> None:
        from apps.cases.models import Package

        post_save.connect(_package_saved, sender=Package, dispatch_uid="delivery_baseline_on_approval")


def _package_saved(sender: type, instance: Any, **kwargs: Any) -> None:
    """The outcome baseline is taken when a package is approved (the cases app need not know about delivery)."""
    from apps.cases.models import Package
    from apps.delivery.outcomes import take_baseline_on_approval

    if instance.state == Package.State.APPROVED and not kwargs.get("raw"):
        take_baseline_on_approval(instance)
