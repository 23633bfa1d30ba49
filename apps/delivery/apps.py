from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    """The outcome baseline taken when a package is approved is an explicit step of ``approve_package``, listed in
    :mod:`apps.cases.on_approval` (it was a ``post_save`` receiver here, which no reader of the approval could see)."""

    name = "apps.delivery"
    verbose_name = "Delivery, faculty, outcomes and practice-manager networks"
