"""Faculty pages: the faculty list and adding a member, one member (stages, conflicts, load), faculty growth."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from apps.accounts.http import user_of
from apps.accounts.models import User
from apps.cases.models import SupportOffer
from apps.core.forms import typed
from apps.delivery import charts, growth, policy, services
from apps.delivery import policy as access
from apps.delivery.errors import DeliveryError
from apps.delivery.forms.faculty import ConflictForm, MemberForm, StageForm
from apps.delivery.models import (
    STAGE_ORDER,
    Accreditation,
    FacultyMember,
    MemberRole,
    OrganisationKind,
    ProviderOrganisation,
    Stage,
)
from apps.delivery.views.common import page_errors, refuse
from apps.practices.models import ICB, PCN, Practice

# The add-member form's fields and the element each is shown in (the role radios are "role-new": "role" is the
# list's filter).
MEMBER_FIELDS = {f: f for f in MemberForm.base_fields} | {"role": "role-new"}


@access.require(access.can_see_faculty)
def faculty(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    errors: dict[str, str] = {}
    form = MemberForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not access.can_manage_faculty(user):
            raise PermissionDenied
        if form.is_valid():
            try:
                member = services.add_member(user, form.member_input())
            except DeliveryError as e:
                refuse(form, e)
            else:
                messages.success(request, f"{member.name} added to the faculty.")
                return redirect("delivery:member", pk=member.pk)
        errors = page_errors(form, MEMBER_FIELDS)
    ctx = _faculty_context(request, user, typed(form), errors)
    return render(request, "delivery/faculty.jinja", ctx, status=400 if errors else 200)


def _faculty_context(request: HttpRequest, user: User, data: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    role = request.GET.get("role", "")
    members = access.faculty_visible_to(user).select_related("organisation", "supervisor").prefetch_related("icbs")
    if role in MemberRole.values:
        members = members.filter(role=role)
    icb_code = request.GET.get("icb", "")
    if icb_code:
        members = members.filter(icbs__code=icb_code)
    orgs = ProviderOrganisation.objects.filter(pk__in=access.faculty_visible_to(user).values("organisation_id"))
    if access.can_manage_faculty(user):
        orgs = ProviderOrganisation.objects.all()
    return {
        "members": members,
        "organisations": orgs.prefetch_related("icbs", "offers"),
        "roles": MemberRole.choices,
        "role": role,
        "icb_code": icb_code,
        "icbs": ICB.objects.order_by("name"),
        "can_manage": access.can_manage_faculty(user),
        "offers": SupportOffer.objects.filter(active=True),
        "accreditations": Accreditation.choices,
        "supervisors": [m for m in FacultyMember.objects.active().select_related("organisation") if m.is_accredited],
        "org_kinds": dict(OrganisationKind.choices),
        "errors": errors,
        "data": data,
    }


@access.require(access.can_see_faculty)
def member(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    m = access.get_member_for(user, pk)
    if request.method == "POST":
        action = request.POST.get("action")
        form: StageForm | ConflictForm | None = None
        if action == "stage":
            form = StageForm(request.POST)
            if form.is_valid() and _record_stage(user, m, form):
                messages.success(request, "Stage recorded.")
                return redirect("delivery:member", pk=m.pk)
        elif action == "conflict":
            form = ConflictForm(request.POST)
            if form.is_valid() and _declare_conflict(user, m, form):
                messages.success(request, "Conflict of interest recorded: assignments will avoid it.")
                return redirect("delivery:member", pk=m.pk)
        m = access.get_member_for(user, pk)
        ctx = _member_context(user, m)
        shown = [
            *(("stage", "note") if ctx["can_manage"] and ctx["next_stage"] else ()),
            *(("where", "description") if ctx["can_declare"] else ()),
        ]
        ctx["errors"] = page_errors(form, shown) if form is not None else {"": "Choose an action."}
        return render(request, "delivery/member.jinja", ctx, status=400)
    return render(request, "delivery/member.jinja", _member_context(user, m))


def _record_stage(user: User, m: FacultyMember, form: StageForm) -> bool:
    try:
        services.record_stage(user, m, form.cleaned_data["stage"], form.cleaned_data["note"])
    except DeliveryError as e:
        refuse(form, e)
        return False
    return True


def _declare_conflict(user: User, m: FacultyMember, form: ConflictForm) -> bool:
    code = form.cleaned_data["where"]
    practice = Practice.objects.filter(code=code).first()
    pcn = PCN.objects.filter(code=code).first() if practice is None else None
    try:
        if practice is None and pcn is None:
            raise DeliveryError(f"No practice or PCN has the code “{code}”.", field="where")
        services.declare_conflict(user, m, form.cleaned_data["description"], practice=practice, pcn=pcn)
    except DeliveryError as e:
        refuse(form, e)
        return False
    return True


def _member_context(user: User, m: FacultyMember) -> dict[str, Any]:
    today = timezone.localdate()
    months = services.months_between(today, today + timedelta(days=150))
    load = services.load_by_month(m)
    next_stage = ""
    if policy.is_apprentice(m.role) and m.stage != Stage.ACCREDITED:
        here = STAGE_ORDER.index(m.stage) if m.stage else -1
        next_stage = STAGE_ORDER[here + 1]
    return {
        "m": m,
        "load": [(mo, load.get(mo, 0.0)) for mo in months],
        "stages": Stage.choices,
        "next_stage": next_stage,
        "changes": m.stage_changes.select_related("by"),
        "conflicts": access.conflicts_visible_to(user, m).select_related("practice", "pcn", "declared_by"),
        "assignments": access.assignments_listed_for(user, m).select_related("case__practice", "line__offer"),
        "can_manage": access.can_manage_faculty(user),
        "can_declare": access.can_manage_faculty(user) or m.user_id == user.pk,
        "is_apprentice": policy.is_apprentice(m.role),
        "errors": {},
    }


@access.require(access.can_see_faculty_growth)
def growth_page(request: HttpRequest) -> HttpResponse:
    g = growth.faculty_growth()
    ctx = {"g": g, "chart": charts.growth_chart(g)}
    return render(request, "delivery/growth.jinja", ctx)
