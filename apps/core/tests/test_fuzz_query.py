"""No server error on any query string: every GET page and API operation, with every query parameter the code reads,
given hostile values (superscript and Arabic-Indic digits, 30-digit and negative numbers, exponents, NaN, NUL, very
long and odd text).

The page parameters are read from the code itself — every ``request.GET.get/getlist("…")`` (and the helpers that
take ``request.GET`` as ``source``/``query``) in the view modules — so a view that starts reading a new parameter is
fuzzed without an edit here. The routes and who may open them come from the access walks' tables (a route that is
not there already fails ``test_every_url_has_an_expectation``); the API's parameters come from its OpenAPI document.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path
from typing import Any

import pytest
from django.urls import resolve, reverse

from apps.accounts.tests.test_access_walk import (  # the walk's fixtures make the objects its routes need
    EXPECTED,
    POST_ONLY,
    resolve_args,
    scenarios,  # noqa: F401
    walk_case,  # noqa: F401
    walk_delivery,  # noqa: F401
)
from apps.api.tests.test_api_access_walk import EXPECTED as API_EXPECTED
from apps.api.tests.test_api_access_walk import _url

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]
HOSTILE = [
    "²",
    "٣",
    "9" * 30,
    "-1",
    "0",
    "1e999",
    "NaN",
    "-inf",
    "x\x00y",
    "%",
    "' OR 1=1 --",
    "£1,000,000,000,000,000,000",
    "ü" * 3000,
    "2026-02-30",
    "  ",
]
# A few values for each parameter on its own (all parameters at once may stop at the first refusal)
ALONE = ["²", "9" * 30, "-1", "1e999", "ü" * 3000]
PREFERRED = ("icb_a", "national", "practice_x", "provider", "lmc", "icb_b", "practice_y", "provider_b", "anonymous")
RECEIVERS = {"source", "query", "params", "data"}  # names views give request.GET when they pass it on


def _reads(tree: ast.AST) -> set[str]:
    """Parameter names read from request.GET (or a dict-like it was passed on as) in one module: a constant name, or
    a loop variable over a tuple of constant names (``{k: request.GET.get(k) for k in ("model", "actor")}``)."""
    loops: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        pairs = (
            [(g.target, g.iter) for g in node.generators]
            if isinstance(node, ast.DictComp | ast.ListComp | ast.SetComp | ast.GeneratorExp)
            else []
        )
        if isinstance(node, ast.For):
            pairs.append((node.target, node.iter))
        for target, source in pairs:
            if isinstance(target, ast.Name) and isinstance(source, ast.Tuple | ast.List):
                constants = {str(e.value) for e in source.elts if isinstance(e, ast.Constant)}
                loops.setdefault(target.id, set()).update(constants)
    names = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in {"get", "getlist"} or not node.args:
            continue
        receiver = ast.unparse(node.func.value)
        if not (receiver.endswith(".GET") or receiver in RECEIVERS):
            continue
        arg = node.args[0]
        if isinstance(arg, ast.Constant):
            names.add(str(arg.value))
        elif isinstance(arg, ast.Name):
            names |= loops.get(arg.id, set())
    return names


@functools.cache
def _app_sources() -> dict[Path, tuple[str, ast.Module]]:
    """Every app module (tests and migrations aside) with its text and syntax tree, read and parsed once for both
    sweeps below."""
    out = {}
    for path in sorted((ROOT / "apps").glob("**/*.py")):
        if "tests" not in path.parts and "migrations" not in path.parts:
            text = path.read_text()
            out[path] = (text, ast.parse(text))
    return out


@functools.cache
def _module_params() -> dict[str, set[str]]:
    """Module path (``apps/x/views.py``) -> the parameters it reads; helpers' modules included."""
    return {
        str(path.relative_to(ROOT)): _reads(tree)
        for path, (text, tree) in _app_sources().items()
        if ".GET" in text or "_params_from" in text
    }


def _module_file(dotted: str) -> str | None:
    for candidate in (ROOT / (dotted.replace(".", "/") + ".py"), ROOT / dotted.replace(".", "/") / "__init__.py"):
        if candidate.is_file():
            return str(candidate.relative_to(ROOT))
    return None


@functools.cache
def _imports() -> dict[str, set[str]]:
    """Module path -> the paths of the apps' modules it imports (``from apps.x import y`` counts ``apps/x/y.py``)."""
    out: dict[str, set[str]] = {}
    for path, (_, tree) in _app_sources().items():
        found: set[str] = set()
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                base = node.module if node.level == 0 else _relative(path, node.module, node.level)
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            found |= {f for f in map(_module_file, (n for n in names if n.startswith("apps."))) if f}
        out[str(path.relative_to(ROOT))] = found
    return out


def _relative(path: Path, module: str, level: int) -> str:
    package = path.relative_to(ROOT).parent.parts
    return ".".join(package[: len(package) - level + 1] + tuple(module.split(".")))


