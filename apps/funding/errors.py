"""The money services' refusal: :class:`FundingError`, a :class:`~apps.core.errors.DomainError` like every other.

A service that finds several things wrong with its input at once (setting up a programme, recording a payment)
says all of them in one ``FundingError`` (:meth:`FundingError.all_of`), so a page shows every problem together in
the error summary, each next to its field where it has one.
"""

from __future__ import annotations

from collections.abc import Sequence

from apps.core.errors import DomainError


class FundingError(DomainError):
    """A money step refused: what was wrong, and the input at fault (``"amount"``, ``"reason"``...) if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message, field)
        self.problems: list[FundingError] = [self]

    @classmethod
    def all_of(cls, problems: Sequence[FundingError]) -> FundingError:
        """One refusal carrying every problem found (``problems`` is not empty): its message is theirs joined, its
        field the first one's."""
        first = problems[0]
        joined = cls("; ".join(p.message for p in problems), first.field)
        joined.problems = list(problems)
        return joined

    @property
    def messages(self) -> list[str]:
        """Every problem's message, in the order found."""
        return [p.message for p in self.problems]

    def as_errors(self) -> dict[str, str]:
        """``{field: message}`` for every problem; two on one field (or on none) are joined in one message."""
        errors: dict[str, str] = {}
        for p in self.problems:
            key = p.field or ""
            errors[key] = f"{errors[key]}; {p.message}" if key in errors else p.message
        return errors
