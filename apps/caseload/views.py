"""Bring existing work in: the upload page, the column choice and row-by-row preview, the commit, the template."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from apps.accounts.models import User
from apps.caseload import plan as planning
from apps.caseload import reading, services, templates
from apps.caseload.forms import ColumnsForm, UploadForm
from apps.caseload.models import CaseloadUpload
from apps.caseload.policy import get_upload_for, import_icb
from apps.core.exports import FORMATS
from apps.core.forms import form_errors, refusal

PREVIEW_PAGE = 100
SHOWS = {"all": None, "errors": planning.ERROR, "create": planning.CREATE, "update": planning.UPDATE}


def _icb_or_403(user: User) -> services.ICB:
    icb = import_icb(user)
    if icb is None:
        raise PermissionDenied("Only an ICB's own team brings its existing work in")
    return icb


def home(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    icb = _icb_or_403(user)
    context = {"icb": icb, "uploads": CaseloadUpload.objects.filter(icb=icb).select_related("uploaded_by")[:20]}
    if request.method != "POST":
        return render(request, "caseload/home.jinja", context)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return refusal(request, "caseload/home.jinja", context, form_errors(form))
    upload = form.cleaned_data["file"]
    try:
        made = services.upload_file(icb=icb, user=user, filename=upload.name, data=upload.read())
    except services.ImportRefused as e:
        return refusal(request, "caseload/home.jinja", context, e)
    return redirect("caseload:upload", made.pk)


def upload(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    _icb_or_403(user)
    item = get_upload_for(user, pk)
    errors: dict[str, str] = {}
    if request.method == "POST":
        if item.status != CaseloadUpload.Status.UPLOADED:
            errors = {"": "This upload is finished: upload the file again to import it again"}
        else:
            columns = ColumnsForm(request.POST)
            columns.is_valid()  # free boxes: the service checks each against the file's headers
            errors = services.choose_columns(upload=item, user=user, mapping=columns.mapping())
            if not errors:
                return redirect("caseload:upload", item.pk)
    seen = services.shown_preview(item)
    show = request.GET.get("show", "all")
    show = show if show in SHOWS else "all"
    rows = seen.plan.rows if seen.plan else []
    wanted = SHOWS[show]
    listed = [r for r in rows if r.action == wanted] if wanted else rows
    context = {
        "upload": item,
        "preview": seen,
        "columns": reading.COLUMNS,
        "show": show,
        "page": Paginator(listed, PREVIEW_PAGE).get_page(request.GET.get("page")),
        "labels": planning.ACTION_LABELS,
        "errors": errors or seen.mapping_problems,
        "importing": {k: datetime.fromisoformat(v) for k, v in item.outcome.items() if k.endswith("_at")}
        if item.status == CaseloadUpload.Status.COMMITTING
        else {},
        "can_commit": bool(
            seen.plan
            and not seen.plan.errors
            and not seen.plan.budget_errors
            and item.status == CaseloadUpload.Status.UPLOADED
        ),
    }
    return render(request, "caseload/upload.jinja", context, status=400 if errors else 200)


def commit(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    _icb_or_403(user)
    item = get_upload_for(user, pk)
    if request.method != "POST":
        return redirect("caseload:upload", item.pk)
    try:
        done = services.request_commit(upload=item, user=user)
    except services.ImportRefused as e:
        messages.error(request, e.message)
        return redirect("caseload:upload", item.pk)
    if done is None:
        messages.success(request, f"Importing {item.filename} in the background: this page shows when it is done.")
        return redirect("caseload:upload", item.pk)
    c = done.counts
    messages.success(
        request,
        f"Imported {item.filename}: {c[planning.CREATE]} cases created, {c[planning.UPDATE]} updated, "
        f"{c[planning.UNCHANGED]} already here.",
    )
    return redirect("caseload:upload", item.pk)


def template(request: HttpRequest, fmt: str) -> HttpResponse:
    _icb_or_403(request.user)  # type: ignore[arg-type]
    if fmt not in FORMATS:
        raise PermissionDenied("Choose csv or xlsx")
    return templates.download(fmt)
