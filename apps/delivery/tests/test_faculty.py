"""The faculty: adding members, the apprenticeship route, accreditation, and growth against the target."""

from __future__ import annotations

from datetime import date

import pytest

from apps.delivery import growth, services
from apps.delivery.models import Accreditation, FacultyMember, MemberRole, Stage, StageChange

pytestmark = pytest.mark.django_db


def apprentice_input(org, supervisor_id, **kw):
    return services.MemberInput(
        name=kw.pop("name", "Jo Apprentice"),
        organisation_id=org.pk,
        role=MemberRole.APPRENTICE,
        capacity_hours_per_month=8,
        joined_on=kw.pop("joined_on", date(2025, 5, 1)),
        offer_codes=("gprp-coaching",),
        supervisor_id=supervisor_id,
        **kw,
    )


def test_an_apprentice_starts_enrolled_counts_towards_growth_and_the_step_is_recorded(personas, org, coach):
    m = services.add_member(personas["national"], apprentice_input(org, coach.pk))
    assert (m.stage, m.accreditation, m.new_member) == (Stage.ENROLLED, Accreditation.IN_TRAINING, True)
    assert StageChange.objects.get(member=m).by == personas["national"]


def test_an_apprentice_without_an_accredited_supervisor_is_refused_and_not_saved(personas, org):
    with pytest.raises(services.DeliveryError, match="accredited supervisor"):
        services.add_member(personas["national"], apprentice_input(org, None, name="Nobody Supervised"))
    assert not FacultyMember.objects.filter(name="Nobody Supervised").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": " "}, "name"),
        ({"capacity_hours_per_month": 500}, "between 0 and 200"),
        ({"offer_codes": ("no-such-offer",)}, "not on the menu"),
        ({"role": "wizard"}, "role"),
    ],
)
def test_bad_member_details_are_refused_with_a_clear_error(personas, org, coach, change, message):
    data = apprentice_input(org, coach.pk).__dict__ | change
    with pytest.raises(services.DeliveryError, match=message):
        services.add_member(personas["icb_a"], services.MemberInput(**data))


def test_only_national_and_icb_teams_manage_the_faculty(personas, org, coach):
    for who in ("practice_x", "provider", "lmc"):
        with pytest.raises(services.DeliveryError, match="manage the faculty"):
            services.add_member(personas[who], apprentice_input(org, coach.pk))


def test_stages_are_taken_in_order_and_accreditation_lasts_three_years(personas, org, coach):
    m = services.add_member(personas["national"], apprentice_input(org, coach.pk))
    with pytest.raises(services.DeliveryError, match="next for Jo Apprentice is foundation"):
        services.record_stage(personas["icb_a"], m, Stage.ASSESSMENT)
    for st in (Stage.FOUNDATION, Stage.SUPERVISED_PRACTICE, Stage.ASSESSMENT):
        services.record_stage(personas["icb_a"], m, st)
    services.record_stage(personas["icb_a"], m, Stage.ACCREDITED, on=date(2026, 6, 1))
    m.refresh_from_db()
    assert (m.accreditation, m.accredited_on, m.accreditation_expires) == (
        Accreditation.ACCREDITED,
        date(2026, 6, 1),
        date(2029, 6, 1),
    )
    assert [c.to_stage for c in m.stage_changes.all()] == list(Stage.values)


def test_going_back_a_stage_needs_a_reason_and_history_cannot_be_rewritten(personas, org, coach):
    m = services.add_member(personas["national"], apprentice_input(org, coach.pk))
    services.record_stage(personas["icb_a"], m, Stage.FOUNDATION)
    with pytest.raises(services.DeliveryError, match="why"):
        services.record_stage(personas["icb_a"], m, Stage.ENROLLED)
    change = m.stage_changes.last()
    change.note = "edited"
    with pytest.raises(ValueError, match="history"):
        change.save()


def test_growth_counts_new_members_by_quarter_against_the_straight_target_path(personas, org, coach):
    before = growth.faculty_growth(date(2026, 12, 1))
    services.add_member(
        personas["national"], apprentice_input(org, coach.pk, name="Q1 Joiner", joined_on=date(2025, 4, 2))
    )
    services.add_member(
        personas["national"], apprentice_input(org, coach.pk, name="Q3 Joiner", joined_on=date(2025, 11, 30))
    )
    services.add_member(
        personas["national"], apprentice_input(org, coach.pk, name="Too Early", joined_on=date(2025, 3, 31))
    )
    g = growth.faculty_growth(date(2026, 12, 1))
    assert g.total_new == before.total_new + 2
    assert g.quarters[0].label == "2025/26 Q1" and g.quarters[0].joined == before.quarters[0].joined + 1
    assert g.quarters[2].joined == before.quarters[2].joined + 1
    assert [q.target_cumulative for q in g.quarters][-1] == 100
    assert g.quarters[-1].future and not g.quarters[0].future


def test_growth_page_draws_an_svg_chart_without_inline_styles(client_for):
    html = client_for("national").get("/delivery/faculty/growth/").content.decode()
    start = html.index('<svg class="app-chart app-chart--wide"')
    svg = html[start : html.index("</svg>", start)]
    assert "New faculty members by quarter" in svg and "<rect" in svg and "style=" not in svg
    assert "New members by quarter" in html  # the table beside it
