"""Assignment and sessions on a case: who delivers each line, planning a session, logging and confirming one."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from apps.accounts.http import user_of
from apps.accounts.models import User
from apps.cases.models import Case, Package, PackageLine
from apps.core.forms import typed
from apps.delivery import policy as access
from apps.delivery import services
from apps.delivery.errors import DeliveryError
from apps.delivery.forms.sessions import AssignForm, PlanSessionForm, SessionLogForm
from apps.delivery.models import ATTENDEE_ROLES, Assignment, FacultyMember, ProviderOrganisation, Session
from apps.delivery.services import amendments
from apps.delivery.views import session_history
from apps.delivery.views.common import page_errors, refuse

# The session page's name for what the service calls ``cancelled_reason``.
LOG_ALIASES = {"cancelled_reason": "reason"}
LOG_FIELDS = ("outcome", "hours", "notes", "reason", *(f"att-{k}" for k in ATTENDEE_ROLES))


def case_delivery(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    case = access.get_case_for(user, pk)
    errors: dict[str, str] = {}
    can_assign = access.can_assign_delivery(user, case)
    if request.method == "POST":
        if not can_assign:
            raise PermissionDenied
        form = AssignForm(request.POST)
        if form.is_valid():
            line = get_object_or_404(PackageLine, pk=form.cleaned_data["line"], package__case=case)
            try:
                a = _assign(user, line, form.cleaned_data["who"], form.cleaned_data["hours"])
            except DeliveryError as e:
                refuse(form, e)
            else:
                messages.success(request, f"{a.line.offer.title} assigned to {a.deliverer}.")
                return redirect("delivery:case", pk=case.pk)
        # Each line has its own form on the page: a message is shown in the summary, not linked to one line's box.
        errors = page_errors(form, ())
    return render(request, "delivery/case.jinja", _case_context(user, case, errors), status=400 if errors else 200)


def _assign(user: User, line: PackageLine, who: tuple[str, int], hours: float | None) -> Assignment:
    kind, pk = who
    if kind == "m":
        m = FacultyMember.objects.filter(pk=pk).first()
        if m is None:
            raise DeliveryError("Choose who delivers this line.", field="who")
        return services.assign_work(user, line, member=m, hours=hours)
    org = ProviderOrganisation.objects.filter(pk=pk).first()
    if org is None:
        raise DeliveryError("Choose who delivers this line.", field="who")
    return services.assign_work(user, line, organisation=org, hours=hours)


def _case_context(user: User, case: Case, errors: dict[str, str]) -> dict[str, Any]:
    can_assign = access.can_assign_delivery(user, case)
    packages = list(case.packages.filter(state=Package.State.APPROVED).prefetch_related("lines__offer"))
    every = [(pkg, ln) for pkg in packages for ln in pkg.lines.all()]
    for pkg, ln in every:
        ln.package = pkg  # the checks read the line's package and case: the ones already loaded
        pkg.case = case
    # every line checked at once: a fixed number of queries however many lines the packages have
    cands = services.candidates_by_line([ln for _, ln in every]) if can_assign else {}
    orgs = services.organisations_by_line([ln for _, ln in every]) if can_assign else {}
    live: dict[int, Assignment] = {}
    for a in (
        Assignment.objects.filter(line__in=[ln for _, ln in every], ended_at__isnull=True)
        .select_related("member", "organisation")
        .order_by("-assigned_at", "-pk")
    ):
        live[a.line_id] = a  # the earliest last, so kept: what each line's .first() gave
    lines = [
        {
            "line": ln,
            "package": pkg,
            "live": live.get(ln.pk),
            "candidates": cands.get(ln.pk, []),
            "orgs": orgs.get(ln.pk, []),
            "hours": services.line_hours(ln),
        }
        for pkg, ln in every
    ]
    sessions = amendments.with_dispute_flag(
        access.sessions_visible_to(user).filter(case=case).select_related("member", "assignment__line__offer")
    )
    return {
        "case": case,
        "lines": lines,
        "sessions": sessions,
        "counts": services.session_counts(sessions),
        "can_assign": can_assign,
        "can_plan": can_assign
        or any(access.delivers(user, d["live"]) for d in lines if d["live"] and d["live"].member_id),
        "in_delivery": case.status in services.DELIVERY_STATUSES,
        "errors": errors,
    }


def plan_session(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    case = access.get_case_for(user, pk)
    assignments = [
        a
        for a in Assignment.objects.filter(case=case, ended_at__isnull=True, member__isnull=False).select_related(
            "member", "organisation", "line__offer"
        )
        if access.can_assign_delivery(user, case) or access.delivers(user, a)
    ]
    if not assignments:
        raise PermissionDenied
    errors: dict[str, str] = {}
    initial = {"hours": "1.5", "assignment": str(assignments[0].pk)}
    form = PlanSessionForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                a = next((x for x in assignments if x.pk == d["assignment"]), None)
                if a is None:
                    raise DeliveryError("Choose the line this session delivers.", field="assignment")
                s = services.plan_session(user, a, d["starts_at"], d["hours"], d["title"])
            except DeliveryError as e:
                refuse(form, e)
            else:
                messages.success(request, f"Session planned for {timezone.localtime(s.starts_at):%d %B %Y at %H:%M}.")
                return redirect("delivery:case", pk=case.pk)
        errors = page_errors(form, list(form.fields))
    ctx = {"case": case, "assignments": assignments, "data": typed(form), "errors": errors}
    return render(request, "delivery/plan_session.jinja", ctx, status=400 if errors else 200)


def session(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    s = access.get_session_for(user, pk)
    errors: dict[str, str] = {}
    form: dict[str, Any] = {
        "outcome": "cancelled" if s.state == Session.State.CANCELLED else "delivered",
        "hours": f"{s.delivered_hours or s.planned_hours:g}",
        "notes": s.notes,
        "reason": s.cancelled_reason,
        **{f"att-{k}": str(s.attendees.get(k, "")) for k in ATTENDEE_ROLES},
    }
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "log":
            form = {k: request.POST.get(k, "") for k in form}
            log = SessionLogForm(request.POST)
            group = ""  # a refusal about the attendees as a whole (nobody, an unknown role): the group's, not a box's
            if log.is_valid():
                try:
                    s = services.log_session(user, s, log.cleaned_data["log"])
                except DeliveryError as e:
                    if e.field == "attendees":
                        group = e.message
                    else:
                        refuse(log, e, LOG_ALIASES)
                else:
                    messages.success(
                        request,
                        "Session logged and signed off: the practice has been asked to confirm it."
                        if s.signed_off_at
                        else "Session logged.",
                    )
                    return redirect("delivery:session", pk=s.pk)
            errors = {"attendees": group} if group else page_errors(log, LOG_FIELDS)
        elif action in session_history.ACTIONS:
            errors = session_history.handle(request, user, s, action)
            if not errors:
                return redirect("delivery:session", pk=s.pk)
            form = {k: request.POST.get(k, "") for k in (*form, *session_history.FIELDS)}
        else:
            errors = _one_click(request, user, s, action)
            if not errors:
                return redirect("delivery:session", pk=s.pk)
        s = access.get_session_for(user, pk)
    ctx = {
        "s": s,
        "roles": ATTENDEE_ROLES,
        "form": form,
        "errors": errors,
        "can_log": access.can_log_session(user, s) and not s.signed_off_at,
        "started": s.starts_at <= timezone.now(),
        **session_history.context(user, s),
    }
    if errors and not any(ctx[k] for k in ("can_log", "can_amend", "can_dispute", "can_resolve")):
        errors = {"": " ".join(errors.values())}  # the log form is not on the page: nothing to link to
        ctx["errors"] = errors
    return render(request, "delivery/session.jinja", ctx, status=400 if errors else 200)


def _one_click(request: HttpRequest, user: User, s: Session, action: str) -> dict[str, str]:
    """Sign off or confirm: no input, so the only refusal is the session's state (shown unlinked)."""
    try:
        if action == "sign_off":
            services.sign_off_session(user, s)
            messages.success(request, "Session signed off: the practice has been asked to confirm it.")
        elif action == "confirm":
            services.confirm_session(user, s)
            messages.success(request, "Thank you: the session is confirmed.")
        else:
            raise DeliveryError("Choose an action.")
    except DeliveryError as e:
        return {"": e.message}
    return {}
