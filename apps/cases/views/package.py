"""The package builder (priced from the menu, optionally shared by a group) and the ICB team's decision on it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from apps.accounts.http import user_of
from apps.accounts.models import User
from apps.cases import policy as access
from apps.cases import services
from apps.cases.forms import DecisionForm, ParsedPackage, parse_package, parse_variation
from apps.cases.models import Case, Package, SupportOffer
from apps.cases.services.prices import prices_for
from apps.cases.views.case import case_of
from apps.core.errors import DomainError
from apps.core.forms import add_refusal, form_errors, typed
from apps.funding import services as funding
from apps.practices.models import ICB, Practice


def package(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    case = case_of(request, pk)
    if not access.can_edit_plan(user, case):
        raise PermissionDenied
    offers = list(SupportOffer.objects.filter(active=True))
    draft = case.packages.filter(state=Package.State.DRAFT).first()
    neighbours = _neighbours(user, case)
    suggested = {n["code"] for n in neighbours}
    shown = _from_draft(case, draft, suggested) if draft else _blank()
    if draft is None and request.GET.get("suggest") == "1":
        from apps.targeting.policy import can_see_group_suggestion  # the ripple is the targeting app's

        if not can_see_group_suggestion(user, case.practice):
            raise PermissionDenied  # it lists the practice's neighbours by pressure: the ICB team's view only
        shown = _suggested(case)
    if request.method == "POST":
        shown = parse_package(request.POST, offers, case.practice.code)
        if not shown.errors and shown.starts and shown.ends:
            try:
                pkg = services.build_package(user, case, shown.lines, shown.shares, shown.starts, shown.ends)
                submit = request.POST.get("action") == "submit"
                if submit:
                    services.submit_package(user, pkg)
            except DomainError as e:
                shown.errors = e.as_errors()
            else:
                price = f"£{pkg.total_pence / 100:,.2f}"
                if submit:
                    messages.success(request, f"{pkg.ref} priced at {price} and sent for approval.")
                    return redirect("cases:detail", pk=case.pk)
                messages.success(request, f"Priced: {price}. Check it, then submit it for approval.")
                return redirect("cases:package", pk=case.pk)
    ctx = {
        "case": case,
        "neighbours": neighbours,
        "members": shown.members,
        "share_boxes": shown.share_boxes,
        "offers": offers,
        "prices": prices_for(offers, case.icb),  # the case ICB's price of each offer, and what it rests on
        "units": shown.units,
        "notes": shown.notes,
        "group": shown.group,
        "starts": shown.starts,
        "ends": shown.ends,
        "draft": case.packages.filter(state=Package.State.DRAFT).first(),
        "errors": shown.errors,
    }
    return render(request, "cases/package.jinja", ctx, status=400 if shown.errors else 200)


NEIGHBOURS_SHOWN = 8


def _neighbours(user: User, case: Case) -> list[dict[str, Any]]:
    """The practices most likely to take the case practice's patients (the ripple's dispersal), offered to the ICB
    team as the group: like the ripple page, a practice user never sees its neighbours ranked."""
    from apps.targeting.policy import can_see_group_suggestion

    if not can_see_group_suggestion(user, case.practice):
        return []
    near = services.neighbours_of(case.practice)[:NEIGHBOURS_SHOWN]
    names = dict(ICB.objects.filter(code__in={n.icb_code for n in near}).values_list("code", "name"))
    shown = {p.code: p.display_name for p in Practice.objects.filter(code__in=[n.code for n in near])}
    return [
        {
            "code": n.code,
            "name": shown.get(n.code, n.name),  # the register's capitals, as every page shows them
            "icb": names.get(n.icb_code, n.icb_code),
            "across": n.icb_code != case.icb.code,
            "km": n.km,
            "list_size": n.list_before,
            "receives": n.received,
        }
        for n in near
    ]


def _blank() -> ParsedPackage:
    """A new package: delivery from today to the end of the financial year (the money is year-bound)."""
    today = timezone.localdate()
    return ParsedPackage({}, {}, "", today, services.financial_year_end(today))


def _from_draft(case: Case, draft: Package, suggested: set[str]) -> ParsedPackage:
    """The draft as the builder shows it: units and notes per offer; the suggested neighbours it covers ticked, the
    others typed one per line; every practice's share in its box."""
    lines = list(draft.lines.select_related("offer"))
    covered = [pp for pp in draft.practices.select_related("practice") if pp.practice_id != case.practice_id]
    group = "\n".join(
        f"{pp.practice.code} {pp.share_bp / 100:g}" for pp in covered if pp.practice.code not in suggested
    )
    units = {ln.offer.code: str(ln.requested_units) for ln in lines}
    shown = ParsedPackage(units, {ln.offer.code: ln.note for ln in lines}, group, draft.starts, draft.ends)
    shown.members = [pp.practice.code for pp in covered if pp.practice.code in suggested]
    if covered:  # the lead's and the ticked neighbours' shares in their boxes; the typed ones carry theirs
        boxed = {case.practice.code, *shown.members}
        shown.share_boxes = {
            pp.practice.code: f"{pp.share_bp / 100:g}" for pp in draft.practices.all() if pp.practice.code in boxed
        }
    return shown


