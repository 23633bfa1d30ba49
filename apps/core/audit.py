"""The audit trail: every create, update and delete of a record that matters, with who did it and what changed.

What is audited is declared here (:data:`AUDITED_APPS` — every model of those apps — and :data:`AUDITED_MODELS`),
and :func:`connect` hooks Django's model signals for each, so a save or delete through the ORM cannot skip it.
Bulk writes (``bulk_create``, ``QuerySet.update``/``delete``) send no signals: code that uses them on an audited
model calls :func:`record_bulk`, and ``apps/core/tests/test_audit.py`` fails when a bulk write on an audited model
appears without it.

Who acted comes from a context variable: the request middleware sets it to the signed-in user, the API's token
check to the token's owner, and management commands run as ``command:<name>``. Values are stored as text, and
secrets (password hashes, token fingerprints) are never recorded: only that they changed.
"""

from __future__ import annotations

import contextvars
import getpass
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models.signals import post_delete, post_save, pre_save
from django.http import HttpRequest, HttpResponse

AUDITED_APPS = ("cases", "funding", "delivery", "caseload", "cohorts")
AUDITED_MODELS = (
    "accounts.User",
    "accounts.Invitation",
    "indicators.WatchEntry",
    "indicators.WatchChange",
    "api.ApiToken",
    # What changes what everyone sees without a form: a new scoring run (scores, watch lists), a scenario run, and
    # each national data load or refusal (the register).
    "indicators.ScoringRun",
    "targeting.Scenario",
    "datasets.ImportLog",
)
# Models of the audited apps that are not decisions: messages to users and their own mail settings.
EXEMPT = {
    "cases.Notification": "a message to a user, not a decision",
    "cases.NotificationSetting": "a user's own mail choice",
    "caseload.StoredFile": "the bytes of an upload; the upload row (file name, SHA-256, who, outcome) is audited",
    "funding.LedgerMonth": "running totals derived from ledger entries, which are audited one by one",
    "funding.PaymentTotal": "running totals derived from payments, which are audited one by one",
}
# Fields whose values are never written to the audit record (only "changed").
SECRET_FIELDS = {"password", "token_sha256", "token_hash", "feed_token"}
# Bookkeeping fields that change on every request and say nothing about who did what.
IGNORED_FIELDS = {"last_login", "last_used_at"}

_actor: contextvars.ContextVar[tuple[int | None, str]] = contextvars.ContextVar("audit_actor", default=(None, "system"))
_before: contextvars.ContextVar[dict[tuple[str, Any], dict[str, Any]] | None] = contextvars.ContextVar(
    "audit_before", default=None
)


def set_actor(user: Any) -> None:
    """The user (or a label such as ``command:import_national``) that the following changes are attributed to."""
    if isinstance(user, str):
        _actor.set((None, user))
    elif getattr(user, "is_authenticated", False):
        _actor.set((user.pk, user.get_username()))


def os_user() -> str:
    """The operating-system account running this process (who ran a command or started the worker)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for the uid (a container's arbitrary uid)
        return f"uid {os.getuid()}"


def command_actor(name: str) -> str:
    """The actor for a management command or background task: ``command:import_national by root``."""
    return f"{name} by {os_user()}"[:150] if ":" in name else f"command:{name} by {os_user()}"[:150]


@contextmanager
def acting_as(user: Any) -> Iterator[None]:
    token = _actor.set(_actor.get())
    set_actor(user)
    try:
        yield
    finally:
        _actor.reset(token)


class AuditActorMiddleware:
    """Attributes every change made while handling a request to the signed-in user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _actor.set((None, "anonymous"))
        set_actor(getattr(request, "user", None))
        try:
            return self.get_response(request)
        finally:
            _actor.reset(token)


def audited_models() -> list[type[models.Model]]:
    out = [m for label in AUDITED_APPS if label in {a.label for a in apps.get_app_configs()}
           for m in apps.get_app_config(label).get_models()]  # fmt: skip
    out += [apps.get_model(label) for label in AUDITED_MODELS if _installed(label)]
    return [m for m in out if m._meta.label not in EXEMPT]


def _installed(label: str) -> bool:
    try:
        apps.get_model(label)
    except LookupError:
        return False
    return True


def is_audited(model: type[models.Model]) -> bool:
    label = model._meta.label
    return label not in EXEMPT and (label in AUDITED_MODELS or model._meta.app_label in AUDITED_APPS)


