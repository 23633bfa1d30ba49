"""A big upload's preview and commit, worked in the background so the upload page answers at once and shows how
far they have got.

Both take ids and are idempotent: a second preview run stores the same result; a second commit run finds the upload
imported (or refused) and does nothing, and a run that crashed rolled its one transaction back."""

from __future__ import annotations

from django.tasks import task

from apps.caseload.models import CaseloadUpload


@task
def plan_upload(upload_id: int) -> None:
    from apps.caseload import services

    upload = CaseloadUpload.objects.select_related("icb").filter(pk=upload_id).first()
    if upload is not None and upload.status == CaseloadUpload.Status.UPLOADED:
        services.store_plan(upload)


@task
def commit_upload_in_background(upload_id: int, user_id: int) -> None:
    from apps.caseload import services

    services.run_queued_commit(upload_id, user_id)
