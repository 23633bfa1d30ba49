"""Test personas, in one place: every access test uses these.

The ICB and practice personas lead their teams (they may invite colleagues; see ``apps.teams.policy``).

national, ICB user of ICB A, ICB user of ICB B, practice X (in ICB A), practice Y (in ICB B), provider (the walks
assign it to practice X's case and sessions), provider B (a provider user of another organisation, assigned to
nothing: it proves that case and session access comes from the assignment, not from the provider role), LMC (in
ICB A), and anonymous. ICB A is North East and North Cumbria (QHM), ICB B South West London (QWE).
"""

from __future__ import annotations

from apps.accounts.models import Role, TeamRole, User
from apps.practices.models import ICB, Practice, PracticeStatus

ICB_A = "QHM"
ICB_B = "QWE"
PERSONA_NAMES = ("national", "icb_a", "icb_b", "practice_x", "practice_y", "provider", "provider_b", "lmc")


def make_personas() -> dict[str, User]:
    icb_a = ICB.objects.get(code=ICB_A)
    icb_b = ICB.objects.get(code=ICB_B)
    px = Practice.objects.filter(icb=icb_a, status=PracticeStatus.ACTIVE).order_by("code").first()
    py = Practice.objects.filter(icb=icb_b, status=PracticeStatus.ACTIVE).order_by("code").first()
    assert px is not None and py is not None

    def make(name: str, role: str, **kw: object) -> User:
        return User.objects.create_user(username=f"t-{name}", password="x-test-password-1", role=role, **kw)

    return {
        "national": make("national", Role.NATIONAL),
        "icb_a": make("icb_a", Role.ICB, icb=icb_a, team_role=TeamRole.LEAD),
        "icb_b": make("icb_b", Role.ICB, icb=icb_b, team_role=TeamRole.LEAD),
        "practice_x": make("practice_x", Role.PRACTICE, practice=px, team_role=TeamRole.LEAD),
        "practice_y": make("practice_y", Role.PRACTICE, practice=py, team_role=TeamRole.LEAD),
        "provider": make("provider", Role.PROVIDER, organisation="Test coaching"),
        "provider_b": make("provider_b", Role.PROVIDER, organisation="Other coaching"),
        "lmc": make("lmc", Role.LMC, icb=icb_a, organisation="Test LMC"),
    }
