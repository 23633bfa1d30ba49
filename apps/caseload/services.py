"""Bringing an ICB's existing work in: keep the upload, choose the columns, preview, and commit all or nothing.

The commit goes through the real services where money moves (``commit_funds`` locks the budget and refuses an
overdraw; ``record_payment`` records what was paid, for a second member of the team to approve, as every payment
is), and writes each case's history directly in the state it has reached: an imported case did not walk the
lifecycle here, so its timeline says so (each event "Imported by … from …", attributed to the importer, dated when
it happened). Services never see the request; refusals are :class:`ImportError_` (a ``DomainError``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from analytics import money
from apps.accounts.models import User
from apps.caseload import plan as planning
from apps.caseload import reading
from apps.caseload.budgets import BudgetRow, record_budgets
from apps.caseload.models import CaseloadUpload, ImportedCase, StoredFile
from apps.caseload.policy import can_import_into
from apps.cases.models import (
    REVIEW_INTERVAL,
    Case,
    CaseEvent,
    CaseNote,
    Package,
    PackageLine,
    PackagePractice,
    Referral,
    Status,
    SupportOffer,
    Triage,
)
from apps.core import audit
from apps.core.errors import DomainError
from apps.funding.services import commit_funds, pounds, record_payment
from apps.practices.models import ICB

MAX_BYTES = 10 * 1024 * 1024  # a 20,000-row caseload is ~3 MB as CSV
BACKGROUND_ROWS = 1_000
"""A file longer than this is previewed by the worker (``tasks.plan_upload``) and the page shows its progress: the
plan costs ~0.2 ms a row plus reading the file (5,000 rows: 1.3 s measured by bench/import_caseload.py), so a
1,000-row file still answers in well under a second. Its commit goes to the worker too (``request_commit``): 5,000
rows took 19 s inside the request (issue 19)."""


class ImportRefused(DomainError):
    """An upload or commit refused; the message says why in words."""


class AlreadyImported(ImportRefused):
    """The upload was committed before (perhaps a moment ago, by a colleague)."""


@dataclass
class Preview:
    upload: CaseloadUpload
    headers: list[str]
    mapping_problems: dict[str, str]
    plan: planning.Plan | None  # None until the mapping is complete (or while a big file is worked out)
    earlier: CaseloadUpload | None  # the same file, imported before
    pending: tuple[int, int] | None = None  # (rows done, rows) while the worker works a big file's preview out


def _noon(d: date) -> datetime:
    return datetime.combine(d, time(12), tzinfo=UTC)


def upload_file(*, icb: ICB, user: User, filename: str, data: bytes) -> CaseloadUpload:
    """Keep the file (and its SHA-256) and suggest which of its columns hold what. Refused if unreadable."""
    if not can_import_into(user, icb):
        raise PermissionDenied("only the ICB's own team imports its caseload")
    if len(data) > MAX_BYTES:
        raise ImportRefused(f"The file is larger than {MAX_BYTES // 1024 // 1024} MB", field="file")
    name = (filename or "caseload").replace("\x00", "").strip()[-200:] or "caseload"
    try:
        table = reading.read_table(data, name)
    except reading.UnreadableFile as e:
        raise ImportRefused(str(e), field="file") from e
    with transaction.atomic():
        upload = CaseloadUpload.objects.create(
            icb=icb,
            filename=name,
            sha256=hashlib.sha256(data).hexdigest(),
            size_bytes=len(data),
            rows=len(table.rows),
            mapping=reading.suggest_mapping(table.headers),
            uploaded_by=user,
        )
        StoredFile.objects.create(upload=upload, content=data)
        _queue_plan(upload)
    return upload


def _queue_plan(upload: CaseloadUpload) -> None:
    """A big file's preview goes to the worker (the upload's own transaction holds the queued task until it commits)."""
    if upload.rows <= BACKGROUND_ROWS:
        return
    from apps.caseload.tasks import plan_upload

    if reading.mapping_problems(upload.mapping, _table(upload).headers):
        return  # nothing to work out until the columns are chosen
    StoredFile.objects.filter(upload=upload).update(plan={"mapping": upload.mapping, "done": 0, "total": upload.rows})
    plan_upload.enqueue(upload.pk)


def store_plan(upload: CaseloadUpload) -> None:
    """Work the preview out and keep it with the file (the task's work), telling the page how far it has got."""
    mapping = dict(upload.mapping)
    stored = StoredFile.objects.filter(upload=upload)

    def progress(done: int) -> None:
        stored.update(plan={"mapping": mapping, "done": done, "total": upload.rows})

    table = _table(upload)
    plan = planning.plan_import(
        upload.icb, reading.records(table, mapping), progress=progress, budget_sheet=_budget_sheet(upload)
    )
    rows = [[r.number, r.reference, r.practice_code, r.action, r.reasons, r.summary] for r in plan.rows]
    budgets = [[b.number, b.programme, b.line_name, b.action, b.reasons, b.summary] for b in plan.budgets]
    stored.update(
        plan={"mapping": mapping, "done": upload.rows, "total": upload.rows, "rows": rows, "budgets": budgets}
    )


def choose_columns(*, upload: CaseloadUpload, user: User, mapping: dict[str, str]) -> dict[str, str]:
    """Store the person's choice of columns; returns the problems with it by column key (nothing stored if any)."""
    if not can_import_into(user, upload.icb):
        raise PermissionDenied("only the ICB's own team imports its caseload")
    table = _table(upload)
    chosen = {c.key: (mapping.get(c.key) or "").strip() for c in reading.COLUMNS}
    problems = reading.mapping_problems(chosen, table.headers)
    if not problems and upload.status == CaseloadUpload.Status.UPLOADED:
        upload.mapping = chosen
        upload.save(update_fields=["mapping"])
        _queue_plan(upload)
    return problems


def _table(upload: CaseloadUpload) -> reading.Table:
    return reading.read_table(bytes(upload.file.content), upload.filename)


def _budget_sheet(upload: CaseloadUpload) -> tuple[list[dict[str, str]], list[str]]:
    try:
        return reading.read_budgets(bytes(upload.file.content), upload.filename)
    except reading.UnreadableFile as e:
        return [], [str(e)]


def shown_preview(upload: CaseloadUpload) -> Preview:
    """The preview a page or the API shows: worked out now for a small file; for a big one, the worker's result,
    or how far it has got (``pending``)."""
    working = (CaseloadUpload.Status.UPLOADED, CaseloadUpload.Status.COMMITTING)  # the stored preview still holds
    if upload.rows <= BACKGROUND_ROWS or upload.status not in working:
        return preview(upload)
    stored = StoredFile.objects.filter(upload=upload).values_list("plan", flat=True).first() or {}
    table = _table(upload)
    problems = reading.mapping_problems(upload.mapping, table.headers)
    earlier = _earlier(upload)
    if problems:
        return Preview(upload, table.headers, problems, None, earlier)
    if stored.get("mapping") != upload.mapping or "rows" not in stored:
        done = stored.get("done", 0) if stored.get("mapping") == upload.mapping else 0
        return Preview(upload, table.headers, {}, None, earlier, pending=(done, upload.rows))
    rows = [
        planning.Row(number, reference, code, action=action, reasons=reasons, summary=summary)
        for number, reference, code, action, reasons, summary in stored["rows"]
    ]
    budgets = [
        BudgetRow(number, programme, line, action=action, reasons=reasons, summary=summary)
        for number, programme, line, action, reasons, summary in stored.get("budgets", [])
    ]
    return Preview(upload, table.headers, {}, planning.Plan(rows, budgets), earlier)


def _earlier(upload: CaseloadUpload) -> CaseloadUpload | None:
    return (
        CaseloadUpload.objects.filter(icb=upload.icb, sha256=upload.sha256, status=CaseloadUpload.Status.COMMITTED)
        .exclude(pk=upload.pk)
        .select_related("committed_by")
        .first()
    )


def preview(upload: CaseloadUpload, today: date | None = None) -> Preview:
    """What committing the upload would do, row by row, worked out now; writes nothing."""
    table = _table(upload)
    problems = reading.mapping_problems(upload.mapping, table.headers)
    plan = (
        None
        if problems
        else planning.plan_import(
            upload.icb, reading.records(table, upload.mapping), today, budget_sheet=_budget_sheet(upload)
        )
    )
    return Preview(upload, table.headers, problems, plan, _earlier(upload))


def _refuse_unless_committable(upload: CaseloadUpload, user: User, seen: Preview) -> planning.Plan:
    if not can_import_into(user, upload.icb):
        raise PermissionDenied("only the ICB's own team imports its caseload")
    if upload.status == CaseloadUpload.Status.COMMITTED:
        raise AlreadyImported("This upload has already been imported")
    if seen.plan is None:
        if seen.pending:
            raise ImportRefused("The preview is still being worked out: import once it shows every row")
        raise ImportRefused("Choose the columns first: " + "; ".join(seen.mapping_problems.values()))
    if seen.plan.budget_errors:
        n = len(seen.plan.budget_errors)
        raise ImportRefused(f"{n} budget row{'s' if n != 1 else ''} in error: fix the Budgets sheet and upload the "
                            f"file again. Nothing was imported.")  # fmt: skip
    if seen.plan.errors:
        n = len(seen.plan.errors)
        raise ImportRefused(f"{n} row{'s' if n != 1 else ''} in error: fix {'them' if n != 1 else 'it'} in the file "
                            f"and upload it again. Nothing was imported.")  # fmt: skip
    return seen.plan


def request_commit(*, upload: CaseloadUpload, user: User) -> planning.Plan | None:
    """Import the upload: at once for a file of up to ``BACKGROUND_ROWS`` rows (the plan imported is returned), or
    for a longer one queue the commit for the worker and mark the upload importing (``None``). Either way all rows
    or none; the queued commit is refused now if the stored preview has rows in error."""
    if upload.rows <= BACKGROUND_ROWS:
        return commit_upload(upload=upload, user=user)
    _refuse_unless_committable(upload, user, shown_preview(upload))
    from apps.caseload.tasks import commit_upload_in_background

    with transaction.atomic():
        locked = CaseloadUpload.objects.select_for_update().get(pk=upload.pk)
        if locked.status == CaseloadUpload.Status.COMMITTED:
            raise AlreadyImported("This upload has already been imported")
        if locked.status != CaseloadUpload.Status.UPLOADED:
            raise ImportRefused("This upload is already being imported, or was refused: upload the file again")
        locked.status, locked.committed_by = CaseloadUpload.Status.COMMITTING, user
        locked.outcome = {"queued_at": timezone.now().isoformat()}
        locked.save(update_fields=["status", "committed_by", "outcome"])
        commit_upload_in_background.enqueue(upload.pk, user.pk)  # held by this transaction until it commits
    upload.refresh_from_db()
    return None


def run_queued_commit(upload_id: int, user_id: int) -> None:
    """The worker's part of ``request_commit``: note when it started (outside the import's transaction, so the page
    sees it), then commit all or nothing. A refusal is the upload's outcome, not a failed task; a crash marks the
    upload refused (its transaction rolled back: nothing was imported) and fails the task run visibly."""
    upload = CaseloadUpload.objects.select_related("icb").filter(pk=upload_id).first()
    if upload is None or upload.status != CaseloadUpload.Status.COMMITTING:
        return  # imported or refused by an earlier run
    user = User.objects.get(pk=user_id)
    upload.outcome = {**upload.outcome, "started_at": timezone.now().isoformat()}
    upload.save(update_fields=["outcome"])
    try:
        commit_upload(upload=upload, user=user, queued=True)
    except ImportRefused as e:  # the outcome; refused before the transaction (rows now in error), mark it here
        upload.refresh_from_db(fields=["status"])
        if upload.status == CaseloadUpload.Status.COMMITTING:
            _refused(upload, e.message)
    except PermissionDenied:
        _refused(upload, "The person who asked for the import may no longer import into this ICB")
    except Exception:
        _refused(upload, "The import stopped unexpectedly. Nothing was imported: try again or ask for help")
        raise


def _refused(upload: CaseloadUpload, message: str) -> None:
    upload.status, upload.outcome = CaseloadUpload.Status.FAILED, {"refused": message[:1000]}
    upload.save(update_fields=["status", "outcome"])


def commit_upload(*, upload: CaseloadUpload, user: User, queued: bool = False) -> planning.Plan:
    """Import every row in one transaction, or nothing. Refused (and the upload marked so) when any row is in
    error, or when a service refuses a row on the way (e.g. the money was committed by someone else meanwhile).
    ``queued``: the worker running a commit ``request_commit`` marked importing."""
    if upload.status == CaseloadUpload.Status.COMMITTING and not queued:
        raise ImportRefused("This upload is already being imported")
    _refuse_unless_committable(upload, user, preview(upload))
    try:
        with transaction.atomic():
            locked = CaseloadUpload.objects.select_for_update().get(pk=upload.pk)
            if locked.status == CaseloadUpload.Status.COMMITTED:
                raise AlreadyImported("This upload has already been imported")
            done = planning.plan_import(
                upload.icb, reading.records(_table(upload), upload.mapping), budget_sheet=_budget_sheet(upload)
            )
            record_budgets(done.budgets, done.rows, upload, user)
            _apply(done.rows, upload, user)
            locked.status, locked.committed_by, locked.committed_at = (
                CaseloadUpload.Status.COMMITTED,
                user,
                timezone.now(),
            )
            locked.outcome = done.counts
            locked.save(update_fields=["status", "committed_by", "committed_at", "outcome"])
    except AlreadyImported:
        raise
    except (DomainError, ValidationError) as e:
        message = e.message if isinstance(e, DomainError) else "; ".join(e.messages)
        _refused(upload, message)
        raise ImportRefused(f"Nothing was imported: {message}") from e
    upload.refresh_from_db()
    return done


class _RowFailed(ImportRefused):
    pass


def _apply(rows: list[planning.Row], upload: CaseloadUpload, user: User) -> None:
    creates: list[planning.Row] = []
    for row in rows:
        if row.action == planning.ERROR:  # the state of the database changed since the preview
            raise _RowFailed(f"row {row.number}: {'; '.join(row.reasons)}")
        if row.action == planning.CREATE:
            creates.append(row)
        elif row.action == planning.UPDATE:
            try:
                _update(row, upload, user)
            except (DomainError, ValidationError) as e:
                message = e.message if isinstance(e, DomainError) else "; ".join(e.messages)
                raise _RowFailed(f"row {row.number} ({row.reference}): {message}") from e
    try:
        _create_all(creates, upload, user)
    except IntegrityError as e:  # a case opened for one of these practices since the plan was made
        raise ImportRefused("a case was opened meanwhile for a practice in the file: upload it again") from e


def _by(upload: CaseloadUpload, user: User, row: planning.Row) -> str:
    return f"Imported by {user.get_full_name() or user.get_username()} from {upload.filename}, row {row.number}"


def _create_all(rows: list[planning.Row], upload: CaseloadUpload, user: User) -> None:
    """Every new case with its history, in a few bulk inserts (each audited as one record naming the upload: 5,000
    cases one by one took a minute); then each approved package through the money services, row by row."""
    if not rows:
        return
    note = f"imported from {upload.filename} (upload {upload.pk})"
    cases = audit.bulk_create(Case, [_case(row, upload) for row in rows], note)
    history: dict[type[models.Model], list[models.Model]] = {
        Referral: [], CaseEvent: [], Triage: [], CaseNote: [], ImportedCase: []
    }  # fmt: skip
    for row, case in zip(rows, cases, strict=True):
        for obj in _history(row, case, upload, user):
            history[type(obj)].append(obj)
    for model, objs in history.items():
        if objs:
            audit.bulk_create(model, objs, note)
    for row, case in zip(rows, cases, strict=True):
        if row.offer is not None and row.budget is not None:
            try:
                _package(case, row, upload, user, _by(upload, user, row))
            except (DomainError, ValidationError) as e:
                message = e.message if isinstance(e, DomainError) else "; ".join(e.messages)
                raise _RowFailed(f"row {row.number} ({row.reference}): {message}") from e


def _case(row: planning.Row, upload: CaseloadUpload) -> Case:
    assert row.practice is not None and row.referred_on is not None and row.state_on is not None
    return Case(
        practice=row.practice,
        icb=upload.icb,
        status=row.state,
        urgency=row.urgency,
        opened_at=_noon(row.referred_on),
        status_changed_at=_noon(row.state_on),
        first_contact_at=None if row.state == Status.REFERRED else _noon(row.referred_on),
        triage_scope=row.scope,
        triage_impact=row.impact,
        review_due=(row.state_on + REVIEW_INTERVAL) if row.state in (Status.IN_DELIVERY, Status.REVIEW) else None,
    )


def _history(row: planning.Row, case: Case, upload: CaseloadUpload, user: User) -> list[models.Model]:
    """The case's timeline as it happened, each entry saying it was imported and by whom."""
    assert row.referred_on is not None and row.state_on is not None
    opened, reached = _noon(row.referred_on), _noon(row.state_on)
    by = _by(upload, user, row)
    event = CaseEvent.Kind
    out: list[models.Model] = [
        Referral(
            case=case, route=row.route, made_by=user, made_at=opened, urgency=row.urgency,
            concerns=row.notes or f"Existing case {row.reference}, imported from {upload.filename}",
        ),
        CaseEvent(
            case=case, at=opened, by=user, kind=event.OPENED, to_status=Status.REFERRED,
            summary=f"Referred on {row.referred_on:%d %B %Y} (your reference {row.reference}). {by}.",
        ),
    ]  # fmt: skip
    if row.scope:
        out.append(
            Triage(case=case, scope=row.scope, impact=row.impact, by=user, at=opened, rationale=f"{by}: as recorded")
        )
    if row.state != Status.REFERRED:
        out.append(
            CaseEvent(
                case=case, at=reached, by=user, kind=event.STATUS, from_status=Status.REFERRED, to_status=row.state,
                summary=f"Reached “{row.state.label}” on {row.state_on:%d %B %Y}. {by}.",
            )
        )  # fmt: skip
    if row.notes:
        out.append(CaseNote(case=case, author=user, at=opened, text=f"{row.notes}\n\n({by}.)"))
    out.append(
        ImportedCase(icb=upload.icb, reference=row.reference, case=case, upload=upload, fingerprint=row.fingerprint)
    )
    return out


def _package(case: Case, row: planning.Row, upload: CaseloadUpload, user: User, by: str) -> None:
    assert row.offer is not None and row.budget is not None and row.state_on is not None
    reference = f"IMP-{upload.icb.code}-{row.reference}"[:60]
    offer = SupportOffer.objects.filter(code=row.offer.code).first()
    if offer is None:
        raise ImportRefused(f"{row.offer.title} is not loaded from the menu yet (run sync_menu)")
    commit_funds(
        budget=row.budget,
        amount_pence=row.amount_pence,
        reference=reference,
        user=user,
        recipients=[(row.practice_code, row.amount_pence)],
        offers={row.offer.code: row.amount_pence},
        memo=f"{by}" + (f"; provider {row.provider}" if row.provider else ""),
    )
    package = Package.objects.create(
        case=case,
        number=1,
        state=Package.State.APPROVED,
        created_by=user,
        created_at=_noon(row.state_on),
        starts=row.state_on,
        ends=money.fy_end(row.budget.fy),
        total_pence=row.amount_pence,
        decided_by=user,
        decided_at=_noon(row.state_on),
        decision_note=by,
        budget_ref=f"{row.budget.line.programme.code}/{row.budget.line.code}/{row.budget.fy}/{upload.icb.code}"[:60],
        commitment_ref=reference,
    )
    PackagePractice.objects.create(
        package=package, practice=row.practice, share_bp=10_000, share_pence=row.amount_pence
    )
    PackageLine.objects.create(
        package=package, offer=offer, requested_units=1, units=1, unit_cost_pence=row.amount_pence,
        total_pence=row.amount_pence, note=f"Imported: {row.offer.title}"[:300],
    )  # fmt: skip
    CaseEvent.objects.create(
        case=case, at=_noon(row.state_on), by=user, kind=CaseEvent.Kind.PACKAGE,
        summary=f"Package approved: {row.offer.title}, {pounds(row.amount_pence)} committed ({reference}). {by}.",
    )  # fmt: skip
    if row.paid_pence:
        record_payment(
            reference=reference,
            amount_pence=row.paid_pence,
            kind="invoice" if row.provider else "direct",
            payee=row.provider,
            user=user,
            practice_code="" if row.provider else row.practice_code,
            invoice_number=row.invoice,
            offer_code=row.offer.code,
            memo=f"Paid before this service was used. {by}.",
        )


def _update(row: planning.Row, upload: CaseloadUpload, user: User) -> None:
    assert row.existing is not None and row.state_on is not None
    by = _by(upload, user, row)
    case = Case.objects.select_for_update().get(pk=row.existing.case_id)
    if row.state != case.status:
        src = case.status
        case.status, case.status_changed_at = row.state, _noon(row.state_on)
        case.save(update_fields=["status", "status_changed_at"])
        CaseEvent.objects.create(
            case=case, at=_noon(row.state_on), by=user, kind=CaseEvent.Kind.STATUS, from_status=src,
            to_status=row.state, summary=f"Reached “{row.state.label}” on {row.state_on:%d %B %Y}. {by}.",
        )  # fmt: skip
    if row.notes and not case.notes.filter(text__startswith=row.notes).exists():
        CaseNote.objects.create(case=case, author=user, text=f"{row.notes}\n\n({by}.)")
    imported = ImportedCase.objects.select_for_update().get(pk=row.existing.pk)
    imported.fingerprint, imported.upload = row.fingerprint, upload
    imported.save(update_fields=["fingerprint", "upload"])
