from typing import Any

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        from apps.core import audit

        audit.connect()
        _attribute_commands_to_their_operator()


def _attribute_commands_to_their_operator() -> None:
    """Every management command's changes are audited as ``command:<name> by <OS user>``, not as "system".

    Django has no hook that runs before a command, and the commands that change what users see are not all ours
    (``shell``, ``loaddata``, django-tasks-db's ``db_worker``), so the one entry point they all share,
    ``BaseCommand.execute``, is wrapped here once. A request or an API token inside a command (none today) would
    still name its own user: ``acting_as`` nests.
    """
    from django.core.management.base import BaseCommand

    from apps.core import audit

    if getattr(BaseCommand.execute, "audited", False):
        return
    plain = BaseCommand.execute

    def execute(self: BaseCommand, *args: Any, **options: Any) -> Any:
        with audit.acting_as(audit.command_actor(type(self).__module__.rsplit(".", 1)[-1])):
            return plain(self, *args, **options)

    execute.audited = True  # type: ignore[attr-defined]
    BaseCommand.execute = execute  # type: ignore[method-assign]
