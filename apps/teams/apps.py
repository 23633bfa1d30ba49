from django.apps import AppConfig


class TeamsConfig(AppConfig):
    """Team administration: invitations, team leads, deactivation. It sits above the register, delivery and the API
    (an invitation names an ICB, a practice or a provider organisation; deactivation ends API and calendar tokens),
    so that ``accounts`` (users, roles, memberships) imports no feature app. The ``Invitation`` model stays in
    ``accounts``."""

    name = "apps.teams"
    label = "teams"
