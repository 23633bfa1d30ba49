"""Issue 17 §1: programmes as data. GPRP and GPDP ship as templates with a source (or an estimate's reason) for
every figure; a national user starts a programme from one or from scratch, with any number of lines."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from apps.funding.models import LineAccess, Programme, VirementRule
from apps.funding.programme_form import line_slots
from apps.funding.programme_templates import templates, validate_template

pytestmark = pytest.mark.django_db


def body(response) -> str:
    return response.content.decode()


def test_the_shipped_templates_load_with_a_source_or_an_estimate_for_every_figure():
    found = templates()
    assert set(found) == {"gprp", "gpdp"}
    gprp, gpdp = found["gprp"], found["gpdp"]
    assert sum(y.amount_pence for y in gprp.lines[0].years) == 40_000_000_00  # £40m over four years
    assert [y.amount_pence for y in gprp.lines[0].years] == [16_000_000_00, 8_000_000_00, 8_000_000_00, 8_000_000_00]
    assert all(y.basis.source for y in gprp.lines[0].years)  # every GPRP year is from the programme page
    assert gprp.lines[0].access == LineAccess.TARGETED
    by_code = {line.code: line for line in gpdp.lines}
    assert sum(y.amount_pence for y in by_code["time-for-care"].years) == 30_000_000_00
    assert sum(y.amount_pence for y in by_code["pm-development"].years) == 6_000_000_00
    assert sum(y.amount_pence for y in by_code["reception-training"].years) == 45_000_000_00
    assert sum(y.amount_pence for y in by_code["online-consultation"].years) == 45_000_000_00
    assert by_code["pm-development"].offers == ("gpdp-pm-development", "gpdp-pm-coaching")
    assert {line.access for line in gpdp.lines} == {LineAccess.UNIVERSAL}
    # The split by year is not in the sources: said so, not shown as fact.
    assert all(y.basis.estimate and not y.basis.source for y in by_code["time-for-care"].years)
    assert "estimate:" in by_code["time-for-care"].figures_source


def test_a_template_figure_without_a_source_or_an_estimate_is_refused_by_name():
    data = {
        "code": "X",
        "name": "X",
        "menu": "GPRP",
        "description": "d",
        "source": "s",
        "virement_rule": "sideways",
        "virement_rule_source": "s",
        "line": [
            {
                "code": "a",
                "name": "A",
                "offers": ["no-such-offer"],
                "access": "targeted",
                "access_source": "s",
                "offers_source": "s",
                "allocation_basis": "formula",
                "allocation_basis_source": "s",
                "allocation_basis_estimate": "both given",
                "year": [{"fy": 2026, "amount_pence": 100}],
            }
        ],
    }
    template, problems = validate_template(data, "bad")
    assert template is None
    text = "; ".join(problems)
    assert "virement_rule must be one of" in text
    assert "bad line 1: offers must be codes on the menu" in text
    assert "bad line 1 2026: give exactly one of source or estimate" in text
    assert "bad line 1: give exactly one of allocation_basis_source or allocation_basis_estimate" in text


def test_line_slots_count_what_was_posted_and_stay_bounded():
    assert line_slots({}) == 1
    assert line_slots({"line3_code": "", "line1_code": "a"}) == 3
    assert line_slots({"line3_code": ""}, add=True) == 4
    assert line_slots({"line999_code": "x"}) == 40


def _from_template(client, key: str) -> dict[str, list[str]]:
    """The new-programme page's form as the template fills it in, field → values."""
    page = body(client.get(reverse("funding:programme_new"), {"template": key}))
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page):
        fields.setdefault(name, [])
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if not name or not value or name.group(1) == "csrfmiddlewaretoken":
            continue
        if ('type="checkbox"' in tag or 'type="radio"' in tag) and "checked" not in tag:
            continue
        fields.setdefault(name.group(1), []).append(value.group(1).replace("&amp;", "&"))
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        fields[name] = [text.strip().replace("&#39;", "'").replace("&amp;", "&").replace("&#34;", '"')]
    return {k: v for k, v in fields.items() if v}


def test_national_user_sets_up_gpdp_from_its_template_with_four_lines(client_for):
    c = client_for("national")
    fields = _from_template(c, "gpdp")
    assert fields["code"] == ["GPDP"] and fields["template"] == ["gpdp"]
    assert fields["line2_offers"] == ["gpdp-pm-development", "gpdp-pm-coaching"]
    assert fields["line4_access"] == ["universal"]
    fields |= {"code": ["GPDP-T"], "action": ["save"]}
    for i in range(1, 5):  # finance codes are local: the template leaves them to the user
        fields |= {f"line{i}_cost_centre": [f"CC{i}"], f"line{i}_ledger_code": ["5210"]}

    response = c.post(reverse("funding:programme_new"), fields)

    assert response.status_code == 302, body(response)
    p = Programme.objects.get(code="GPDP-T")
    assert (p.template, p.virement_rule, p.lines.count()) == ("gpdp", VirementRule.SAME_ACCESS, 4)
    pm = p.lines.get(code="pm-development")
    assert pm.offer_codes == ["gpdp-pm-development", "gpdp-pm-coaching"]
    assert (pm.access, pm.allocation_basis) == ("universal", "fixed")
    assert pm.total_pence == 6_000_000_00 and "estimate:" in pm.figures_source
    page = body(c.get(reverse("funding:programme", args=["GPDP-T"])))
    assert "Practice-manager coaching" in page and "Universal: any practice by expression of interest" in page
    assert "A fixed sum per ICB" in page and "estimate:" in page and "Started from the GPDP programme template" in page


