"""The delivery app's refusal: a :class:`~apps.core.errors.DomainError`, so pages and the API show it the one way."""

from __future__ import annotations

from apps.core.errors import DomainError


class DeliveryError(DomainError):
    """A delivery step refused (``field``: the input at fault, if any)."""
