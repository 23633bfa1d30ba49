from django.apps import AppConfig


class CohortsConfig(AppConfig):
    """Above delivery: a cohort is delivered by a provider organisation and practice-manager development links its
    networks and coaching to the offer; below the API, which serves cohorts like every other area."""

    name = "apps.cohorts"
    verbose_name = "Cohorts of universal offers"
