"""Delivery pages: the overview, faculty and growth, assignment, the session log, outcomes, the calendar.

Views are thin: data through :mod:`apps.accounts.access`, changes through the services, refusals shown as errors.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from apps.accounts.models import User
from apps.cases.models import Case, Package, PackageLine, PlanAction, SupportOffer
from apps.core.formdata import posted_id, posted_whole
from apps.core.paging import page_of, query_without
from apps.delivery import charts, growth, ical, outcomes, policy, services
from apps.delivery import policy as access
from apps.delivery.models import (
    ATTENDEE_ROLES,
    STAGE_ORDER,
    SURVEY_QUESTIONS,
    Accreditation,
    Assignment,
    FacultyMember,
    MemberRole,
    OrganisationKind,
    ProviderOrganisation,
    Rag,
    Session,
    SnapshotKind,
    Stage,
)
from apps.delivery.networks import upcoming_for
from apps.practices.models import ICB, PCN, Practice


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def parse_local_datetime(raw: str) -> datetime:
    """A ``datetime-local`` value (or "YYYY-MM-DD HH:MM") in UK time, as an aware datetime."""
    try:
        naive = datetime.fromisoformat(raw.strip().replace(" ", "T"))
    except ValueError:
        raise services.DeliveryError(f"“{raw.strip()}” is not a date and time, for example 2027-01-14 10:00.") from None
    if naive.tzinfo is not None:
        return naive
    return timezone.make_aware(naive, timezone.get_current_timezone())


def parse_date(raw: str, what: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise services.DeliveryError(f"Enter {what} as a date, for example 2027-01-31.") from None


def parse_float(raw: str, what: str) -> float:
    """A finite number: "nan" and "inf" parse as floats but pass every range check (NaN compares false), and a NaN
    written to the database is a NULL that the NOT NULL column refuses (a server error)."""
    try:
        value = float(raw.strip())
    except ValueError:
        raise services.DeliveryError(f"Enter {what} as a number.") from None
    if not math.isfinite(value):
        raise services.DeliveryError(f"Enter {what} as a number.")
    return value


# --- Overview ---------------------------------------------------------------------------------------------------


@access.require(access.can_see_delivery)
def home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    ctx: dict[str, Any] = {}
    if not access.sees_case_rows(user):  # the national team: counts per ICB
        # counted per ICB in the database: one row per ICB comes back, not one per line or session
        rows = dict(
            Assignment.objects.filter(ended_at__isnull=True)
            .order_by()
            .values_list("case__icb__name")
            .annotate(Count("pk"))
        )
        delivered = dict(
            Session.objects.filter(state=Session.State.DELIVERED)
            .order_by()
            .values_list("practice__icb__name")
            .annotate(Count("pk"))
        )
        ctx["national_rows"] = sorted(
            ((icb, rows.get(icb, 0), delivered.get(icb, 0)) for icb in set(rows) | set(delivered)), key=lambda r: r[0]
        )
    elif policy.oversees_icb_delivery(user):
        page = page_of(
            Assignment.objects.filter(case__in=access.cases_visible_to(user), ended_at__isnull=True)
            .select_related("case__practice", "line__offer", "member", "organisation")
            .order_by("case__opened_at", "pk"),
            request.GET.get("page"),
        )
        ctx["page"], ctx["assignments"] = page, page.object_list
        ctx["query_no_page"] = query_without(request.GET, "page")
        ctx["session_counts"] = {
            row["assignment_id"]: row
            for row in Session.objects.filter(assignment__in=[a.pk for a in page.object_list])
            .order_by()
            .values("assignment_id")
            .annotate(
                planned=Count("pk", filter=Q(state=Session.State.PLANNED)),
                delivered=Count("pk", filter=Q(state=Session.State.DELIVERED)),
                confirmed=Count("pk", filter=Q(confirmed_at__isnull=False)),
            )
        }
        ctx["cases"] = outcomes.supported_cases(access.cases_visible_to(user)).select_related("practice")
    else:
        sessions = access.sessions_visible_to(user).select_related("member", "practice")
        now = timezone.now()
        ctx["to_log"] = (
            sessions.filter(state=Session.State.PLANNED, starts_at__lte=now) if policy.is_faculty_login(user) else []
        )
        ctx["to_sign"] = (
            sessions.filter(state=Session.State.DELIVERED, signed_off_at__isnull=True)
            if policy.is_faculty_login(user)
            else []
        )
        ctx["to_confirm"] = (
            sessions.filter(signed_off_at__isnull=False, confirmed_at__isnull=True)
            if policy.is_practice_manager(user)
            else []
        )
        ctx["upcoming"], ctx["meetings"] = upcoming_for(user)
        if policy.is_faculty_login(user):
            ctx["assignments"] = (
                Assignment.objects.filter(ended_at__isnull=True, case__in=access.cases_visible_to(user))
                .filter(member__user=user)
                .select_related("case__practice", "line__offer")
            )
    return render(request, "delivery/home.jinja", ctx)


# --- Faculty ----------------------------------------------------------------------------------------------------


def _member_form(request: HttpRequest) -> services.MemberInput:
    p = request.POST
    role = p.get("role", "")
    accreditation = p.get("accreditation", Accreditation.IN_TRAINING)
    accredited_on = parse_date(p["accredited_on"], "the accreditation date") if p.get("accredited_on") else None
    expires = parse_date(p["expires"], "the expiry date") if p.get("expires") else None
    org_id = posted_id(p.get("organisation")) or 0
    supervisor_id = posted_id(p.get("supervisor"))
    icb_ids = tuple(posted_id(x) or 0 for x in p.getlist("icbs"))
    if (p.get("supervisor", "").strip() and supervisor_id is None) or 0 in icb_ids:
        raise services.DeliveryError("Choose from the lists given.")
    return services.MemberInput(
        name=p.get("name", ""),
        organisation_id=org_id,
        role=role,
        capacity_hours_per_month=parse_float(p.get("capacity", "") or "0", "the capacity"),
        joined_on=parse_date(p.get("joined_on", ""), "the date they joined"),
        offer_codes=tuple(p.getlist("offers")),
        icb_ids=icb_ids,
        email=p.get("email", ""),
        accreditation=accreditation,
        accredited_on=accredited_on,
        accreditation_expires=expires,
        supervisor_id=supervisor_id,
        new_member=p.get("new_member") == "1",
    )


@access.require(access.can_see_faculty)
def faculty(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    error = ""
    data: dict[str, Any] = {}
    if request.method == "POST":
        if not access.can_manage_faculty(user):
            raise PermissionDenied
        data = request.POST.dict() | {"offers": request.POST.getlist("offers"), "icbs": request.POST.getlist("icbs")}
        try:
            member = services.add_member(user, _member_form(request))
        except services.DeliveryError as e:
            error = str(e)
        else:
            messages.success(request, f"{member.name} added to the faculty.")
            return redirect("delivery:member", pk=member.pk)
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
    ctx = {
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
        "error": error,
        "data": data,
    }
    return render(request, "delivery/faculty.jinja", ctx, status=400 if error else 200)


@access.require(access.can_see_faculty)
def member(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    m = access.get_member_for(user, pk)
    error = ""
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "stage":
                services.record_stage(user, m, request.POST.get("stage", ""), request.POST.get("note", ""))
                messages.success(request, "Stage recorded.")
            elif action == "conflict":
                code = request.POST.get("where", "").strip().upper()
                practice = Practice.objects.filter(code=code).first()
                pcn = PCN.objects.filter(code=code).first() if practice is None else None
                if practice is None and pcn is None:
                    raise services.DeliveryError(f"No practice or PCN has the code “{code}”.")
                services.declare_conflict(user, m, request.POST.get("description", ""), practice=practice, pcn=pcn)
                messages.success(request, "Conflict of interest recorded: assignments will avoid it.")
            else:
                raise services.DeliveryError("Choose an action.")
        except services.DeliveryError as e:
            error = str(e)
        else:
            return redirect("delivery:member", pk=m.pk)
        m = access.get_member_for(user, pk)
    today = timezone.localdate()
    months = services.months_between(today, today + timedelta(days=150))
    load = services.load_by_month(m)
    next_stage = ""
    if m.role == MemberRole.APPRENTICE and m.stage != Stage.ACCREDITED:
        here = STAGE_ORDER.index(m.stage) if m.stage else -1
        next_stage = STAGE_ORDER[here + 1]
    ctx = {
        "m": m,
        "load": [(mo, load.get(mo, 0.0)) for mo in months],
        "stages": Stage.choices,
        "next_stage": next_stage,
        "changes": m.stage_changes.select_related("by"),
        "conflicts": access.conflicts_visible_to(user, m).select_related("practice", "pcn", "declared_by"),
        "assignments": access.assignments_listed_for(user, m).select_related("case__practice", "line__offer"),
        "can_manage": access.can_manage_faculty(user),
        "can_declare": access.can_manage_faculty(user) or m.user_id == user.pk,
        "error": error,
    }
    return render(request, "delivery/member.jinja", ctx, status=400 if error else 200)


@access.require(access.can_see_faculty_growth)
def growth_page(request: HttpRequest) -> HttpResponse:
    g = growth.faculty_growth()
    ctx = {"g": g, "chart": charts.growth_chart(g)}
    return render(request, "delivery/growth.jinja", ctx)


# --- Assignment and sessions on a case --------------------------------------------------------------------------


def case_delivery(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    case = access.get_case_for(user, pk)
    error = ""
    can_assign = access.can_assign_delivery(user, case)
    if request.method == "POST":
        if not can_assign:
            raise PermissionDenied
        line = get_object_or_404(PackageLine, pk=posted_id(request.POST.get("line")) or 0, package__case=case)
        who = request.POST.get("who", "")
        hours_raw = request.POST.get("hours", "").strip()
        try:
            hours = parse_float(hours_raw, "the hours") if hours_raw else None
            if who.startswith("m-"):
                m = FacultyMember.objects.filter(pk=posted_id(who[2:]) or 0).first()
                if m is None:
                    raise services.DeliveryError("Choose who delivers this line.")
                a = services.assign_work(user, line, member=m, hours=hours)
            elif who.startswith("o-"):
                org = ProviderOrganisation.objects.filter(pk=posted_id(who[2:]) or 0).first()
                if org is None:
                    raise services.DeliveryError("Choose who delivers this line.")
                a = services.assign_work(user, line, organisation=org, hours=hours)
            else:
                raise services.DeliveryError("Choose who delivers this line.")
        except (services.DeliveryError, ValueError) as e:
            error = str(e)
        else:
            messages.success(request, f"{line.offer.title} assigned to {a.deliverer}.")
            return redirect("delivery:case", pk=case.pk)
    packages = list(case.packages.filter(state=Package.State.APPROVED).prefetch_related("lines__offer"))
    lines = []
    for pkg in packages:
        for ln in pkg.lines.all():
            live = ln.assignments.filter(ended_at__isnull=True).select_related("member", "organisation").first()
            cands = services.candidates_for(ln) if can_assign else []
            orgs = (
                services.organisations_refusals(
                    list(ProviderOrganisation.objects.filter(offers=ln.offer, active=True)), ln, services.line_hours(ln)
                )
                if can_assign
                else []
            )
            lines.append(
                {
                    "line": ln,
                    "package": pkg,
                    "live": live,
                    "candidates": cands,
                    "orgs": orgs,
                    "hours": services.line_hours(ln),
                }
            )
    sessions = access.sessions_visible_to(user).filter(case=case).select_related("member", "assignment__line__offer")
    ctx = {
        "case": case,
        "lines": lines,
        "sessions": sessions,
        "counts": services.session_counts(sessions),
        "can_assign": can_assign,
        "can_plan": can_assign
        or any(access.delivers(user, d["live"]) for d in lines if d["live"] and d["live"].member_id),
        "in_delivery": case.status in services.DELIVERY_STATUSES,
        "error": error,
    }
    return render(request, "delivery/case.jinja", ctx, status=400 if error else 200)


def plan_session(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
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
    error = ""
    data = {"title": "", "starts_at": "", "hours": "1.5", "assignment": str(assignments[0].pk)}
    if request.method == "POST":
        data = {k: request.POST.get(k, "") for k in data}
        try:
            a = next((x for x in assignments if str(x.pk) == data["assignment"]), None)
            if a is None:
                raise services.DeliveryError("Choose the line this session delivers.")
            s = services.plan_session(
                user, a, parse_local_datetime(data["starts_at"]), parse_float(data["hours"], "the hours"), data["title"]
            )
        except services.DeliveryError as e:
            error = str(e)
        else:
            messages.success(request, f"Session planned for {timezone.localtime(s.starts_at):%d %B %Y at %H:%M}.")
            return redirect("delivery:case", pk=case.pk)
    ctx = {"case": case, "assignments": assignments, "data": data, "error": error}
    return render(request, "delivery/plan_session.jinja", ctx, status=400 if error else 200)


def session(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    s = access.get_session_for(user, pk)
    error = ""
    form: dict[str, Any] = {
        "outcome": "delivered",
        "hours": f"{s.planned_hours:g}",
        "notes": s.notes,
        "reason": "",
        **{f"att-{k}": str(s.attendees.get(k, "")) for k in ATTENDEE_ROLES},
    }
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "log":
                form = {k: request.POST.get(k, "") for k in form}
                attendees = {}
                for k in ATTENDEE_ROLES:
                    raw = form[f"att-{k}"].strip()
                    if raw:
                        count = posted_whole(raw)
                        if count is None:
                            raise services.DeliveryError(f"{ATTENDEE_ROLES[k]}: enter a whole number.")
                        attendees[k] = count
                delivered = form["outcome"] == "delivered"
                if form["outcome"] not in ("delivered", "cancelled"):
                    raise services.DeliveryError("Say whether the session was delivered or cancelled.")
                data = services.LogInput(
                    delivered=delivered,
                    hours=parse_float(form["hours"], "the hours delivered") if delivered else None,
                    attendees=attendees,
                    notes=form["notes"],
                    cancelled_reason=form["reason"],
                    sign_off=request.POST.get("sign_off") == "1",
                )
                s = services.log_session(user, s, data)
                messages.success(
                    request,
                    "Session logged and signed off: the practice has been asked to confirm it."
                    if s.signed_off_at
                    else "Session logged.",
                )
            elif action == "sign_off":
                services.sign_off_session(user, s)
                messages.success(request, "Session signed off: the practice has been asked to confirm it.")
            elif action == "confirm":
                services.confirm_session(user, s)
                messages.success(request, "Thank you: the session is confirmed.")
            else:
                raise services.DeliveryError("Choose an action.")
        except services.DeliveryError as e:
            error = str(e)
        else:
            return redirect("delivery:session", pk=s.pk)
        s = access.get_session_for(user, pk)
    ctx = {
        "s": s,
        "roles": ATTENDEE_ROLES,
        "form": form,
        "error": error,
        "can_log": access.can_log_session(user, s) and not s.signed_off_at,
        "can_confirm": access.can_confirm_session(user, s) and s.signed_off_at and not s.confirmed_at,
        "started": s.starts_at <= timezone.now(),
    }
    return render(request, "delivery/session.jinja", ctx, status=400 if error else 200)


# --- Outcomes ---------------------------------------------------------------------------------------------------


def case_outcomes(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    case = access.get_case_for(user, pk)
    can_record = access.can_record_outcomes(user, case)
    can_survey = access.can_answer_survey(user, case)
    error = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        p = request.POST
        try:
            if action == "snapshot" and can_record:
                outcomes.take_snapshot(user, case, p.get("kind", ""))
                messages.success(request, "Follow-up taken.")
            elif action == "survey" and can_survey:
                outcomes.record_survey(
                    user, case, p.get("kind", ""), {q: p.get(q, "") for q in SURVEY_QUESTIONS}, p.get("comment", "")
                )
                messages.success(request, "Thank you: survey recorded.")
            elif action == "hours" and (can_record or can_survey):
                act = PlanAction.objects.filter(pk=posted_id(p.get("plan_action")) or 0, goal__plan__case=case).first()
                if act is None:
                    raise services.DeliveryError("Choose the action from the plan.")
                outcomes.record_hours_released(
                    user,
                    case,
                    act,
                    parse_float(p.get("clinical", "") or "0", "the clinical hours"),
                    parse_float(p.get("admin", "") or "0", "the admin hours"),
                    parse_date(p.get("period_start", ""), "the start of the period"),
                    parse_date(p.get("period_end", ""), "the end of the period"),
                    p.get("method", ""),
                )
                messages.success(request, "Hours released recorded.")
            elif action == "rag" and can_record:
                pkg = case.packages.filter(number=posted_id(p.get("package")) or 0).first()
                if pkg is None:
                    raise services.DeliveryError("Choose the package.")
                outcomes.rate_package(user, pkg, p.get("rag", ""), p.get("reason", ""))
                messages.success(request, "Rating recorded.")
            else:
                raise PermissionDenied
        except services.DeliveryError as e:
            error = str(e)
        else:
            return redirect("delivery:case_outcomes", pk=case.pk)
    snaps = {s.kind: s for s in case.outcome_snapshots.select_related("taken_by")}
    keys = list(dict.fromkeys(k for s in snaps.values() for k in s.indicators if k in outcomes.INDICATOR_LABELS))
    due = {k: outcomes.due_on(case, k) for k in (SnapshotKind.MONTH_6, SnapshotKind.MONTH_12)}
    ctx = {
        "case": case,
        "snaps": snaps,
        "kinds": SnapshotKind.choices,
        "indicator_rows": [
            (
                outcomes.INDICATOR_LABELS[k],
                [snaps[kind].indicators.get(k) if kind in snaps else None for kind in SnapshotKind.values],
            )
            for k in keys
        ],
        "due": due,
        "today": timezone.localdate(),
        "surveys": {s.kind: s for s in case.surveys.select_related("by")},
        "questions": SURVEY_QUESTIONS,
        "actions": PlanAction.objects.filter(goal__plan__case=case).select_related("goal"),
        "hours": case.hours_released.select_related("action", "by"),
        "packages": case.packages.filter(state=Package.State.APPROVED).prefetch_related("ratings__by"),
        "rags": Rag.choices,
        "can_record": can_record,
        "can_survey": can_survey,
        "row": outcomes.case_outcomes([case])[0],
        "error": error,
    }
    return render(request, "delivery/case_outcomes.jinja", ctx, status=400 if error else 200)


@access.require(access.can_see_programme_outcomes)
def programme(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    national = not access.sees_case_rows(user)  # totals over every case, per ICB; no case listed
    cases = Case.objects.all() if national else access.cases_visible_to(user)
    result = outcomes.programme_outcomes(cases)
    by_icb: list[tuple[str, int, int, float, float]] = []
    if national:
        # aggregate rows by ICB: counts and sums only, no practice or case named
        groups: dict[str, list[outcomes.CaseOutcome]] = {}
        for r in result.rows:
            groups.setdefault(r.case.icb.name if r.case.icb_id else "–", []).append(r)
        by_icb = sorted(
            (
                name,
                len({r.case.practice_id for r in rows}),
                sum(r.sessions_delivered for r in rows),
                round(sum(r.hours_delivered for r in rows), 1),
                round(sum(r.clinical_released + r.admin_released for r in rows), 1),
            )
            for name, rows in groups.items()
        )
    ctx = {"o": result, "national": national, "by_icb": by_icb, "rows": [] if national else result.rows}
    return render(request, "delivery/programme.jinja", ctx)


# --- Calendar ---------------------------------------------------------------------------------------------------


@access.require(access.can_use_calendar)
def calendar_page(request: HttpRequest) -> HttpResponse:
    """GET says whether the user has a feed address; POST makes a new one and shows it on this response only (only
    its hash is stored, like an API token's)."""
    user = _user(request)
    feed = ""
    if request.method == "POST":
        feed = request.build_absolute_uri(reverse_feed(ical.issue_token(user)))
    response = render(request, "delivery/calendar.jinja", {"feed": feed, "current": ical.current_token(user)})
    if feed:
        response["Cache-Control"] = "no-store"  # the address is on this page once: keep it out of caches
    return response


def reverse_feed(token: str) -> str:
    from django.urls import reverse

    return reverse("delivery:calendar_feed", args=[token])


@access.require(access.can_use_calendar)
def calendar_download(request: HttpRequest) -> HttpResponse:
    resp = HttpResponse(ical.user_calendar(_user(request)), content_type="text/calendar; charset=utf-8")
    resp["Content-Disposition"] = 'attachment; filename="gp-resilience.ics"'
    return resp


@login_not_required
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The private feed for calendar apps: the token is the credential (no sign-in)."""
    user = ical.feed_user(token)
    if user is None or not access.can_use_calendar(user):
        raise Http404
    resp = HttpResponse(ical.user_calendar(user), content_type="text/calendar; charset=utf-8")
    resp["Cache-Control"] = "private, max-age=900"
    return resp
