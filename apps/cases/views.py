"""Case pages: ways in, the ICB queue and matrix, the case page and its steps. Access through apps.accounts.access."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from analytics.menu.offers import load_menu
from apps.accounts.models import Role, User
from apps.cases import lifecycle, notify, policy, services
from apps.cases import policy as access
from apps.cases.config import questionnaire, triage_levels
from apps.cases.models import (
    ENDED,
    OPEN,
    ActionPlan,
    Case,
    HealthCheck,
    Notification,
    NotificationKind,
    Package,
    PackagePractice,
    Referral,
    Route,
    Status,
    SupportOffer,
    Urgency,
)
from apps.core.exports import FORMATS, table_download
from apps.core.formdata import posted_id, posted_whole
from apps.core.paging import page_of, query_without
from apps.funding import services as funding


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _headings() -> list[str]:
    return list(dict.fromkeys(o.heading for o in load_menu()))


# --- Ways in ----------------------------------------------------------------------------------------------------


def _referral_form(request: HttpRequest) -> tuple[services.ReferralInput, dict[str, Any]]:
    data = {
        "concerns": request.POST.get("concerns", "").strip(),
        "tried": request.POST.getlist("tried"),
        "help_wanted": request.POST.getlist("help_wanted"),
        "urgency": request.POST.get("urgency", ""),
    }
    return services.ReferralInput(data["concerns"], data["tried"], data["help_wanted"], data["urgency"]), data


def _form_context(data: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    return {
        "data": data,
        "errors": errors,
        "tried_choices": services.TRIED_CHOICES,
        "headings": _headings(),
        "urgencies": Urgency.choices,
    }


def _error_field(message: str) -> str:
    m = message.lower()
    if "what is wrong" in m or "sentence" in m:
        return "concerns"
    if "urgent" in m:
        return "urgency"
    if "tried" in m:
        return "tried"
    if "help" in m:
        return "help_wanted"
    return "practice"


@access.require(access.can_self_refer)
def refer(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    practice = user.practice
    assert practice is not None
    errors: dict[str, str] = {}
    data: dict[str, Any] = {"urgency": Urgency.ROUTINE, "tried": [], "help_wanted": []}
    if request.method == "POST":
        form, data = _referral_form(request)
        try:
            case, created = services.refer(user, practice, Route.SELF, form)
        except services.CaseError as e:
            errors[_error_field(str(e))] = str(e)
        else:
            messages.success(
                request,
                f"Your request is in: {case.ref}. The ICB team will contact you within four weeks."
                if created
                else f"Added to your open case {case.ref}.",
            )
            return redirect("cases:detail", pk=case.pk)
    open_case = Case.objects.filter(practice=practice).open().first()
    ctx = {"practice": practice, "open_case": open_case, **_form_context(data, errors)}
    return render(request, "cases/refer.jinja", ctx, status=400 if errors else 200)


@access.require(access.can_nominate)
def nominate(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    route = Route.LMC if policy.is_lmc(user) else Route.ICB
    if policy.is_case_team(user) and request.GET.get("from") == "watch-list":
        route = Route.WATCH_LIST
    errors: dict[str, str] = {}
    code = (request.POST.get("practice") or request.GET.get("practice") or "").strip().upper()
    data: dict[str, Any] = {"urgency": Urgency.ROUTINE, "tried": [], "help_wanted": [], "practice": code}
    if request.method == "POST":
        route_in = request.POST.get("route", route)
        route = Route.WATCH_LIST if route_in == Route.WATCH_LIST and policy.is_case_team(user) else route
        form, data = _referral_form(request)
        data["practice"] = code
        practice = access.nominatable_practices(user).filter(code=code).first()
        if practice is None:
            errors["practice"] = "Enter the ODS code of an open practice in your ICB, for example A12345."
        else:
            try:
                case, created = services.refer(user, practice, route, form)
            except services.CaseError as e:
                errors[_error_field(str(e))] = str(e)
            else:
                if policy.is_lmc(user):
                    messages.success(
                        request, f"Nomination sent. {practice.display_name} and the ICB team have been told."
                    )
                    return redirect("cases:queue")
                messages.success(request, f"{'Case opened' if created else 'Added to the open case'}: {case.ref}.")
                return redirect("cases:detail", pk=case.pk)
    practice = access.nominatable_practices(user).filter(code=code).first() if code else None
    ctx = {"route": route, "practice": practice, **_form_context(data, errors)}
    return render(request, "cases/nominate.jinja", ctx, status=400 if errors else 200)


# --- Queue and matrix -------------------------------------------------------------------------------------------


STATUS_FILTERS = {"open": "Open cases", "ended": "Closed, declined or withdrawn", "all": "All cases"}


def queue(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if access.can_see_case_aggregates(user):
        return _national_summary(request)
    if policy.is_lmc(user):
        noms = Referral.objects.filter(made_by=user).select_related("case__practice").order_by("-made_at")
        return render(request, "cases/nominations.jinja", {"nominations": noms})
    if not access.can_see_case_queue(user):
        raise PermissionDenied
    show = request.GET.get("show", "open")
    show = show if show in STATUS_FILTERS else "open"
    status = request.GET.get("status", "")
    overdue_only = request.GET.get("overdue") == "1"
    qs = access.cases_visible_to(user).select_related("practice", "provider")
    if show == "open":
        qs = qs.filter(status__in=OPEN)
    elif show == "ended":
        qs = qs.filter(status__in=ENDED)
    if status in Status.values:
        qs = qs.filter(status=status)
    today = timezone.localdate()
    if overdue_only:
        qs = qs.overdue(today)
    qs = qs.annotate(waiting=Count("packages", filter=Q(packages__state=Package.State.SUBMITTED)))
    qs = qs.order_by("opened_at", "pk")
    fmt = request.GET.get("download", "")
    if fmt in FORMATS:
        rows = [(c, c.overdue_reasons(today)) for c in qs]
        table = [
            (
                c.ref,
                c.practice.code,
                c.practice.name,
                c.get_status_display(),
                c.get_urgency_display(),
                c.opened_at.date().isoformat(),
                c.triage_scope,
                c.triage_impact,
                "; ".join(r),
            )
            for c, r in rows
        ]
        cols = ["case", "ods_code", "practice", "status", "urgency", "opened", "scope", "impact", "overdue"]
        return table_download(table, cols, "cases", fmt)
    counts = Counter(access.cases_visible_to(user).filter(status__in=OPEN).values_list("status", flat=True))
    page = page_of(qs, request.GET.get("page"))
    ctx = {
        "page": page,
        "rows": [(c, c.overdue_reasons(today)) for c in page.object_list],
        "query_no_page": query_without(request.GET, "page", "download"),
        "show": show,
        "shows": STATUS_FILTERS,
        "status": status,
        "statuses": Status.choices,
        "overdue_only": overdue_only,
        "counts": counts,
        "overdue_n": page.paginator.count if overdue_only else qs.overdue(today).count(),
        "query": request.GET.urlencode(),
    }
    return render(request, "cases/queue.jinja", ctx)


def _national_summary(request: HttpRequest) -> HttpResponse:
    """Counts by ICB and status; no practice is named."""
    from apps.practices.models import ICB

    by = services.case_counts()
    icbs = ICB.objects.select_related("region").order_by("region__name", "name")
    rows = [(icb, [by.get((icb.pk, s), 0) for s in Status.values]) for icb in icbs]
    totals = [sum(r[1][i] for r in rows) for i in range(len(Status.values))]
    return render(request, "cases/national.jinja", {"rows": rows, "statuses": Status.choices, "totals": totals})


def matrix(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not policy.is_case_team(user) or user.icb is None:
        raise PermissionDenied
    scopes, impacts = triage_levels()
    cases = list(access.cases_visible_to(user).filter(status__in=OPEN).select_related("practice"))
    cells: dict[tuple[str, str], list[Case]] = {}
    untriaged = []
    for c in cases:
        if c.triage_scope and c.triage_impact:
            cells.setdefault((c.triage_scope, c.triage_impact), []).append(c)
        else:
            untriaged.append(c)
    ctx = {"scopes": scopes, "impacts": impacts, "cells": cells, "untriaged": untriaged, "icb": user.icb}
    return render(request, "cases/matrix.jinja", ctx)


# --- The case ---------------------------------------------------------------------------------------------------


def _case(request: HttpRequest, pk: int) -> Case:
    return access.get_case_for(_user(request), pk)


def detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    case = _case(request, pk)
    notes = case.notes.select_related("author")
    if not access.can_read_confidential_notes(user, case):
        notes = notes.filter(practice_confidential=False)
    plan = ActionPlan.objects.filter(case=case).prefetch_related("goals__actions__offer").first()
    packages = case.packages.prefetch_related(
        "lines__offer", Prefetch("practices", queryset=PackagePractice.objects.select_related("practice"))
    )
    hc = HealthCheck.objects.filter(case=case, submitted_at__isnull=False).order_by("-submitted_at").first()
    providers = User.objects.filter(role=Role.PROVIDER, is_active=True).order_by("organisation", "username")
    ctx = {
        "case": case,
        "referrals": case.referrals.select_related("made_by"),
        "events": case.events.select_related("by").order_by("-at", "-pk"),
        "notes": notes,
        "plan": plan,
        "packages": packages,
        "health_check": hc,
        "benchmark": services.benchmark(hc) if hc else {},
        "areas": {a.id: a.title for a in questionnaire().areas},
        "moves": lifecycle.moves_for(case.status, user.role),
        "can_run": access.can_run_case(user, case),
        "can_edit_plan": access.can_edit_plan(user, case),
        "is_practice": policy.is_practice_login(user),
        "can_confidential": access.can_read_confidential_notes(user, case),
        "overdue": case.overdue_reasons(),
        "tried_choices": services.TRIED_CHOICES,
        "providers": providers,
        "stages": [s for s in Status if s not in ENDED],
    }
    return render(request, "cases/detail.jinja", ctx)


def triage(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    case = _case(request, pk)
    if not access.can_run_case(user, case):
        raise PermissionDenied
    scopes, impacts = triage_levels()
    errors: dict[str, str] = {}
    data = {"scope": case.triage_scope, "impact": case.triage_impact, "rationale": ""}
    if request.method == "POST":
        data = {k: request.POST.get(k, "").strip() for k in ("scope", "impact", "rationale")}
        try:
            services.triage(user, case, data["scope"], data["impact"], data["rationale"])
        except services.CaseError as e:
            msg = str(e)
            errors["scope" if "scope" in msg else "impact" if "impact" in msg else "rationale"] = msg
        else:
            messages.success(request, "Triage recorded.")
            return redirect("cases:detail", pk=case.pk)
    ctx = {
        "case": case,
        "scopes": scopes,
        "impacts": impacts,
        "data": data,
        "errors": errors,
        "history": case.triages.select_related("by"),
    }
    return render(request, "cases/triage.jinja", ctx, status=400 if errors else 200)


def move(request: HttpRequest, pk: int, target: str) -> HttpResponse:
    user = _user(request)
    case = _case(request, pk)
    if target not in Status.values:
        raise Http404
    t = lifecycle.find(case.status, target)
    if t is None or t.via or not policy.plays_one_of(user, t.roles):
        raise PermissionDenied
    errors: dict[str, str] = {}
    reason = ""
    if request.method == "POST":
        reason = request.POST.get("reason", "").strip()
        try:
            services.change_status(user, case, target, reason)
        except services.CaseError as e:
            errors["reason"] = str(e)
        else:
            messages.success(request, f"{case.ref} is now {Status(target).label.lower()}.")
            return redirect("cases:detail", pk=case.pk)
    ctx = {"case": case, "t": t, "reason": reason, "errors": errors}
    return render(request, "cases/move.jinja", ctx, status=400 if errors else 200)


def add_note(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)  # access first: a case the user cannot see is 404 whatever the method
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        services.add_note(_user(request), case, request.POST.get("text", ""), request.POST.get("confidential") == "1")
    except services.CaseError as e:
        messages.error(request, str(e))
    else:
        messages.success(request, "Note added.")
    return redirect("cases:detail", pk=case.pk)


def assign(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    case = _case(request, pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not access.can_run_case(user, case):
        raise PermissionDenied
    provider = User.objects.filter(pk=posted_id(request.POST.get("provider")) or 0, role=Role.PROVIDER).first()
    try:
        if provider is None:
            raise services.CaseError("Choose a provider.")
        services.assign_provider(user, case, provider)
    except services.CaseError as e:
        messages.error(request, str(e))
    else:
        messages.success(request, f"Assigned to {provider.organisation or provider.username}.")
    return redirect("cases:detail", pk=case.pk)


# --- Health check -----------------------------------------------------------------------------------------------


def health_check(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    case = _case(request, pk)
    can_fill = policy.is_the_practice(user, case) or access.can_run_case(user, case)
    if not can_fill:
        raise PermissionDenied
    q = questionnaire()
    draft = HealthCheck.objects.filter(case=case, submitted_at__isnull=True).first()
    answers: dict[str, Any] = dict(draft.answers) if draft else {}
    error = ""
    if request.method == "POST":
        answers = {qid: request.POST.get(qid, "") for qid in q.questions}
        submit = request.POST.get("action") == "submit"
        try:
            services.save_health_check(user, case, answers, submit=submit)
        except services.CaseError as e:
            error = str(e)
        else:
            messages.success(request, "Health check submitted." if submit else "Answers saved; you can finish later.")
            return redirect("cases:detail" if submit else "cases:health_check", pk=case.pk)
    answers = {k: str(v) for k, v in answers.items() if v not in ("", None)}
    ctx = {"case": case, "q": q, "answers": answers, "error": error}
    return render(request, "cases/health_check.jinja", ctx, status=400 if error else 200)


# --- Plan -------------------------------------------------------------------------------------------------------

PLAN_ROWS = 8  # blank action rows offered on the plan form
MAX_PLAN_ROWS = 200  # rows read from one submission at most (the form grows by three each save)


def _parse_plan(request: HttpRequest) -> tuple[list[services.GoalInput], list[dict[str, str]], str]:
    rows = []
    # the form says how many rows it offered; anything else (missing, not a number, absurd) means the default
    offered = posted_id(request.POST.get("rows")) or PLAN_ROWS
    for i in range(min(offered, MAX_PLAN_ROWS)):
        row = {
            k: request.POST.get(f"{k}-{i}", "").strip()
            for k in ("goal", "area", "action", "owner", "due", "offer", "done")
        }
        if any(row[k] for k in ("goal", "action", "owner", "due")):
            rows.append(row)
    goals: dict[tuple[str, str], list[services.ActionInput]] = {}
    for n, row in enumerate(rows, 1):
        if not (row["goal"] and row["action"] and row["owner"] and row["due"]):
            return [], rows, f"Row {n}: fill in the goal, the action, its owner and its due date."
        try:
            due = date.fromisoformat(row["due"])
        except ValueError:
            return [], rows, f"Row {n}: the due date must be a date, for example 2027-01-31."
        goals.setdefault((row["goal"], row["area"]), []).append(
            services.ActionInput(row["action"], row["owner"], due, row["offer"], row["done"] == "1")
        )
    return [services.GoalInput(area, title, acts) for (title, area), acts in goals.items()], rows, ""


def plan(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    case = _case(request, pk)
    if not access.can_edit_plan(user, case):
        raise PermissionDenied
    existing = ActionPlan.objects.filter(case=case).first()
    error = ""
    if request.method == "POST":
        goals, rows, error = _parse_plan(request)
        if not error:
            try:
                services.save_plan(user, case, goals)
            except services.CaseError as e:
                error = str(e)
            else:
                messages.success(request, "Plan saved.")
                return redirect("cases:detail", pk=case.pk)
    else:
        rows = [
            {
                "goal": g.title,
                "area": g.area,
                "action": a.description,
                "owner": a.owner,
                "due": a.due.isoformat(),
                "offer": a.offer.code if a.offer else "",
                "done": "1" if a.done else "",
            }
            for g in (existing.goals.prefetch_related("actions__offer") if existing else [])
            for a in g.actions.all()
        ]
    n = max(PLAN_ROWS, len(rows) + 3)
    rows = rows + [{} for _ in range(n - len(rows))]
    ctx = {
        "case": case,
        "rows": rows,
        "areas": questionnaire().areas,
        "offers": SupportOffer.objects.filter(active=True),
        "error": error,
        "plan": existing,
        "changes": existing.changes.select_related("by") if existing else [],
    }
    return render(request, "cases/plan.jinja", ctx, status=400 if error else 200)


def agree(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        services.agree_plan(_user(request), case)
    except services.CaseError as e:
        messages.error(request, str(e))
    else:
        messages.success(request, "Plan agreed. The ICB team has been told.")
    return redirect("cases:detail", pk=case.pk)


# --- Package builder and approval -------------------------------------------------------------------------------


def _fy_dates(today: date) -> tuple[date, date]:
    return today, services.financial_year_end(today)


def package(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    case = _case(request, pk)
    if not access.can_edit_plan(user, case):
        raise PermissionDenied
    offers = list(SupportOffer.objects.filter(active=True))
    draft = case.packages.filter(state=Package.State.DRAFT).first()
    error = ""
    starts, ends = _fy_dates(timezone.localdate())
    units: dict[str, str] = {}
    notes: dict[str, str] = {}
    group = ""
    if draft:
        starts, ends = draft.starts, draft.ends
        units = {ln.offer.code: str(ln.requested_units) for ln in draft.lines.select_related("offer")}
        notes = {ln.offer.code: ln.note for ln in draft.lines.select_related("offer")}
        group = "\n".join(
            f"{pp.practice.code} {pp.share_bp / 100:g}"
            for pp in draft.practices.select_related("practice")
            if pp.practice_id != case.practice_id
        )
    elif request.GET.get("suggest") == "1":
        from apps.targeting.policy import can_see_group_suggestion  # the ripple is the targeting app's

        if not can_see_group_suggestion(user, case.practice):
            raise PermissionDenied  # it lists the practice's neighbours by pressure: the ICB team's view only
        suggestion = _suggestion(case)
        if suggestion is None:
            error = "There is no group suggestion for this practice (it has no coordinates or no neighbours in reach)."
        else:
            units = {line.offer_code: str(line.units) for line in suggestion.lines}
            others = [m.code for m in suggestion.members if m.code != case.practice.code]
            share = 100 / (len(others) + 1)
            group = "\n".join(f"{c} {share:.2f}" for c in others)
    if request.method == "POST":
        units = {o.code: request.POST.get(f"units-{o.code}", "").strip() for o in offers}
        notes = {o.code: request.POST.get(f"note-{o.code}", "").strip() for o in offers}
        group = request.POST.get("group", "").strip()
        try:
            starts = date.fromisoformat(request.POST.get("starts", ""))
            ends = date.fromisoformat(request.POST.get("ends", ""))
            lines = []
            for o in offers:
                raw = units[o.code]
                if raw in ("", "0"):
                    continue
                n = posted_whole(raw)
                if n is None:
                    raise services.CaseError(f"{o.title}: enter a whole number of {o.unit}s.")
                lines.append(services.LineInput(o.code, n, notes[o.code]))
            shares = _parse_group(case, group)
            pkg = services.build_package(user, case, lines, shares, starts, ends)
            if request.POST.get("action") == "submit":
                services.submit_package(user, pkg)
                messages.success(request, f"{pkg.ref} priced at £{pkg.total_pence / 100:,.2f} and sent for approval.")
                return redirect("cases:detail", pk=case.pk)
            messages.success(request, f"Priced: £{pkg.total_pence / 100:,.2f}. Check it, then submit it for approval.")
            return redirect("cases:package", pk=case.pk)
        except ValueError as e:
            error = str(e) if isinstance(e, services.CaseError) else "Enter the start and end dates as dates."
        except services.CaseError as e:
            error = str(e)
    draft = case.packages.filter(state=Package.State.DRAFT).first()
    ctx = {
        "case": case,
        "offers": offers,
        "units": units,
        "notes": notes,
        "group": group,
        "starts": starts,
        "ends": ends,
        "draft": draft,
        "error": error,
    }
    return render(request, "cases/package.jinja", ctx, status=400 if error else 200)


def _suggestion(case: Case) -> Any:
    """The targeting app's group-package proposal for this case's practice (ripple analysis), if it can make one."""
    from django.core.exceptions import ValidationError

    from apps.targeting.services import suggest_group_package

    try:
        return suggest_group_package(case.practice.code)
    except (ValidationError, ValueError):
        return None


def _parse_group(case: Case, text: str) -> list[tuple[str, int]]:
    """Lines "ODS share%" for the other practices; the lead practice takes the rest."""
    others: list[tuple[str, int]] = []
    for n, line in enumerate(filter(None, (x.strip() for x in text.splitlines())), 1):
        parts = line.replace(",", " ").replace("%", " ").split()
        if len(parts) != 2:
            raise services.CaseError(f"Group line {n}: write the ODS code and its share, for example “A81002 25”.")
        try:
            share = float(parts[1])
        except ValueError:
            raise services.CaseError(f"Group line {n}: the share must be a number (a percentage).") from None
        if not 0 < share < 100:  # also refuses "nan" and "inf", which float() accepts (round(inf) raised)
            raise services.CaseError(f"Group line {n}: the share must be a percentage above 0 and below 100.")
        bp = round(share * 100)
        others.append((parts[0].upper(), bp))
    lead = 10_000 - sum(bp for _, bp in others)
    if others and lead <= 0:
        raise services.CaseError("The other practices' shares leave nothing for the case's own practice.")
    return [(case.practice.code, lead), *others] if others else []


def decide(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    user = _user(request)
    case = _case(request, pk)
    if not access.can_run_case(user, case):
        raise PermissionDenied
    pkg = get_object_or_404(case.packages.select_related("case"), number=number)
    budgets = funding.budgets_for(case.icb, on=pkg.starts)
    error = ""
    note = ""
    chosen = ""
    if request.method == "POST":
        note = request.POST.get("note", "").strip()
        chosen = request.POST.get("budget", "")
        try:
            if request.POST.get("decision") == "approve":
                budget = next((b for b in budgets if str(b.pk) == chosen), None)
                services.approve_package(user, pkg, note, budget)
                messages.success(request, f"{pkg.ref} approved.")
            elif request.POST.get("decision") == "refuse":
                services.refuse_package(user, pkg, note)
                messages.success(request, f"{pkg.ref} refused; the practice has been told why.")
            else:
                raise services.CaseError("Choose approve or refuse.")
        except services.CaseError as e:
            error = str(e)
        else:
            return redirect("cases:detail", pk=case.pk)
    ctx = {
        "case": case,
        "pkg": pkg,
        "error": error,
        "note": note,
        "budgets": budgets,
        "chosen": chosen,
        "lines": pkg.lines.select_related("offer"),
        "practices": pkg.practices.select_related("practice"),
    }
    return render(request, "cases/decide.jinja", ctx, status=400 if error else 200)


# --- Menu and notifications -------------------------------------------------------------------------------------


def menu(request: HttpRequest) -> HttpResponse:
    if not access.is_signed_in(request.user):
        raise PermissionDenied
    offers = SupportOffer.objects.filter(active=True)
    by_heading: dict[tuple[str, str], list[SupportOffer]] = {}
    for o in offers:
        by_heading.setdefault((o.programme, o.heading), []).append(o)
    return render(request, "cases/menu.jinja", {"groups": by_heading})


def waiting_for(user: User) -> list[tuple[Case, str]]:
    """What is waiting for this user to act on, worked out from the cases themselves."""
    out: list[tuple[Case, str]] = []
    cases = access.cases_visible_to(user).filter(status__in=OPEN).select_related("practice")
    for c in cases.annotate(sub=Count("packages", filter=Q(packages__state=Package.State.SUBMITTED))):
        if policy.is_case_team(user):
            if c.status == Status.REFERRED:
                out.append((c, "Triage this referral"))
            if c.sub:
                out.append((c, "Approve or refuse the package"))
            out += [(c, r) for r in c.overdue_reasons()]
        elif policy.is_practice_login(user):
            plan = ActionPlan.objects.filter(case=c).first()
            if c.status in (Status.TRIAGED, Status.DIAGNOSIS) and plan and not plan.is_agreed:
                out.append((c, "Agree your action plan"))
            if c.status in (Status.TRIAGED, Status.DIAGNOSIS) and plan is None:
                out.append((c, "Write your action plan (with the ICB team if you wish)"))
            if (
                c.status in (Status.TRIAGED, Status.DIAGNOSIS)
                and not c.health_checks.filter(submitted_at__isnull=False).exists()
            ):
                out.append((c, "Complete the practice health check"))
        elif policy.is_provider_account(user) and c.status == Status.APPROVED:
            out.append((c, "Start delivery"))
    return out


def notifications(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not access.is_signed_in(user):
        raise PermissionDenied
    if request.method == "POST":
        if request.POST.get("action") == "settings":
            notify.set_enabled_kinds(user, set(request.POST.getlist("kinds")))
            messages.success(request, "Notification settings saved.")
        elif request.POST.get("action") == "read":
            Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
            messages.success(request, "All marked as read.")
        return redirect("cases:notifications")
    items = list(Notification.objects.filter(user=user).select_related("case")[:100])
    ctx = {
        "items": items,
        "unread": sum(1 for n in items if n.read_at is None),
        "waiting": waiting_for(user),
        "kinds": NotificationKind.choices,
        "enabled": notify.enabled_kinds(user),
    }
    return render(request, "cases/notifications.jinja", ctx)
