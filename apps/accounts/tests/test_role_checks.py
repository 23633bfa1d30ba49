"""Access rules live in policy modules, each beside its domain (``apps/<app>/policy.py``: practices, datasets,
indicators, targeting, cases, funding, delivery, api, teams, pages) and the base of access
(``apps/accounts/access.py``: the national rule): this test parses the code and fails on a comparison with ``.role``
anywhere else (issue 15 §3).

A faculty member's ``MemberRole`` (apprentice, coach) is its job on the route, not a user's access: it is not counted
as a user's role check, but comparing it is a rule of the apprentice route all the same and lives in
``apps/delivery/policy.py`` too (``test_faculty_role_checks_live_in_policy_modules``).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ALLOWED = {"apps/accounts/models.py", "apps/accounts/access.py"}  # where Role is defined; the base of access


def _is_role(node: ast.expr) -> bool:
    """``x.role``, ``getattr(x, "role", …)``, or either wrapped in a call (``Role(x.role)``, ``str(x.role)``)."""
    if isinstance(node, ast.Attribute):
        return node.attr == "role"
    if not isinstance(node, ast.Call):
        return False
    if (
        isinstance(node.func, ast.Name)
        and node.func.id == "getattr"
        and len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
        and node.args[1].value == "role"
    ):
        return True
    return any(_is_role(a) for a in node.args)


def _is_member_role(node: ast.expr) -> bool:
    """``MemberRole.APPRENTICE``, ``MemberRole.values``: a faculty member's job on the route, not a user's access."""
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "MemberRole"


def compares_role(node: ast.AST) -> bool:
    """``x.role == …``, ``… != x.role``, ``x.role in (…)``, ``match x.role:``: a comparison with a user's role on
    either side."""
    if isinstance(node, ast.Match):
        return _is_role(node.subject)
    if not isinstance(node, ast.Compare):
        return False
    sides = [node.left, *node.comparators]
    return any(_is_role(x) for x in sides) and not any(_is_member_role(x) for x in sides)


def compares_member_role(node: ast.AST) -> bool:
    """``member.role == MemberRole.APPRENTICE``, ``data.role not in MemberRole.values``: a faculty member's role."""
    if not isinstance(node, ast.Compare):
        return False
    sides = [node.left, *node.comparators]
    return any(_is_role(x) for x in sides) and any(_is_member_role(x) for x in sides)


def role_checks(check: Callable[[ast.AST], bool] = compares_role) -> dict[str, list[int]]:
    """Line numbers of comparisons with ``<something>.role``, by module, outside policy modules and tests."""
    found: dict[str, list[int]] = {}
    for path in sorted([*(ROOT / "apps").rglob("*.py"), *(ROOT / "analytics").rglob("*.py")]):
        rel = path.relative_to(ROOT).as_posix()
        if {"migrations", "tests"} & set(path.parts) or path.stem == "policy" or rel in ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if check(node):
                found.setdefault(rel, []).append(node.lineno)
    return found


def test_role_checks_live_in_policy_modules():
    found = role_checks()
    assert not found, f"move these role checks into the app's policy module, as a named rule: {found}"


def test_the_check_finds_a_role_comparison():
    """The parser is not blind: both sides of a comparison, and membership tests, count."""
    tree = ast.parse("a = u.role == 'icb'\nb = 'icb' == u.role\nc = u.role in ('icb',)\nd = getattr(u, 'role') == 1\n")
    assert sum(compares_role(n) for n in ast.walk(tree)) == 4
    assert not any(compares_role(n) for n in ast.walk(ast.parse("d = user.icb_id == 3\n")))
    assert not any(compares_role(n) for n in ast.walk(ast.parse("e = member.role == MemberRole.APPRENTICE\n")))


def test_faculty_role_checks_live_in_policy_modules():
    found = role_checks(compares_member_role)
    assert not found, f"move these checks of a faculty member's role into apps/delivery/policy.py: {found}"


def test_the_check_finds_the_forms_a_role_comparison_can_hide_in():
    """A role wrapped in a call or matched on is still a role check; a faculty member's role is found by its own
    check (the forms that were in ``apps/delivery/services.py`` and ``eligibility.py``)."""
    wrapped = "a = Role(u.role) == Role.ICB\nb = str(getattr(u, 'role', '')) in {'icb'}\n"
    assert sum(compares_role(n) for n in ast.walk(ast.parse(wrapped))) == 2
    matched = "match u.role:\n    case 'icb':\n        pass\n"
    assert sum(compares_role(n) for n in ast.walk(ast.parse(matched))) == 1
    faculty = "a = member.role == MemberRole.APPRENTICE\nb = data.role not in MemberRole.values\n"
    assert sum(compares_member_role(n) for n in ast.walk(ast.parse(faculty))) == 2
    assert not any(compares_member_role(n) for n in ast.walk(ast.parse("c = u.role == Role.ICB\n")))