def _params_of_view(view_module: str) -> set[str]:
    """The parameters the view's module reads, and every module it reaches through imports (the helpers that read a
    shared parameter such as ``fy`` or ``page``)."""
    reads, imports = _module_params(), _imports()
    start = _module_file(view_module)
    seen, todo = set(), [start] if start else []
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(imports.get(module, ()))
    return set().union(*(reads.get(m, set()) for m in seen))


def test_every_request_get_read_is_found():
    """The sweep's own check: each module that reads request.GET has its parameters found (and 'fy', read by the
    funding helper, and the paging parameter, read by most lists, among them)."""
    params = _module_params()
    found = set().union(*params.values())
    assert {"fy", "page", "q", "run", "show", "from", "to", "since", "suggest", "s"} <= found, found
    for module, names in params.items():
        assert names or ".GET.get" not in (ROOT / module).read_text(), module


def test_each_page_is_given_the_parameters_its_helpers_read_too():
    """A page is sent each parameter alone that its own module, or a module it reaches through imports, reads: the
    money pages' financial year is read by a shared helper, the lists' page number by each list."""
    assert "fy" in _params_of_view("apps.funding.views.national")  # read in apps/funding/views/common.py
    assert {"page", "actor", "model"} <= _params_of_view("apps.pages.views")
    assert {"q", "tag"} == _params_of_view("apps.delivery.views.pm")
    every_view = {resolve(reverse(name, args=_placeholder(args))).func.__module__ for name, args, _ in _routes()}
    assert every_view <= {m.replace("/", ".").removesuffix(".py") for m in _imports()} | {"django.contrib.auth.views"}


def _placeholder(args: tuple[str, ...]) -> list[str]:
    return ["1" if a.startswith("{") else a for a in args]


def _persona(allowed: set[str]) -> str:
    return next(p for p in PREFERRED if p in allowed)


def _routes() -> list[tuple[str, tuple[str, ...], str]]:
    return [
        (name, args, _persona(allowed))
        for name, (args, allowed) in sorted(EXPECTED.items())
        if allowed and name not in POST_ONLY and not name.startswith("api")
    ]


@pytest.mark.parametrize(("name", "args", "persona"), _routes(), ids=[r[0] for r in _routes()])
def test_page_never_fails_on_odd_query_values(request, client_for, name, args, persona):
    everything = sorted(set().union(*_module_params().values()))
    url = reverse(name, args=resolve_args(request, args))
    own = sorted(_params_of_view(resolve(url).func.__module__))
    client = client_for(persona)
    failures = []
    # Every parameter any page reads, all at once; then each one this page's code can read, alone (all at once may
    # stop at the first refusal). Each parameter of every page alone was 135 requests a page, most of them to a page
    # that never reads the parameter.
    for value in HOSTILE:
        response = client.get(url, dict.fromkeys(everything, value))
        if response.status_code >= 500:
            failures.append(("all", value[:20], response.status_code))
    for param in own:
        for value in ALONE:
            response = client.get(url, {param: value})
            if response.status_code >= 500:
                failures.append((param, value[:20], response.status_code))
    assert failures == [], f"{url}: server errors {failures}"


def _operations() -> list[tuple[str, str, list[str]]]:
    from apps.api.testing import openapi_document

    return [
        (op["operationId"], path, [p["name"] for p in op.get("parameters", []) if p["in"] == "query"])
        for path, methods in openapi_document()["paths"].items()
        for method, op in methods.items()
        if method == "get"
    ]


@pytest.mark.parametrize(("op_id", "path", "params"), _operations(), ids=[o[0] for o in _operations()])
def test_api_operation_never_fails_on_odd_query_values(personas, client, op_id, path, params):
    from apps.api.services import create_api_token

    op = API_EXPECTED[op_id]
    persona = _persona(set(op.allowed))
    headers = {"Authorization": f"Bearer {create_api_token(personas[persona], 'fuzz')[1]}"}
    url = _url(path, op, personas)
    failures: list[Any] = []
    for param in params:
        for value in HOSTILE:
            response = client.get(url, {**op.query, param: value}, headers=headers)
            if response.status_code >= 500:
                failures.append((param, value[:20], response.status_code))
            elif response.status_code >= 400:
                assert response["Content-Type"].startswith("application/json") and response.json()["detail"]
    assert failures == [], f"{op_id}: server errors {failures}"


def test_a_nul_in_a_query_string_is_refused_in_words(client_for):
    """PostgreSQL cannot compare a text column with a NUL (a server error there, silence on SQLite): refused once,
    for every page and API operation, before any view sees it."""
    client = client_for("icb_a")
    page = client.get(reverse("datasets:sources"), {"dataset": "x\x00y"})
    assert page.status_code == 400 and "cannot be stored" in page.content.decode()
    api = client.get("/api/v1/practices", {"q": "x\x00y"})
    assert api.status_code == 422 and "cannot be stored" in api.json()["detail"][0]["msg"]
    assert api.json()["detail"][0]["loc"] == ["query", "q"]