def test_add_another_line_keeps_what_was_typed_and_saves_nothing(client_for):
    c = client_for("national")
    typed = {"code": "MANY", "name": "Many lines", "menu": "GPRP", "line1_code": "core", "action": "add_line"}
    response = c.post(reverse("funding:programme_new"), typed)
    page = body(response)
    assert response.status_code == 200
    assert 'name="line2_code"' in page and 'name="line3_code"' not in page
    assert 'value="core"' in page and 'value="Many lines"' in page
    assert not Programme.objects.filter(code="MANY").exists()


def test_a_programme_from_scratch_takes_any_number_of_lines(client_for):
    form = {"code": "FIVE", "name": "Five lines", "menu": "GPRP", "virement_rule": "none", "action": "save"}
    for i in range(1, 6):
        form |= {
            f"line{i}_code": f"l{i}",
            f"line{i}_name": f"Line {i}",
            f"line{i}_cost_centre": "CC1",
            f"line{i}_ledger_code": "5210",
            f"line{i}_profile": "2026-27: 1,000",
        }
    form |= {"line5_offers": ["gprp-coaching", "gpdp-pm-coaching"], "line5_access": "universal"}
    response = client_for("national").post(reverse("funding:programme_new"), form)
    assert response.status_code == 302, body(response)
    p = Programme.objects.get(code="FIVE")
    assert p.lines.count() == 5 and p.virement_rule == VirementRule.NONE and p.template == ""
    five = p.lines.get(code="l5")
    assert five.offer_codes == ["gprp-coaching", "gpdp-pm-coaching"] and five.access == LineAccess.UNIVERSAL


def test_every_line_error_is_shown_at_once_beside_its_field_and_input_is_kept(client_for):
    form = {
        "code": "ERRS",
        "name": "Errors",
        "menu": "GPRP",
        "action": "save",
        "line1_code": "core",
        "line1_name": "",
        "line1_cost_centre": "CC1",
        "line1_ledger_code": "5210",
        "line1_profile": "2026-27: 10",
        "line4_code": "four",
        "line4_name": "Fourth",
        "line4_cost_centre": "CC1",
        "line4_ledger_code": "5210",
        "line4_profile": "2026-27: 10",
        "line4_offers": ["not-an-offer"],
        "line4_access": "sideways",
    }
    response = client_for("national").post(reverse("funding:programme_new"), form)
    page = body(response)
    assert response.status_code == 400
    assert 'id="line1_name-error"' in page and "Line 1: enter a name" in page  # the service's rule, at once
    assert 'id="line4_access-error"' in page and "Line 4: choose whether the line is targeted or universal" in page
    assert 'id="line2_code-error"' not in page and 'id="line4_code-error"' not in page  # empty and good: no error
    assert 'id="line4_offers-error"' in page and "Line 4: choose offers from the menu of support" in page
    assert 'name="line4_code"' in page and 'value="Fourth"' in page
    assert not Programme.objects.filter(code="ERRS").exists()


def test_the_service_refuses_an_unknown_access_on_its_field(client_for):
    form = {
        "code": "ACC",
        "name": "Access",
        "menu": "GPRP",
        "line1_code": "core",
        "line1_name": "Core",
        "line1_cost_centre": "CC1",
        "line1_ledger_code": "5210",
        "line1_profile": "2026-27: 10",
        "line1_access": "sideways",
    }
    response = client_for("national").post(reverse("funding:programme_new"), form)
    assert response.status_code == 400
    assert "Line 1: choose whether the line is targeted or universal" in body(response)


def test_the_demo_programmes_come_from_the_templates():
    gprp, gpdp = Programme.objects.get(code="GPRP"), Programme.objects.get(code="GPDP")
    assert (gprp.template, gpdp.template) == ("gprp", "gpdp")
    assert gprp.lines.get().figures_source.startswith("Offers source:")
    assert sorted(gpdp.lines.values_list("code", flat=True)) == [
        "online-consultation",
        "pm-development",
        "reception-training",
        "time-for-care",
    ]
    assert gpdp.lines.get(code="reception-training").offer_codes == ["gpdp-reception-training"]
    assert gpdp.virement_rule == VirementRule.SAME_ACCESS
