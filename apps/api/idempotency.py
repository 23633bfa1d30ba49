"""``Idempotency-Key`` for API writes: a client that retries a request (a timeout, a dropped connection) sends the
same key and gets the first answer back instead of a second write.

The key is per user. The first successful answer is stored in the same transaction as the write, so either both are
kept or neither; two identical requests racing both try to store under the key, the database's unique constraint
lets one win, the loser's write is rolled back and it answers the winner's stored result. A key sent again with a
different body is refused (409): it is a client error, not a retry. Refusals (400 and the like) are not stored: the
request did nothing, so retrying it is safe and may succeed once the cause is gone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from apps.accounts.models import User
from apps.api.models import IdempotentRequest

HEADER = "Idempotency-Key"
MAX_KEY = 100


class KeyProblem(ValueError):
    """The header is unusable (the message says why); answered as 400, or 409 for a key reused differently."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def key_of(request: HttpRequest) -> str:
    key = request.headers.get(HEADER, "").strip()
    if len(key) > MAX_KEY or not key.isascii() or not key.isprintable():
        raise KeyProblem(f"{HEADER} must be at most {MAX_KEY} printable ASCII characters")
    return key


def _digest(operation: str, body: dict[str, Any]) -> str:
    canonical = json.dumps([operation, body], sort_keys=True, cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _stored(user: User, key: str, digest: str) -> tuple[int, Any] | None:
    prior = IdempotentRequest.objects.filter(user=user, key=key).first()
    if prior is None:
        return None
    if prior.request_sha256 != digest:
        raise KeyProblem(f"This {HEADER} was already used for a different request", status=409)
    return prior.status, prior.response


def once(
    request: HttpRequest, user: User, operation: str, body: dict[str, Any], write: Callable[[], tuple[int, Any]]
) -> tuple[int, Any]:
    """Run ``write`` (which answers ``(status, json)``) at most once per ``Idempotency-Key``; without the header,
    just run it. A 2xx answer is stored with the key inside the write's transaction."""
    key = key_of(request)
    if not key:
        return write()
    digest = _digest(operation, body)
    stored = _stored(user, key, digest)
    if stored is not None:
        return stored
    try:
        with transaction.atomic():
            status, answer = write()
            if 200 <= status < 300:
                IdempotentRequest.objects.create(
                    user=user,
                    key=key,
                    operation=operation,
                    request_sha256=digest,
                    status=status,
                    response=json.loads(json.dumps(answer, cls=DjangoJSONEncoder)),
                )
    except IntegrityError:
        stored = _stored(user, key, digest)  # a racing twin stored its answer first; this write was rolled back
        if stored is None:
            raise
        return stored
    return status, answer
