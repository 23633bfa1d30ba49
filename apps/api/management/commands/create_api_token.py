"""Create a named API token for a user and print it once (only its SHA-256 fingerprint is stored).

    manage.py create_api_token USERNAME --name "monthly report script"

The token acts as that user: the API applies the same access rules as the pages. Revoke it on the user's API tokens
page (/accounts/api-tokens/) when it is no longer needed.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.models import User
from apps.api.services import create_api_token


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="the user the token acts as")
        parser.add_argument("--name", required=True, help="what the token is for (shown on the tokens page)")

    def handle(self, *args: Any, **opts: Any) -> None:
        user = User.objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"no user called {opts['username']!r}")
        try:
            token, raw = create_api_token(user, opts["name"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"Created token {token.name!r} for {user.username} (id {token.pk}). It is shown only once:")
        self.stdout.write(raw)
