"""An abstract base for history rows: written once, never changed or deleted through the ORM."""

from __future__ import annotations

from typing import Any

from django.db import models


class ImmutableRecord(models.Model):
    """Attributed history (case events, plan changes, triage decisions) may be added to, never rewritten."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and type(self)._default_manager.filter(pk=self.pk).exists():
            raise ValueError(f"{type(self).__name__} rows are history, immutable: they cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError(f"{type(self).__name__} rows are history, immutable: they cannot be deleted")