def _suggested(case: Case) -> ParsedPackage:
    """The ripple's group proposal, shares split evenly; a blank package saying why when there is none."""
    shown = _blank()
    suggestion = _suggestion(case)
    if suggestion is None:
        shown.errors[""] = (
            "There is no group suggestion for this practice (it has no coordinates or no neighbours in reach)."
        )
        return shown
    shown.units = {line.offer_code: str(line.units) for line in suggestion.lines}
    others = [m.code for m in suggestion.members if m.code != case.practice.code]
    share = 100 / (len(others) + 1)
    shown.group = "\n".join(f"{c} {share:.2f}" for c in others)
    return shown


def _suggestion(case: Case) -> Any:
    """The targeting app's group-package proposal for this case's practice (ripple analysis), if it can make one."""
    from django.core.exceptions import ValidationError

    from apps.targeting.services import suggest_group_package

    try:
        return suggest_group_package(case.practice.code)
    except (ValidationError, ValueError):
        return None


def decide(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    user = user_of(request)
    case = case_of(request, pk)
    if not access.can_run_case(user, case):
        raise PermissionDenied
    pkg = get_object_or_404(case.packages.select_related("case"), number=number)
    budgets = funding.budgets_for(case.icb, on=pkg.starts)
    form = DecisionForm(request.POST if request.method == "POST" else None, budgets=budgets)
    if form.is_valid():
        note = form.cleaned_data["note"]
        try:
            if form.cleaned_data["decision"] == "approve":
                services.approve_package(user, pkg, note, form.chosen_budget())
                messages.success(request, f"{pkg.ref} approved.")
            else:
                services.refuse_package(user, pkg, note)
                messages.success(request, f"{pkg.ref} refused; the practice has been told why.")
        except DomainError as e:
            add_refusal(form, e)
        else:
            return redirect("cases:detail", pk=case.pk)
    errors = form_errors(form) if form.is_bound else {}
    shown = typed(form)
    ctx = {
        "case": case,
        "pkg": pkg,
        "errors": errors,
        "note": str(shown["note"]).strip(),
        "decision": shown["decision"],
        "budgets": budgets,
        "chosen": shown["budget"],
        "lines": pkg.lines.select_related("offer"),
        "practices": pkg.practices.select_related("practice"),
    }
    return render(request, "cases/decide.jinja", ctx, status=400 if errors else 200)


def vary(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """Vary an approved package: every offer on the menu with the package's units and price filled in."""
    user = user_of(request)
    case = case_of(request, pk)
    if not access.can_run_case(user, case):
        raise PermissionDenied
    pkg = get_object_or_404(case.packages.select_related("case"), number=number)
    offers = list(SupportOffer.objects.filter(active=True))
    current = {ln.offer.code: ln for ln in pkg.lines.select_related("offer")}
    errors: dict[str, str] = {}
    if request.method == "POST":
        parsed = parse_variation(request.POST, offers)
        errors = dict(parsed.errors)
        if not errors:
            try:
                services.vary_package(user, pkg, parsed.lines, parsed.reason)
            except DomainError as e:
                # Only the boxes on this page can be linked to; anything else leads the summary.
                on_page = {"reason", *(f"units-{o.code}" for o in offers), *(f"price-{o.code}" for o in offers)}
                errors = {(k if k in on_page else ""): v for k, v in e.as_errors().items()}
            else:
                messages.success(request, f"{pkg.ref} varied; the committed money follows.")
                return redirect("cases:detail", pk=case.pk)
        units, prices, reason = parsed.units, parsed.prices, parsed.reason
    else:
        units = {code: str(ln.requested_units) for code, ln in current.items()}
        prices = {code: f"{ln.unit_cost_pence / 100:.2f}" for code, ln in current.items()}
        reason = ""
    ctx = {
        "case": case,
        "pkg": pkg,
        "offers": offers,
        "current": current,
        "units": units,
        "prices": prices,
        "reason": reason,
        "errors": errors,
        "commitments": funding.commitments_under([pkg.commitment_ref or pkg.ref]).select_related("budget__line"),
    }
    return render(request, "cases/vary.jinja", ctx, status=400 if errors else 200)
