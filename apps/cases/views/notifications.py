"""Waiting for me, the user's notifications and which kinds they receive."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from apps.accounts.http import user_of
from apps.cases import notify, services
from apps.cases import policy as access
from apps.cases.forms import NotificationSettingsForm
from apps.cases.models import Notification, NotificationKind
from apps.core.forms import form_errors


def notifications(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if not access.is_signed_in(user):
        raise PermissionDenied
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "settings":
            form = NotificationSettingsForm(request.POST)
            if form.is_valid():
                services.set_notification_kinds(user, form.cleaned_data["kinds"])
                messages.success(request, "Notification settings saved.")
            else:
                messages.error(request, " ".join(form_errors(form).values()))
        elif action == "read":
            services.mark_all_read(user)
            messages.success(request, "All marked as read.")
        return redirect("cases:notifications")
    items = list(Notification.objects.filter(user=user).select_related("case")[:100])
    ctx = {
        "items": items,
        "unread": sum(1 for n in items if n.read_at is None),
        "waiting": services.waiting_for(user),
        "kinds": NotificationKind.choices,
        "enabled": notify.enabled_kinds(user),
    }
    return render(request, "cases/notifications.jinja", ctx)
