"""The audit trail: every change to cases, plans, ratings, money and users is recorded with who did it; no code path
that writes to an audited model skips it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.urls import reverse

from apps.core import audit
from apps.core.models import AuditRecord

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[3]


def test_every_audited_model_is_hooked_to_the_trail():
    models = audit.audited_models()
    labels = {m._meta.label for m in models}
    assert {"cases.Case", "cases.ActionPlan", "funding.LedgerEntry", "accounts.User", "indicators.WatchEntry"} <= labels
    assert [m._meta.label for m in models if not audit.is_connected(m)] == []


def _bulk_writes_without_audit(path: Path) -> list[str]:
    """Bulk writes (bulk_create / queryset update) on an audited model in a function that does not record them."""
    from django.apps import apps

    names = {m.__name__ for m in apps.get_models() if audit.is_audited(m)}
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    out = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef):
            continue
        body = ast.unparse(fn)
        for node in ast.walk(fn):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr not in ("bulk_create", "update", "bulk_update"):
                continue
            receiver = ast.unparse(node.func.value)
            model = receiver.split(".")[0]
            if "# not audited:" in lines[node.lineno - 1]:  # a stated reason, e.g. a last-used time
                continue
            if model in names and ".objects" in receiver and "record_bulk(" not in body:
                out.append(f"{path.relative_to(ROOT)}:{node.lineno} {receiver}.{node.func.attr}")
    return out


def test_no_service_writes_to_an_audited_model_in_bulk_without_recording_it():
    """Bulk writes send no signals. Demo-data commands and tests are exempt (they are not user actions)."""
    found = []
    for app in ("cases", "funding", "delivery", "indicators", "accounts", "api", "core"):
        for path in (ROOT / "apps" / app).rglob("*.py"):
            rel = str(path.relative_to(ROOT))
            if "/tests/" in rel or "/migrations/" in rel or "create_demo_" in rel:
                continue
            found += _bulk_writes_without_audit(path)
    assert found == [], "record these with audit.record_bulk or audit.bulk_create:\n" + "\n".join(found)


def test_a_case_change_through_the_pages_is_attributed_to_the_signed_in_user(client_for, personas):
    client = client_for("practice_x")
    client.post(
        reverse("cases:refer"),
        {"concerns": "Our only nurse has left and smears are overdue.", "urgency": "soon"},
    )
    record = AuditRecord.objects.filter(model="cases.Case", action="create").latest("pk")
    assert record.actor == personas["practice_x"].username and record.actor_id == personas["practice_x"].pk
    assert record.changes["status"] == [None, "referred"]
    triage = reverse("cases:triage", args=[int(record.object_pk)])
    client_for("icb_a").post(triage, {"scope": "high", "impact": "high", "rationale": "Single nurse gone"})
    changes = AuditRecord.objects.filter(model="cases.Case", action="update", object_pk=record.object_pk)
    status = [c for c in changes if "status" in c.changes]
    assert [c.changes["status"] for c in status] == [["referred", "triaged"]]
    assert {c.actor for c in changes} == {personas["icb_a"].username}


def test_money_movements_are_recorded_even_though_they_are_written_in_bulk(personas):
    from apps.funding import services as funding

    budget = max(funding.budgets_for(personas["icb_a"].icb), key=lambda b: b.headroom_pence)
    with audit.acting_as(personas["icb_a"]):
        funding.commit_funds(
            budget=budget,
            amount_pence=1000,
            reference="AUDIT-1",
            user=personas["icb_a"],
            recipients=[(personas["practice_x"].practice.code, 1000)],
            offers={"gprp-coaching": 1000},
        )
    record = AuditRecord.objects.filter(model="funding.LedgerEntry").latest("pk")
    assert record.actor == personas["icb_a"].username and record.action == "create"
    assert AuditRecord.objects.filter(model="funding.Commitment", action="create").exists()


def test_passwords_are_never_written_to_the_trail(personas):
    user = personas["lmc"]
    user.set_password("a-new-password-2026")
    user.save()
    record = AuditRecord.objects.filter(model="accounts.User", object_pk=str(user.pk), action="update").latest("pk")
    assert record.changes["password"] == ["(secret)", "(secret, changed)"]
    assert "a-new-password" not in str(AuditRecord.objects.filter(model="accounts.User").values_list("changes"))


def test_audit_records_cannot_be_rewritten(personas):
    record = AuditRecord.objects.latest("pk")
    record.actor = "someone else"
    with pytest.raises(ValueError, match="history"):
        record.save()


def test_the_audit_page_lists_field_names_not_values_for_the_national_team(client_for, personas, referral=None):
    from apps.cases import services

    px = personas["practice_x"]
    services.refer(px, px.practice, "self", services.ReferralInput("A very confidential partner dispute."))
    page = client_for("national").get(reverse("core:audit") + "?model=cases.Referral").content.decode()
    assert "cases.Referral" in page and "concerns" in page
    assert "confidential partner dispute" not in page
    bad = client_for("national").get(reverse("core:audit") + "?since=yesterday")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.content.decode()
