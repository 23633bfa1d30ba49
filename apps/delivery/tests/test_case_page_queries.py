"""The delivery case page checks every faculty member and organisation for each line in a fixed number of queries:
growing the faculty does not grow the page's query count (issue 19: 16 → 46 members took it from 80 to 188)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Role, User
from apps.cases.models import PackageLine, SupportOffer
from apps.delivery import services
from apps.delivery.models import MemberRole, ProviderOrganisation, Session, Stage
from apps.delivery.tests.conftest import make_member

pytestmark = pytest.mark.django_db


def grow_faculty(personas, case, org, n: int, tag: str) -> None:
    """Add ``n`` members of every kind the check looks at, and an organisation, all delivering coaching in ICB A."""
    for i in range(n):
        kind = i % 4
        m = make_member(org, personas, name=f"{tag} Member {i:02d}", capacity=0 if kind == 1 else 20)
        if kind == 2:
            services.declare_conflict(personas["icb_a"], m, f"{tag} partner {i}", practice=case.practice)
        if kind == 3:
            make_member(
                org,
                personas,
                name=f"{tag} Apprentice {i:02d}",
                role=MemberRole.APPRENTICE,
                stage=Stage.SUPERVISED_PRACTICE,
                supervisor=m,
            )
        Session.objects.create(
            practice=case.practice,
            member=m,
            title="Booked coaching",
            starts_at=timezone.now() + timedelta(days=1),
            planned_hours=1,
            created_by=personas["icb_a"],
        )
    lead = User.objects.create_user(f"t-lead-{tag.lower()}", password="x-test-password-1", role=Role.PROVIDER)
    o = ProviderOrganisation.objects.create(
        name=f"{tag} Organisation", kind="faculty", capacity_hours_per_month=50, lead_user=lead
    )
    o.icbs.set([personas["icb_a"].icb])
    o.offers.set(SupportOffer.objects.filter(code="gprp-coaching"))


def page_queries(client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def test_the_case_page_makes_as_many_queries_with_many_members_as_with_few(client_for, personas, approved_x, org):
    client = client_for("icb_a")
    url = reverse("delivery:case", args=[approved_x.pk])
    client.get(url)  # warm per-process caches so both measured requests start alike

    grow_faculty(personas, approved_x, org, 4, "Few")
    few, html_few = page_queries(client, url)
    grow_faculty(personas, approved_x, org, 24, "Many")
    many, html = page_queries(client, url)

    assert many == few, f"{few} queries with few members, {many} with many"
    # the larger faculty was really checked: eligible members offered, refused ones listed with their reasons
    assert (
        "Many Member 00 (" in html and "Many Apprentice 03 (" in html and "Many Organisation (the organisation)" in html
    )
    assert "Many Member 01 has 0.0 of 0 hours a month free" in html
    assert "Many Member 02 has declared a conflict of interest with" in html and "Many partner 2" in html
    assert "Many Member 00 (" not in html_few


def test_the_bulk_check_gives_each_member_the_same_reasons_as_checking_them_alone(personas, approved_x, org):
    grow_faculty(personas, approved_x, org, 8, "Mixed")
    line = approved_x.packages.get(state="approved").lines.get(offer__code="gprp-coaching")
    hours = services.line_hours(line)
    cands = services.candidates_for(line)
    assert any(c.eligible for c in cands) and any(not c.eligible for c in cands)
    for c in cands:
        assert c.reasons == services.refusals(c.member, line, hours)
    orgs = list(ProviderOrganisation.objects.filter(offers=line.offer))
    for o, reasons in services.organisations_refusals(orgs, line, hours):
        assert reasons == services.organisation_refusals(o, line, hours)


@pytest.mark.parametrize("persona", ["icb_a", "national"])
def test_the_faculty_page_makes_as_many_queries_with_many_members_as_with_few(
    client_for, personas, approved_x, org, persona
):
    client = client_for(persona)
    url = reverse("delivery:faculty")
    client.get(url)  # warm per-process caches so both measured requests start alike

    grow_faculty(personas, approved_x, org, 4, "Few")
    few, _ = page_queries(client, url)
    grow_faculty(personas, approved_x, org, 24, "Many")
    many, html = page_queries(client, url)

    assert many == few, f"{few} queries with few members, {many} with many"
    assert "Many Member 23" in html and "Many Apprentice 03" in html


def test_checking_every_line_at_once_gives_each_line_what_checking_it_alone_gives(personas, approved_x, org):
    grow_faculty(personas, approved_x, org, 8, "Lines")
    lines = list(PackageLine.objects.filter(package__case=approved_x).select_related("offer", "package__case"))
    by_line = services.candidates_by_line(lines)
    orgs_by_line = services.organisations_by_line(lines)
    assert lines and any(by_line[ln.pk] for ln in lines)
    for line in lines:
        alone = services.candidates_for(line)
        assert [(c.member.pk, c.reasons) for c in by_line[line.pk]] == [(c.member.pk, c.reasons) for c in alone]
        orgs = list(ProviderOrganisation.objects.filter(offers=line.offer, active=True))
        expected = services.organisations_refusals(orgs, line, services.line_hours(line))
        assert [(o.pk, r) for o, r in orgs_by_line[line.pk]] == [(o.pk, r) for o, r in expected]
        assert expected  # the organisations were really checked


def test_checking_more_lines_at_once_makes_no_more_queries(personas, approved_x, org):
    """The case page checks its lines together: the queries are the same for one line as for several (of several
    packages and cases), where checking them one by one cost eleven queries a line."""
    grow_faculty(personas, approved_x, org, 4, "Count")
    lines = list(PackageLine.objects.select_related("offer", "package__case__practice").order_by("pk")[:6])
    assert len({ln.package_id for ln in lines}) >= 2

    def queries(some: list[PackageLine]) -> int:
        with CaptureQueriesContext(connection) as ctx:
            services.candidates_by_line(some)
            services.organisations_by_line(some)
        return len(ctx.captured_queries)

    assert queries(lines[:1]) == queries(lines)
