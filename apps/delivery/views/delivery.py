"""Delivery pages: the overview (per ICB for the national team, the ICB's assignments, a provider's or practice's own
work) and the calendar (download and private feed).

The other delivery pages are by concept: :mod:`.faculty`, :mod:`.sessions` (assignment and the session log),
:mod:`.outcomes`, and :mod:`.pm` (networks, coaching, peer review).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from apps.accounts.http import user_of
from apps.cases.models import OPEN
from apps.core.exports import FORMATS
from apps.core.tables import configure, download_table
from apps.delivery import ical, outcomes, policy, waiting
from apps.delivery import policy as access
from apps.delivery.models import Assignment, Session
from apps.delivery.networks import upcoming_for
from apps.delivery.tables import AssignmentFilter, AssignmentTable, with_session_counts

# --- Overview ---------------------------------------------------------------------------------------------------


@access.require(access.can_see_delivery)
def home(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
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
        lines = Assignment.objects.filter(case__in=access.cases_visible_to(user), ended_at__isnull=True)
        found = AssignmentFilter(request.GET, lines)
        # the related rows fetched for the page's lines by key: joined into the page's query, the six tables cost
        # PostgreSQL more to plan (7-12 ms at 70x) than the whole query takes to run
        rows = with_session_counts(found.qs).prefetch_related("case__practice", "line__offer", "member", "organisation")
        table = AssignmentTable(rows.order_by("case__opened_at", "pk"))
        fmt = request.GET.get("download", "")
        if fmt in FORMATS:
            return download_table(request, table, "delivery", fmt)
        ctx["table"], ctx["filters"] = configure(request, table), found
        # The cases being supported now (open, with an approved package); every case ever supported, closed ones
        # too, is on the programme outcomes page, paged: years of history do not grow this page.
        supported = outcomes.supported_cases(access.cases_visible_to(user))
        ctx["cases"] = supported.filter(status__in=OPEN).select_related("practice").order_by("opened_at", "pk")
        ctx["supported_ever"] = supported.count()
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
        # The same list as "waiting for me": not a session the practice has disputed or the ICB sent back to amend.
        ctx["to_confirm"] = (
            [s for s, step in waiting.steps_for(user) if step == waiting.CONFIRM]
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


# --- Calendar ---------------------------------------------------------------------------------------------------


@access.require(access.can_use_calendar)
def calendar_page(request: HttpRequest) -> HttpResponse:
    """GET says whether the user has a feed address; POST makes a new one and shows it on this response only (only
    its hash is stored, like an API token's)."""
    user = user_of(request)
    feed = ""
    if request.method == "POST":
        feed = request.build_absolute_uri(reverse_feed(ical.issue_token(user)))
    response = render(request, "delivery/calendar.jinja", {"feed": feed, "current": ical.current_token(user)})
    if feed:
        response["Cache-Control"] = "no-store"  # the address is on this page once: keep it out of caches
    return response


def reverse_feed(token: str) -> str:
    return reverse("delivery:calendar_feed", args=[token])


@access.require(access.can_use_calendar)
def calendar_download(request: HttpRequest) -> HttpResponse:
    resp = HttpResponse(ical.user_calendar(user_of(request)), content_type="text/calendar; charset=utf-8")
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
