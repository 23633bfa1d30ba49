"""Who may bring a caseload in (issue 15 §3: role checks live in policy modules). Only an ICB's own team imports,
and only into its own ICB: the national team sees case aggregates, never case rows, so it neither imports for an
ICB nor reads an upload (which is case rows)."""

from __future__ import annotations

from django.http import Http404

from apps.accounts.access import is_signed_in
from apps.accounts.models import Role, User
from apps.caseload.models import CaseloadUpload
from apps.practices.models import ICB


def import_icb(user: User) -> ICB | None:
    """The ICB whose caseload the user may import: their own ICB if they are on its team, else none."""
    if is_signed_in(user) and user.role == Role.ICB and user.is_active and user.icb_id is not None:
        return user.icb
    return None


def can_import(user: User) -> bool:
    return import_icb(user) is not None


def can_import_into(user: User, icb: ICB) -> bool:
    own = import_icb(user)
    return own is not None and own.pk == icb.pk


def get_upload_for(user: User, pk: int) -> CaseloadUpload:
    """One of the user's ICB's uploads; 404 for any other (never saying whether it exists)."""
    icb = import_icb(user)
    upload = CaseloadUpload.objects.filter(pk=pk, icb=icb).select_related("icb", "uploaded_by").first()
    if icb is None or upload is None:
        raise Http404("No such upload")
    return upload
