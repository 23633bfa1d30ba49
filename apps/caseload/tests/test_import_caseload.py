"""Bringing an ICB's existing work in: preview with reasons, all-or-nothing commit, a second upload creates nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError

from analytics.money import financial_year_of
from apps.caseload import plan as planning
from apps.caseload import sample, services
from apps.caseload.models import CaseloadUpload, ImportedCase
from apps.caseload.tests.conftest import OFFER, PROGRAMME
from apps.cases.models import Case, CaseEvent, Status
from apps.core.models import AuditRecord
from apps.funding.models import Budget, Commitment, LedgerEntry, Payment
from apps.funding.services import InsufficientFunds
from apps.pages.testing import ICB_B
from apps.practices.models import Practice, PracticeStatus

pytestmark = pytest.mark.django_db


def _rows(free: list[str], today: date, cases: int = 200, packages: int = 50) -> list[dict[str, str]]:
    return sample.caseload(
        free[:150], free, cases=cases, packages=packages, programme=PROGRAMME,
        fy=financial_year_of(today), offer=OFFER, today=today,
    )  # fmt: skip


def _upload(user: Any, rows: list[dict[str, str]], name: str = "caseload.csv") -> CaseloadUpload:
    data = sample.as_xlsx(rows) if name.endswith(".xlsx") else sample.as_csv(rows)
    return services.upload_file(icb=user.icb, user=user, filename=name, data=data)


def _break_three(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    other = Practice.objects.filter(icb__code=ICB_B, status=PracticeStatus.ACTIVE).order_by("code").first()
    assert other is not None
    bad = [dict(r) for r in rows]
    bad[10]["practice"] = "Z99999"  # unknown ODS code
    bad[60]["practice"] = other.code  # a practice of another ICB
    bad[120]["referred_on"] = "31/02/2024"  # no such date
    return bad


def test_a_file_with_three_bad_rows_shows_three_errors_with_reasons_and_writes_nothing(
    personas: dict[str, Any], budget: Budget, free_practices: list[str], today: date
) -> None:
    before = Case.objects.count()
    upload = _upload(personas["icb_a"], _break_three(_rows(free_practices, today)))
    seen = services.preview(upload)
    assert seen.plan is not None and not seen.mapping_problems  # every header of the tracker was recognised
    errors = {r.number: " ".join(r.reasons) for r in seen.plan.errors}
    assert sorted(errors) == [12, 62, 122]  # spreadsheet rows: the header is row 1
    assert "Unknown ODS code Z99999" in errors[12]
    assert "is not in your ICB" in errors[62] and "South West London" in errors[62]
    assert "“31/02/2024” is not a date" in errors[122]
    assert seen.plan.count(planning.CREATE) == 197
    with pytest.raises(services.ImportRefused, match="3 rows in error"):
        services.commit_upload(upload=upload, user=personas["icb_a"])
    assert Case.objects.count() == before


def test_the_fixed_file_commits_every_case_commitment_and_payment_with_imported_history(
    personas: dict[str, Any], budget: Budget, free_practices: list[str], today: date
) -> None:
    icb_user = personas["icb_a"]
    rows = _rows(free_practices, today)
    upload = _upload(icb_user, rows, "caseload.xlsx")
    done = services.commit_upload(upload=upload, user=icb_user)
    assert done.counts[planning.CREATE] == 200
    imported = ImportedCase.objects.filter(upload=upload)
    assert imported.count() == 200
    commitments = Commitment.objects.filter(reference__startswith=f"IMP-{icb_user.icb.code}-")
    assert commitments.count() == 50
    expected = sum(int(r["amount"].lstrip("£").replace(",", "").removesuffix(".00")) * 100 for r in rows[:50])
    assert sum(c.amount_pence for c in commitments) == expected
    assert budget.balance().committed == expected
    paid = [r for r in rows[:50] if r["paid"]]
    payments = Payment.objects.filter(commitment__in=commitments)
    assert payments.count() == len(paid) and {p.status for p in payments} == {Payment.Status.REQUESTED}
    first = ImportedCase.objects.get(reference=rows[0]["reference"]).case
    assert first.status in (Status.APPROVED, Status.IN_DELIVERY, Status.REVIEW)
    timeline = list(CaseEvent.objects.filter(case=first))
    assert timeline and all("Imported by" in e.summary and e.by_id == icb_user.pk for e in timeline)
    assert first.packages.get().commitment_ref.startswith("IMP-")
    upload.refresh_from_db()
    assert upload.status == CaseloadUpload.Status.COMMITTED and upload.committed_by == icb_user
    assert AuditRecord.objects.filter(model="caseload.CaseloadUpload", object_pk=str(upload.pk)).exists()


def test_uploading_the_same_file_twice_creates_nothing_new(
    personas: dict[str, Any], budget: Budget, free_practices: list[str], today: date
) -> None:
    icb_user = personas["icb_a"]
    rows = _rows(free_practices, today, cases=40, packages=10)
    services.commit_upload(upload=_upload(icb_user, rows), user=icb_user)
    counts = (Case.objects.count(), Commitment.objects.count(), LedgerEntry.objects.count(), Payment.objects.count())
    again = _upload(icb_user, rows)
    seen = services.preview(again)
    assert seen.earlier is not None and seen.plan is not None
    assert seen.plan.counts == {"create": 0, "update": 0, "unchanged": 40, "error": 0}
    services.commit_upload(upload=again, user=icb_user)
    assert (
        Case.objects.count(), Commitment.objects.count(), LedgerEntry.objects.count(), Payment.objects.count()
    ) == counts  # fmt: skip


def test_a_case_imported_again_with_a_later_state_is_updated_through_a_reachable_move(
    personas: dict[str, Any], budget: Budget, free_practices: list[str], today: date
) -> None:
    icb_user = personas["icb_a"]
    rows = [r for r in _rows(free_practices, today, cases=40, packages=0) if r["state"] == "Triaged"][:2]
    services.commit_upload(upload=_upload(icb_user, rows), user=icb_user)
    later = [dict(rows[0], state="Diagnosis"), dict(rows[1], state="In delivery")]
    seen = services.preview(_upload(icb_user, later))
    assert seen.plan is not None
    assert [r.action for r in seen.plan.rows] == [planning.UPDATE, planning.ERROR]
    assert "State not reachable" in " ".join(seen.plan.rows[1].reasons)


def test_commit_is_all_or_nothing_when_a_service_refuses_a_row_mid_file(
    personas: dict[str, Any], budget: Budget, free_practices: list[str], today: date, monkeypatch: Any
) -> None:
    icb_user = personas["icb_a"]
    upload = _upload(icb_user, _rows(free_practices, today, cases=60, packages=30))
    before = (Case.objects.count(), LedgerEntry.objects.count(), CaseEvent.objects.count())
    real = services.commit_funds
    calls = {"n": 0}

    def refuse_the_twentieth(**kw: Any) -> Commitment:
        calls["n"] += 1
        if calls["n"] == 20:  # another approval took the money between the preview and this row
            raise InsufficientFunds(kw["budget"], 100, 0)
        return real(**kw)

    monkeypatch.setattr(services, "commit_funds", refuse_the_twentieth)
    with pytest.raises(services.ImportRefused, match="Nothing was imported: row 21"):
        services.commit_upload(upload=upload, user=icb_user)
    assert (Case.objects.count(), LedgerEntry.objects.count(), CaseEvent.objects.count()) == before
    upload.refresh_from_db()
    assert upload.status == CaseloadUpload.Status.FAILED and "short" in upload.outcome["refused"]


def test_a_package_that_would_overdraw_the_budget_is_an_error_on_its_row(
    personas: dict[str, Any], budget: Budget, free_practices: list[str], today: date
) -> None:
    rows = _rows(free_practices, today, cases=3, packages=3)
    rows[2]["amount"] = "£149,000.00"
    seen = services.preview(_upload(personas["icb_a"], rows))
    assert seen.plan is not None
    assert [r.action for r in seen.plan.rows][:2] == [planning.CREATE, planning.CREATE]
    assert "would overdraw" in " ".join(seen.plan.rows[2].reasons)


def test_a_state_needing_a_package_without_one_is_not_reachable(
    personas: dict[str, Any], budget: Budget, free_practices: list[str], today: date
) -> None:
    rows = _rows(free_practices, today, cases=1, packages=0)
    rows[0] |= {"state": "In delivery", "triage_scope": "High", "triage_impact": "High"}
    seen = services.preview(_upload(personas["icb_a"], rows))
    assert seen.plan is not None
    assert "State not reachable" in seen.plan.rows[0].reasons[0]


def test_only_the_icbs_own_team_may_upload_or_commit(
    personas: dict[str, Any], budget: Budget, free_practices: list[str], today: date
) -> None:
    data = sample.as_csv(_rows(free_practices, today, cases=2, packages=0))
    icb_a = personas["icb_a"].icb
    for name in ("national", "icb_b", "practice_x", "provider", "lmc"):
        with pytest.raises(PermissionDenied):
            services.upload_file(icb=icb_a, user=personas[name], filename="x.csv", data=data)
    upload = services.upload_file(icb=icb_a, user=personas["icb_a"], filename="x.csv", data=data)
    with pytest.raises(PermissionDenied):
        services.commit_upload(upload=upload, user=personas["icb_b"])


def test_an_unreadable_file_is_refused_in_words(personas: dict[str, Any]) -> None:
    with pytest.raises(services.ImportRefused, match="could not be read"):
        services.upload_file(icb=personas["icb_a"].icb, user=personas["icb_a"], filename="x.xlsx", data=b"PK\x03junk")
    with pytest.raises(services.ImportRefused, match="no rows"):
        services.upload_file(icb=personas["icb_a"].icb, user=personas["icb_a"], filename="x.csv", data=b"Case ID\n")


def test_the_command_previews_with_dry_run_and_imports_attributed_to_itself(
    personas: dict[str, Any], budget: Budget, free_practices: list[str], today: date, tmp_path: Any, capsys: Any
) -> None:
    path = tmp_path / "caseload.csv"
    path.write_bytes(sample.as_csv(_rows(free_practices, today, cases=20, packages=5)))
    before = Case.objects.count()
    call_command("import_caseload", str(path), "--icb", personas["icb_a"].icb.code, "--dry-run")
    assert "20 to create" in capsys.readouterr().out
    assert Case.objects.count() == before and not CaseloadUpload.objects.exists()
    call_command("import_caseload", str(path), "--icb", personas["icb_a"].icb.code, "--as", "t-icb_a")
    assert "20 created" in capsys.readouterr().out
    assert Case.objects.count() == before + 20
    for model in ("cases.Case", "cases.CaseEvent", "caseload.CaseloadUpload", "caseload.ImportedCase"):
        actors = set(AuditRecord.objects.filter(model=model).values_list("actor", flat=True))
        assert any(a.startswith("command:import_caseload by ") for a in actors), model
    with pytest.raises(CommandError, match="not an active member"):
        call_command("import_caseload", str(path), "--icb", ICB_B, "--as", "t-icb_a")
