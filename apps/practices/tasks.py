"""Background task: write a large register download (``apps.practices.downloads``) for the worker to keep."""

from __future__ import annotations

from django.tasks import task


@task
def write_register_download(user_id: int, params: dict[str, list[str]], filename: str) -> int:
    """Write the XLSX of the register rows these search parameters select, as the user sees the register; returns the
    number of rows. Idempotent: the same rows make the same file, kept once under their digest."""
    from apps.accounts.models import User
    from apps.practices import downloads

    rows = downloads.search_rows(User.objects.get(pk=user_id), params)
    downloads.write(rows, downloads.EXPORT_COLUMNS, filename)
    return len(rows)
