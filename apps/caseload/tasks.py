"""Working out a big upload's preview in the background, so the upload page answers at once and shows progress.

Takes the upload's id; idempotent (a second run works the same preview out again and stores the same result)."""

from __future__ import annotations

from django.tasks import task

from apps.caseload.models import CaseloadUpload


@task
def plan_upload(upload_id: int) -> None:
    from apps.caseload import services

    upload = CaseloadUpload.objects.select_related("icb").filter(pk=upload_id).first()
    if upload is not None and upload.status == CaseloadUpload.Status.UPLOADED:
        services.store_plan(upload)
