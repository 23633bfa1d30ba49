"""Personal API tokens. Only a SHA-256 digest of each token is stored; the token itself is shown once, on creation.

A token acts as its user: the API asks the same access chokepoints (each app's ``policy`` module) as the pages, so a
token never sees more than its user would in the browser. SHA-256 (not a slow password hash) is right here because
tokens are 256 random bits, not guessable words, and every API request must check one quickly.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'monthly report script'")
    prefix = models.CharField(max_length=16, help_text="The token's first characters, to tell tokens apart")
    token_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotentRequest(models.Model):
    """The first successful answer to a write sent with an ``Idempotency-Key`` header (``apps.api.idempotency``):
    a retry with the same key and the same body gets this answer again instead of doing the write twice."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    operation = models.CharField(max_length=100)
    request_sha256 = models.CharField(max_length=64, help_text="Digest of the operation and its body")
    status = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="one_answer_per_idempotency_key")]

    def __str__(self) -> str:
        return f"{self.operation} {self.key} by {self.user_id}"
