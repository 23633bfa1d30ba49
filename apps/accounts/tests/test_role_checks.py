"""Access rules live in policy modules, each beside its domain (``apps/<app>/policy.py``: practices, datasets,
indicators, targeting, cases, funding, delivery, api, teams, pages) and the base of access
(``apps/accounts/access.py``: the national rule): this test parses the code and fails on a comparison with ``.role``
anywhere else (issue 15 §3).

A faculty member's ``MemberRole`` (apprentice, coach) is its job on the route, not a user's access, and is not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ALLOWED = {"apps/accounts/models.py", "apps/accounts/access.py"}  # where Role is defined; the base of access


def _is_role(node: ast.expr) -> bool:
    """``x.role``, or ``getattr(x, "role", …)``."""
    if isinstance(node, ast.Attribute):
        return node.attr == "role"
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "getattr"
        and len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
        and node.args[1].value == "role"
    )


def _is_member_role(node: ast.expr) -> bool:
    """``MemberRole.APPRENTICE``, ``MemberRole.values``: a faculty member's job on the route, not a user's access."""
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "MemberRole"


def compares_role(node: ast.AST) -> bool:
    """``x.role == …``, ``… != x.role``, ``x.role in (…)``: a comparison with a user's role on either side."""
    if not isinstance(node, ast.Compare):
        return False
    sides = [node.left, *node.comparators]
    return any(_is_role(x) for x in sides) and not any(_is_member_role(x) for x in sides)


def role_checks() -> dict[str, list[int]]:
    """Line numbers of comparisons with ``<something>.role``, by module, outside policy modules and tests."""
    found: dict[str, list[int]] = {}
    for path in sorted([*(ROOT / "apps").rglob("*.py"), *(ROOT / "analytics").rglob("*.py")]):
        rel = path.relative_to(ROOT).as_posix()
        if {"migrations", "tests"} & set(path.parts) or path.stem == "policy" or rel in ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if compares_role(node):
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
