"""Import an ICB's existing caseload from a spreadsheet (XLSX or CSV), all rows or none.

    manage.py import_caseload FILE --icb CODE [--as USERNAME] [--dry-run]

Reads the file as the upload page does (headers matched to our columns by name and common synonyms), prints every
row in error with its reasons, and imports only when no row is in error. ``--as`` names the ICB team member the
import is made for (default: the ICB's team lead); the case timeline shows them, and the audit trail shows this
command and the OS user who ran it.
``--dry-run`` previews and writes nothing, not even the upload record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from apps.accounts.models import TeamRole, User
from apps.caseload import plan as planning
from apps.caseload import services
from apps.caseload.policy import can_import_into
from apps.practices.models import ICB


class _DryRun(Exception):
    pass


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--icb", required=True, help="The ICB's code, e.g. QHM")
        parser.add_argument("--as", dest="username", default="", help="The ICB team member importing (default: lead)")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        path: Path = opts["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        icb = ICB.objects.filter(code=opts["icb"].strip().upper()).first()
        if icb is None:
            raise CommandError(f"No ICB with code {opts['icb']}")
        team = User.objects.filter(icb=icb, is_active=True)
        user = (
            team.filter(username=opts["username"]).first()
            if opts["username"]
            else team.filter(team_role=TeamRole.LEAD).order_by("pk").first()
        )
        if user is None or not can_import_into(user, icb):
            who = opts["username"] or "A team lead"
            raise CommandError(f"{who} is not an active member of {icb.short_name}'s team: name one with --as")
        try:
            with transaction.atomic():
                upload = services.upload_file(icb=icb, user=user, filename=path.name, data=path.read_bytes())
                seen = services.preview(upload)
                if seen.plan is None:
                    raise CommandError(
                        "Columns not found: " + "; ".join(seen.mapping_problems.values())
                        + ". Use the template's headings (download it from the import page)."
                    )  # fmt: skip
                self._report(seen.plan)
                if opts["dry_run"]:
                    raise _DryRun
        except _DryRun:
            self.stdout.write("dry run: nothing written")
            return
        except services.ImportRefused as e:
            raise CommandError(e.message) from e
        if seen.plan.errors:
            raise CommandError(f"{len(seen.plan.errors)} rows in error: nothing imported (upload {upload.pk} kept)")
        try:
            done = services.commit_upload(upload=upload, user=user)
        except services.ImportRefused as e:
            raise CommandError(e.message) from e
        c = done.counts
        self.stdout.write(
            f"imported upload {upload.pk} ({upload.sha256[:12]}): {c[planning.CREATE]} created, "
            f"{c[planning.UPDATE]} updated, {c[planning.UNCHANGED]} already here"
        )

    def _report(self, plan: planning.Plan) -> None:
        for row in plan.errors:
            self.stdout.write(f"row {row.number} ({row.reference or 'no reference'}): {'; '.join(row.reasons)}")
        c = plan.counts
        self.stdout.write(
            f"{len(plan.rows)} rows: {c[planning.CREATE]} to create, {c[planning.UPDATE]} to update, "
            f"{c[planning.UNCHANGED]} already here, {c[planning.ERROR]} in error"
        )
