"""One way to refuse a step: :class:`DomainError`, raised by services and shown by pages and the API alike.

A service that refuses raises a subclass of ``DomainError`` (``CaseError``, ``DeliveryError``, ``TeamError``,
``InsufficientFunds``...) with a message the user can act on and, when the input is at fault, the ``field`` that was
wrong. Pages show it with :func:`apps.core.forms.refusal` (the NHS.UK error summary, the message next to its field);
the API answers 422 with the same message and field (``apps.api.main``). Nothing else is needed to add a new rule:
raise, and both doors show it.
"""

from __future__ import annotations


class DomainError(Exception):
    """A step refused, in words the user can act on.

    ``field`` names the input that was wrong (``"hours"``, ``"amount"``...) when the input is at fault, so that a
    form or the API can point at it; it is ``None`` when the step is refused whatever the input (the record's state,
    or the user's right to act).
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    @property
    def message(self) -> str:
        return str(self)

    def as_errors(self) -> dict[str, str]:
        """``{field: message}`` for a form's error summary; a refusal not tied to a field is keyed ``""``."""
        return {self.field or "": self.message}
