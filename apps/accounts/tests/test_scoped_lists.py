"""Issue 14 items 1, 3 and 5 one by one, on the outsider matrix's world (``apps.accounts.tests.world``): lists reached
through a person are scoped to the viewer's cases, conflicts of interest are seen and recorded within an ICB, the
group suggestion is the ICB team's, and the national team's ledger and audit downloads are totals."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.urls import reverse

from apps.accounts.tests.world import World, make_world
from apps.core.models import AuditRecord
from apps.delivery import policy as access
from apps.delivery import services
from apps.delivery.models import ConflictOfInterest, FacultyMember
from apps.practices.models import Practice

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db: Any) -> World:
    return make_world()


def member_page(client: Any, world: World, persona: str) -> str:
    client.force_login(world.users[persona])
    response = client.get(reverse("delivery:member", args=[world.ids["{member}"]]))
    assert response.status_code == 200, (persona, response.status_code)
    return response.content.decode()


def test_the_member_page_lists_only_the_viewers_cases_and_icbs_conflicts(client, world):
    case_ref = f"CASE-{int(world.ids['{case}']):06d}"
    conflict = ConflictOfInterest.objects.get(member_id=world.ids["{member}"]).practice
    assert conflict is not None
    own = member_page(client, world, "icb_a")
    assert case_ref in own and conflict.display_name in own
    other = member_page(client, world, "icb_b")
    assert case_ref not in other and conflict.display_name not in other
    assert "None you can see." in other and "None declared." in other
    national = member_page(client, world, "national")
    assert case_ref not in national and conflict.display_name in national  # it manages the faculty, sees no cases
    provider = member_page(client, world, "provider")  # the member itself: its own work and its own interests
    assert case_ref in provider and conflict.display_name in provider


def test_an_icb_records_conflicts_in_its_own_icb_only(client, world):
    member = FacultyMember.objects.get(pk=world.ids["{member}"])
    icb_a_practice = Practice.objects.get(code=world.ids["{practice}"])
    icb_b_practice = world.users["practice_y"].practice
    before = ConflictOfInterest.objects.filter(member=member).count()
    with pytest.raises(services.DeliveryError, match="in its own ICB only"):
        services.declare_conflict(world.users["icb_b"], member, "Partner in the practice", practice=icb_a_practice)
    client.force_login(world.users["icb_b"])
    url = reverse("delivery:member", args=[member.pk])
    response = client.post(url, {"action": "conflict", "where": icb_a_practice.code, "description": "Partner there"})
    assert response.status_code == 400 and "in its own ICB only" in response.content.decode()
    pcn = icb_a_practice.pcn
    assert pcn is not None and not access.can_declare_conflict(world.users["icb_b"], member, None, pcn)
    assert ConflictOfInterest.objects.filter(member=member).count() == before  # nothing recorded
    response = client.post(url, {"action": "conflict", "where": icb_b_practice.code, "description": "Partner there"})
    assert response.status_code == 302
    assert ConflictOfInterest.objects.filter(member=member, practice=icb_b_practice).exists()
    assert access.can_declare_conflict(world.users["national"], member, icb_a_practice, None)
    assert access.can_declare_conflict(world.users["provider"], member, icb_b_practice, None)  # its own interest


def test_only_the_icb_team_gets_the_group_suggestion(client, world):
    url = reverse("cases:package", args=[world.ids["{case}"]])
    client.force_login(world.users["practice_x"])
    assert client.get(url).status_code == 200  # the practice drafts its package
    assert client.get(url, {"suggest": "1"}).status_code == 403  # but never gets its neighbours' list


def _download(response) -> str:
    """A download's text, whether the view streamed it (large tables are written as they are read) or not."""
    return (b"".join(response.streaming_content) if response.streaming else response.content).decode()


def test_the_national_ledger_download_is_monthly_totals(client, world):
    client.force_login(world.users["national"])
    response = client.get(reverse("funding:ledger"), {"download": "csv"})
    rows = list(csv.DictReader(io.StringIO(_download(response))))
    assert rows and {"reference", "practice_code", "memo", "by"}.isdisjoint(rows[0])
    assert all(r["date_time"][8:10] == "01" for r in rows) and sum(int(r["entries"]) for r in rows) > len(rows)
    assert len({(r["date_time"], r["icb_code"], r["line"], r["financial_year"], r["kind"]) for r in rows}) == len(rows)


def test_the_national_audit_counts_case_records_and_names_no_practice_user(client, world):
    username = world.users["practice_x"].username
    assert AuditRecord.objects.filter(actor=username, model__startswith="cases.").exists()
    client.force_login(world.users["national"])
    response = client.get(reverse("core:audit"), {"download": "csv", "actor": username})
    text = _download(response)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert username not in text
    totals = [r for r in rows if r["record"] == "cases.Case"]
    assert totals and all(r["actor"] == "" and r["id"] == "" and int(r["count"]) >= 1 for r in totals)
    page = client.get(reverse("core:audit")).content.decode()
    assert username not in page and 'id="audit-totals"' in page
