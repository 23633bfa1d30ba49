"""The shape of the code (issue 15 §3/§4): dependencies between apps point one way, and no module is a god file.

This parses every module under ``apps/`` (imports inside functions count: hiding an import in a function hides the
dependency from a reader, not from the code) and fails on

- an import cycle between apps (``a`` imports ``b`` and ``b``, maybe through others, imports ``a``);
- an import from a base app into another app: ``core`` imports no other app, ``accounts`` imports only ``core``;
- an import of an app from the same or a higher layer (``LAYERS``, the map in docs/architecture.md), or an app
  that is in no layer;
- a module over ``MAX_LINES`` lines outside migrations and tests, here and in ``analytics/``.

Each failure names the modules and lines, so the message says what to move.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
MAX_LINES = 520

# What each base app may import from the other apps: the layers are core → accounts → the feature apps.
BASE_APPS: dict[str, frozenset[str]] = {"core": frozenset(), "accounts": frozenset({"core"})}

# The layers, lowest first: an app imports only apps of lower layers. A new app takes its place here.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"core"}),  # audit, paging, exports, errors, forms, background tasks, the database backends
    frozenset({"accounts"}),  # users, roles, memberships, sign-in; is_signed_in, require, the national rule
    frozenset({"practices"}),  # the register: ICBs, PCNs, practices and their history tables
    frozenset({"datasets", "funding"}),  # national imports; programmes, budgets, the ledger
    frozenset({"indicators"}),  # the pressure index: definitions, scoring runs, the watch list
    frozenset({"targeting"}),  # dispersal, ripple, group suggestions, optimiser scenarios
    frozenset({"cases"}),  # referral to review, packages (they commit money), the menu, support evaluation
    frozenset(
        {"delivery", "caseload"}
    ),  # faculty, sessions, outcomes, networks, coaching; caseload: the day-one import
    frozenset({"cohorts"}),  # universal offers as cohorts: delivered by providers, linked to PM networks/coaching
    frozenset({"api"}),  # the REST API: one router per area over the apps' services and policies
    frozenset({"teams", "pages"}),  # team administration (ends API tokens); the site's own pages
)

# Modules being split on other branches of the same round (issue 15 §4: cases, delivery). Each entry must still be
# over the limit: once its split lands, the entry fails the test until it is removed, so the list only shrinks.
PENDING_SPLITS: dict[str, str] = {}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module's path, relative to the project root
    line: int
    target: str  # the imported module, dotted

    @property
    def from_app(self) -> str:
        return self.source.split("/")[1]

    @property
    def to_app(self) -> str:
        return self.target.split(".")[1]

    def __str__(self) -> str:
        return f"{self.source}:{self.line} imports {self.target}"


def _modules(top: str) -> Iterator[Path]:
    for path in sorted((ROOT / top).rglob("*.py")):
        if not {"migrations", "tests"} & set(path.relative_to(ROOT).parts):
            yield path


def imports_between_apps(source_files: dict[str, str]) -> list[Import]:
    """Every ``import apps.x…`` or ``from apps.x… import …``, at any depth of the tree, into another app."""
    found = []
    for rel, text in source_files.items():
        for node in ast.walk(ast.parse(text)):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module]
                if node.module == "apps":  # ``from apps import cases``
                    targets = [f"apps.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            for target in targets:
                parts = target.split(".")
                if len(parts) > 1 and parts[0] == "apps" and parts[1] != rel.split("/")[1]:
                    found.append(Import(rel, node.lineno, target))
    return found


def app_cycles(imports: list[Import]) -> list[list[str]]:
    """The strongly connected groups of two or more apps in the import graph (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        graph.setdefault(imp.from_app, set()).add(imp.to_app)
        graph.setdefault(imp.to_app, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(app: str) -> None:
        index[app] = low[app] = len(index)
        stack.append(app)
        on_stack.add(app)
        for other in sorted(graph[app]):
            if other not in index:
                visit(other)
                low[app] = min(low[app], low[other])
            elif other in on_stack:
                low[app] = min(low[app], index[other])
        if low[app] == index[app]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == app:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for app in sorted(graph):
        if app not in index:
            visit(app)
    return sorted(groups)


def _read(top: str) -> dict[str, str]:
    return {path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8") for path in _modules(top)}


def test_no_import_cycle_between_apps():
    imports = imports_between_apps(_read("apps"))
    cycles = app_cycles(imports)
    lines = []
    for group in cycles:
        lines.append(f"cycle between {', '.join(group)}:")
        lines += [f"  {imp}" for imp in imports if imp.from_app in group and imp.to_app in group]
    assert not cycles, "\n".join(lines)


def test_base_apps_import_no_feature_app():
    upward = [
        imp
        for imp in imports_between_apps(_read("apps"))
        if imp.from_app in BASE_APPS and imp.to_app not in BASE_APPS[imp.from_app]
    ]
    assert not upward, "core imports no other app and accounts only core; move these:\n" + "\n".join(
        f"  {imp}" for imp in upward
    )


def layer_violations(imports: list[Import], apps: set[str]) -> list[str]:
    """Imports of an app that is not in a lower layer, and apps that are in no layer."""
    rank = {app: n for n, layer in enumerate(LAYERS) for app in layer}
    found = [f"apps/{app}/ is in no layer: add it to LAYERS" for app in sorted(apps - rank.keys())]
    found += [
        f"{imp} (layer {rank[imp.from_app]} imports layer {rank[imp.to_app]})"
        for imp in imports
        if imp.from_app in rank and imp.to_app in rank and rank[imp.to_app] >= rank[imp.from_app]
    ]
    return found


def test_apps_import_only_lower_layers():
    apps = {p.name for p in (ROOT / "apps").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    found = layer_violations(imports_between_apps(_read("apps")), apps)
    assert not found, "an app imports only apps of lower layers (LAYERS):\n" + "\n".join(f"  {x}" for x in found)


def test_no_module_over_the_line_limit():
    sizes = {rel: text.count("\n") for top in ("apps", "analytics") for rel, text in _read(top).items()}
    big = {rel: n for rel, n in sizes.items() if n > MAX_LINES and rel not in PENDING_SPLITS}
    stale = {rel: sizes.get(rel, 0) for rel in PENDING_SPLITS if sizes.get(rel, 0) <= MAX_LINES}
    assert not big, f"split these modules by concept (over {MAX_LINES} lines): {big}"
    assert not stale, f"these splits have landed: remove them from PENDING_SPLITS: {stale}"


def test_the_checks_see_what_they_are_for():
    """The parser is not blind: imports inside functions, ``from apps import x`` and cycles through three apps count."""
    files = {
        "apps/a/models.py": "from apps.b.models import B\n",
        "apps/b/views.py": "def f():\n    from apps.c import services\n",
        "apps/c/services.py": "from apps import a\nimport apps.c.other\n",
        "apps/d/views.py": "import apps.a.models\n",
    }
    imports = imports_between_apps(files)
    assert [str(i) for i in imports] == [
        "apps/a/models.py:1 imports apps.b.models",
        "apps/b/views.py:2 imports apps.c",
        "apps/c/services.py:1 imports apps.a",
        "apps/d/views.py:1 imports apps.a.models",
    ]
    assert app_cycles(imports) == [["a", "b", "c"]]
    assert app_cycles(imports[:2]) == []
    upward = imports_between_apps({"apps/cases/views.py": "from apps.delivery.models import Session\n"})
    assert layer_violations(upward, {"cases", "delivery", "new"}) == [
        "apps/new/ is in no layer: add it to LAYERS",
        "apps/cases/views.py:1 imports apps.delivery.models (layer 6 imports layer 7)",
    ]
    sideways = imports_between_apps({"apps/funding/models.py": "from apps.datasets.models import ImportLog\n"})
    assert layer_violations(sideways, {"funding", "datasets"}) == [
        "apps/funding/models.py:1 imports apps.datasets.models (layer 3 imports layer 3)"
    ]