def _text(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, date | datetime | Decimal):
        return str(value)
    if isinstance(value, dict | list):
        return value
    return str(value)


def _values(instance: models.Model) -> dict[str, Any]:
    """Field values as text (secrets included: they are masked by :func:`_mask` before anything is written)."""
    return {
        f.name: _text(getattr(instance, f.attname))
        for f in instance._meta.concrete_fields
        if f.name not in IGNORED_FIELDS
    }


def _mask(changes: dict[str, list[Any]]) -> dict[str, list[Any]]:
    for name in SECRET_FIELDS & set(changes):
        before, after = changes[name]
        changes[name] = [None if before is None else "(secret)", None if after is None else "(secret, changed)"]
    return changes


def _remember(sender: type[models.Model], instance: models.Model, raw: bool = False, **_: Any) -> None:
    if raw or instance.pk is None:
        return
    old = sender._default_manager.filter(pk=instance.pk).first()
    if old is None:
        return
    store = _before.get()
    if store is None:
        store = {}
        _before.set(store)
    store[(sender._meta.label, instance.pk)] = _values(old)


def _write(model: type[models.Model], pk: Any, action: str, changes: dict[str, Any]) -> None:
    from apps.core.models import AuditRecord

    actor_id, actor = _actor.get()
    AuditRecord.objects.create(
        actor_id=actor_id,
        actor=actor,
        model=model._meta.label,
        object_pk=str(pk)[:200],
        action=action,
        changes=_mask(changes),
    )


def _saved(sender: type[models.Model], instance: models.Model, created: bool, raw: bool = False, **_: Any) -> None:
    if raw:
        return
    now = _values(instance)
    if created:
        _write(sender, instance.pk, "create", {k: [None, v] for k, v in now.items() if v not in (None, "", [], {})})
        return
    old = (_before.get() or {}).pop((sender._meta.label, instance.pk), None)
    if old is None:  # saved with a primary key that was not in the database: a create by another road
        _write(sender, instance.pk, "create", {k: [None, v] for k, v in now.items() if v not in (None, "", [], {})})
        return
    changes = {k: [old.get(k), v] for k, v in now.items() if old.get(k) != v}
    if changes:
        _write(sender, instance.pk, "update", changes)


def _deleted(sender: type[models.Model], instance: models.Model, **_: Any) -> None:
    _write(sender, instance.pk, "delete", {k: [v, None] for k, v in _values(instance).items() if v not in (None, "")})


def record_bulk(model: type[models.Model], objects: Iterable[models.Model] | None, action: str, note: str) -> None:
    """One audit record for a bulk write the signals cannot see (``bulk_create``, ``update``, ``delete``)."""
    pks = [str(o.pk) for o in objects] if objects is not None else []
    _write(model, ",".join(pks)[:200] or "(many)", action, {"bulk": [None, note], "count": [None, len(pks) or None]})


def record_decision(model: type[models.Model], pk: Any, decision: str, note: str) -> None:
    """One audit record for an operator's decision that is not a field edit (e.g. accepting a row-count drop in a
    national import), attributed to the current actor like every other record."""
    _write(model, pk, "create", {decision: [None, note]})


def connect() -> None:
    """Hook the signals for every audited model (called once, from CoreConfig.ready)."""
    for model in audited_models():
        uid = f"audit:{model._meta.label}"
        pre_save.connect(_remember, sender=model, dispatch_uid=f"{uid}:pre", weak=False)
        post_save.connect(_saved, sender=model, dispatch_uid=f"{uid}:post", weak=False)
        post_delete.connect(_deleted, sender=model, dispatch_uid=f"{uid}:delete", weak=False)


def is_connected(model: type[models.Model]) -> bool:
    """True when saves and deletes of ``model`` reach the audit trail."""
    uid = f"audit:{model._meta.label}"
    keys = {r[0][0] for sig in (pre_save, post_save, post_delete) for r in sig.receivers}
    return {f"{uid}:pre", f"{uid}:post", f"{uid}:delete"} <= keys


def bulk_create[M: models.Model](model: type[M], objects: Iterable[M], note: str = "") -> list[M]:
    """``model.objects.bulk_create`` with one audit record for the rows it made (bulk writes send no signals)."""
    made = model._default_manager.bulk_create(list(objects))
    record_bulk(model, made, "create", note or f"{len(made)} created together")
    return made
