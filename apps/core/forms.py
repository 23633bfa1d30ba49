"""Reading input through Django forms, and showing what was wrong, the same way on every page.

Every write reads its input through a form (or a typed parse function shared with the API). A page shows the
form's errors **all at once**: the NHS.UK error summary at the top, each message next to its field, with
``templates/core/_forms.jinja``'s ``error_summary(errors)``. ``errors`` is always ``{field: message}`` (first message
per field; a message not tied to a field is keyed ``""``), whether it came from a form or from a service's
:class:`~apps.core.errors.DomainError`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.core.errors import DomainError


def form_errors(form: forms.BaseForm) -> dict[str, str]:
    """The form's errors as ``{field: first message}``, in the order of the form's fields; errors not tied to a
    field (``clean()``) are keyed ``""``."""
    errors: dict[str, str] = {}
    for name in [*form.fields, "__all__"]:
        messages = form.errors.get(name)
        if messages:
            errors["" if name == "__all__" else name] = str(messages[0])
    return errors


def typed(form: forms.BaseForm) -> dict[str, Any]:
    """What each of the form's boxes holds, to show it again: the text as sent on a bound form (never the cleaned
    value, so "12.5" stays "12.5" beside its error), the ``initial`` value on an unbound one; ``""`` for nothing.
    A page redisplays input from here rather than reading ``request.POST`` itself."""
    return {name: "" if (value := form[name].value()) is None else value for name in form.fields}


def add_refusal(form: forms.BaseForm, error: DomainError) -> None:
    """Attach a service's refusal to the form, on its field when the field is one of the form's."""
    form.add_error(error.field if error.field in form.fields else None, error.message)


def refusal(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    errors: dict[str, str] | DomainError,
    status: int = 400,
) -> HttpResponse:
    """Render ``template`` again with ``errors`` (a form's ``form_errors`` or a service's ``DomainError``) and the
    status that says the input was refused. The template shows them with ``error_summary(errors)``."""
    shown = errors.as_errors() if isinstance(errors, DomainError) else errors
    return render(request, template, {**context, "errors": shown}, status=status)
