"""What every delivery page does with a refused form: errors keyed by the fields the page shows.

A page shows a form's errors with ``error_summary(errors)``: each links to ``#field``, so a message about an input
the page has no element for (a hidden id, a line's own form among several) is shown unlinked (keyed ``""``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django import forms

from apps.core.forms import form_errors
from apps.delivery.errors import DeliveryError


def refuse(form: forms.BaseForm, error: DeliveryError, aliases: Mapping[str, str] | None = None) -> None:
    """Attach a service's refusal to the form: on its field, on the page's name for it (``aliases``: the service's
    ``cancelled_reason`` is the page's ``reason``), or to the form as a whole."""
    field = (aliases or {}).get(error.field or "", error.field)
    form.add_error(field if field in form.fields else None, error.message)


def page_errors(form: forms.BaseForm, on_page: Iterable[str] | Mapping[str, str]) -> dict[str, str]:
    """``form_errors(form)`` keyed by the element the page shows for each field (``on_page``: the fields whose
    element has the field's name as id, or a mapping field → id); a field the page has no element for is keyed
    ``""`` (messages joined)."""
    anchors = dict(on_page) if isinstance(on_page, Mapping) else {f: f for f in on_page}
    out: dict[str, str] = {}
    loose: list[str] = []
    for field, message in form_errors(form).items():
        if field in anchors:
            out[anchors[field]] = message
        elif message not in loose:
            loose.append(message)
    return {"": " ".join(loose), **out} if loose else out
