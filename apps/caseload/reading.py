"""Reading an ICB's caseload spreadsheet: the columns we know, the headers people actually use, and dates and money
as people type them. Django-free (plain functions over bytes and strings), so the page, the API, the command and the
bench read a file the same way.

One row is one case; the same row may carry the case's approved package (offer, programme, year, amount, provider)
and what has been paid against it. Cells are read as text (XLSX through polars + fastexcel, CSV through polars) and
parsed here, so ``1/4/2024`` and ``2024-04-01`` and an Excel date cell all mean 1 April 2024.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

import polars as pl

MAX_ROWS = 20_000
"""More rows than any ICB's caseload (42 ICBs share ~6,300 practices): a longer file is the wrong file."""


@dataclass(frozen=True)
class Column:
    key: str
    heading: str
    required: bool
    synonyms: tuple[str, ...]
    explains: str
    example: str


COLUMNS: tuple[Column, ...] = (
    Column(
        "reference",
        "Case reference",
        True,
        ("ref", "case ref", "case id", "id", "reference", "your reference", "case number", "case no", "local ref"),
        "Your own reference for the case, unique in the file. Importing again with the same reference changes that "
        "case instead of creating a second one.",
        "NENC-2024-001",
    ),
    Column(
        "practice",
        "Practice ODS code",
        True,
        ("ods", "ods code", "practice code", "code", "practice", "practice ods", "gp code"),
        "The practice's ODS code (one letter and five digits, e.g. A99901). The practice must be in your ICB.",
        "A99901",
    ),
    Column(
        "route",
        "Route in",
        False,
        ("route", "referral route", "source", "referred by", "referral source", "how referred"),
        "How the case came to you: self-referral, LMC, ICB or watch list. Empty means ICB.",
        "Self-referral",
    ),
    Column(
        "referred_on",
        "Referred on",
        True,
        ("referral date", "date referred", "opened", "date opened", "received", "date received", "start date"),
        "The date the case was referred, e.g. 1/4/2024, 01/04/2024 or 2024-04-01 (day first).",
        "01/04/2024",
    ),
    Column(
        "urgency",
        "Urgency",
        False,
        ("priority", "urgent", "rag"),
        "Routine, soon or urgent. Empty means routine.",
        "Routine",
    ),
    Column(
        "state",
        "State",
        True,
        ("status", "stage", "case status", "current status", "case state"),
        "Where the case is now: referred, triaged, diagnosis, plan agreed, approved, in delivery, review, closed, "
        "declined or withdrawn. Approved, in delivery and review need an approved package on the row.",
        "In delivery",
    ),
    Column(
        "state_on",
        "State reached on",
        False,
        ("status date", "date closed", "closed on", "closed", "last updated", "state date", "date of status"),
        "The date the case reached its state (for a closed case, the date it closed). Empty means the referral date.",
        "15/06/2024",
    ),
    Column(
        "triage_scope",
        "Triage scope",
        False,
        ("scope", "scope for support"),
        "Low, medium or high: how much support could change. Needed once a case is past referral.",
        "High",
    ),
    Column(
        "triage_impact",
        "Triage impact",
        False,
        ("impact", "impact of support"),
        "Low, medium or high: how much it would matter to patients and neighbours. Needed once past referral.",
        "Medium",
    ),
    Column(
        "notes",
        "Notes",
        False,
        ("note", "comments", "comment", "description", "concerns", "summary"),
        "What the case is about, in your words. Kept as a note on the case, visible to the practice and your team.",
        "Two partners retiring; list closed to new patients",
    ),
    Column(
        "offer",
        "Support offer",
        False,
        ("offer", "package", "support", "menu offer", "offer code", "intervention", "support package"),
        "The approved package's offer: the menu code (e.g. gprp-coaching) or its title exactly as on the menu. "
        "Empty when no package was approved.",
        "",
    ),
    Column(
        "programme",
        "Programme",
        False,
        ("scheme", "funding stream", "programme code", "fund"),
        "The programme code the package was approved against (e.g. GPRP). Needed with an offer.",
        "",
    ),
    Column(
        "financial_year",
        "Financial year",
        False,
        ("fy", "year", "financial yr", "budget year"),
        "The financial year of the budget, e.g. 2026-27 (or 2026). Empty means the current year.",
        "",
    ),
    Column(
        "amount",
        "Amount committed",
        False,
        ("committed", "approved amount", "amount", "value", "package cost", "cost", "commitment", "approved"),
        "The amount approved, in pounds: £1,250.00, 1250 and 1,250 all work. Needed with an offer.",
        "",
    ),
    Column(
        "provider",
        "Provider",
        False,
        ("supplier", "delivered by", "provider name", "payee"),
        "Who delivers the package. Named on the payment.",
        "",
    ),
    Column(
        "paid",
        "Amount paid",
        False,
        ("paid", "paid to date", "spend", "spent", "amount spent", "payments"),
        "What has already been paid against the package, in pounds. Empty or 0 means nothing yet.",
        "",
    ),
    Column(
        "invoice",
        "Invoice number",
        False,
        ("invoice", "invoice no", "invoice ref", "po", "invoice reference"),
        "The provider's invoice for the amount paid (needed with an amount paid).",
        "",
    ),
)
BY_KEY = {c.key: c for c in COLUMNS}


class UnreadableFile(ValueError):
    """The file is not a CSV or XLSX we can read, or has no rows; the message says so in words."""


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]  # every cell as text, "" for empty


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def read_table(data: bytes, filename: str) -> Table:
    """The first sheet of an XLSX (the sheet named "Caseload" if there is one), or a CSV, as text cells."""
    if not data:
        raise UnreadableFile("The file is empty")
    try:
        is_xlsx = data[:2] == b"PK" or filename.lower().endswith(".xlsx")
        frame = _read_xlsx(data) if is_xlsx else _read_csv(data)
    except UnreadableFile:
        raise
    except Exception as e:  # polars and calamine raise many kinds; the person needs one sentence
        raise UnreadableFile(
            "This file could not be read as a spreadsheet. Save it as .xlsx or .csv and upload it again."
        ) from e
    headers = [str(h).strip() for h in frame.columns]
    rows = [[_text(v) for v in r] for r in frame.iter_rows()]
    rows = [r for r in rows if any(r)]
    if not rows:
        raise UnreadableFile("The file has a header row but no rows under it")
    if len(rows) > MAX_ROWS:
        raise UnreadableFile(f"The file has {len(rows):,} rows; at most {MAX_ROWS:,} can be imported at once")
    return Table(headers, rows)


def _read_csv(data: bytes) -> pl.DataFrame:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # Excel on Windows saves CSV in cp1252 ("£" is 0xA3)
    return pl.read_csv(io.StringIO(text), infer_schema=False, truncate_ragged_lines=True)


def _read_xlsx(data: bytes) -> pl.DataFrame:
    import fastexcel

    reader = fastexcel.read_excel(data)
    names = reader.sheet_names
    wanted = next((n for n in names if _norm(n) in ("caseload", "cases", "example")), names[0])
    if _norm(wanted) in ("notes", _norm(BUDGETS_SHEET)):  # the caseload is not the notes nor the budgets
        wanted = next((n for n in names if _norm(n) not in ("notes", _norm(BUDGETS_SHEET))), wanted)
    return reader.load_sheet_by_name(wanted).to_polars()


# The budgets sheet ----------------------------------------------------------------------------------------------

BUDGETS_SHEET = "Budgets"
BUDGET_COLUMNS: tuple[Column, ...] = (
    Column("programme", "Programme code", True, ("programme", "scheme code", "code", "funding stream"),
           "Your scheme's code (e.g. LRS-2024), or a national programme's code to check it is here.", "LRS-2024"),
    Column("programme_name", "Programme name", False, ("scheme", "scheme name", "name"),
           "The scheme's name, for a scheme new to the service.", "Local resilience scheme"),
    Column("menu", "Menu", False, ("menu of support", "funds"),
           "GPRP (resilience) or GPDP (development): the menu the scheme's packages draw from.", "GPRP"),
    Column("line", "Funding line", False, ("line", "budget line", "cost centre name"),
           "The line within the scheme (empty: Core).", "Practice resilience support"),
    Column("financial_year", "Financial year", True, ("fy", "year"), "e.g. 2026-27.", "2026-27"),
    Column("amount", "Budget", True, ("amount", "allocation", "budget amount", "total"),
           "Pounds as you type them: £60,000.00, 60000, 60,000.", "£60,000.00"),
)  # fmt: skip


def read_budgets(data: bytes, filename: str) -> tuple[list[dict[str, str]], list[str]]:
    """The rows of an XLSX's "Budgets" sheet as column key → text, and the problems with its headers (a CSV holds
    one table, the caseload, so it has no budgets: ``[], []``)."""
    if not (data[:2] == b"PK" or filename.lower().endswith(".xlsx")):
        return [], []
    try:
        import fastexcel

        reader = fastexcel.read_excel(data)
        sheet = next((n for n in reader.sheet_names if _norm(n) == _norm(BUDGETS_SHEET)), None)
        if sheet is None:
            return [], []
        frame = reader.load_sheet_by_name(sheet).to_polars()
    except Exception as e:  # polars and calamine raise many kinds; the person needs one sentence
        raise UnreadableFile("The Budgets sheet could not be read: save the file as .xlsx and upload it again") from e
    headers = [str(h).strip() for h in frame.columns]
    normed = {_norm(h): h for h in headers if h}
    found: dict[str, str] = {}
    for col in BUDGET_COLUMNS:
        header = next((normed[_norm(n)] for n in (col.heading, col.key, *col.synonyms) if _norm(n) in normed), "")
        if header:
            found[col.key] = header
    problems = [
        f"The Budgets sheet has no “{c.heading}” column" for c in BUDGET_COLUMNS if c.required and c.key not in found
    ]
    index = {h: i for i, h in enumerate(headers)}
    rows = [[_text(v) for v in r] for r in frame.iter_rows()]
    out = [{c.key: (r[index[found[c.key]]] if c.key in found else "") for c in BUDGET_COLUMNS} for r in rows if any(r)]
    return ([] if problems else out), problems


def suggest_mapping(headers: list[str]) -> dict[str, str]:
    """Column key → the file's header that most likely holds it ("" when none does): the heading itself first, then
    a known synonym. Each header is used once."""
    normed = {_norm(h): h for h in headers if h}
    used: set[str] = set()
    out: dict[str, str] = {}
    for col in COLUMNS:
        found = ""
        for name in (col.heading, col.key, *col.synonyms):
            header = normed.get(_norm(name))
            if header and header not in used:
                found = header
                break
        if found:
            used.add(found)
        out[col.key] = found
    return out


def mapping_problems(mapping: dict[str, str], headers: list[str]) -> dict[str, str]:
    """What is wrong with a chosen mapping, by column key."""
    problems: dict[str, str] = {}
    seen: dict[str, str] = {}
    for col in COLUMNS:
        header = mapping.get(col.key, "")
        if header and header not in headers:
            problems[col.key] = f"The file has no column “{header}”"
        elif not header and col.required:
            problems[col.key] = f"Choose the column that holds {col.heading.lower()}"
        elif header and header in seen:
            problems[col.key] = f"“{header}” is already chosen for {BY_KEY[seen[header]].heading.lower()}"
        if header:
            seen.setdefault(header, col.key)
    return problems


def records(table: Table, mapping: dict[str, str]) -> list[dict[str, str]]:
    """Each row as column key → text, through the mapping (unmapped columns are "")."""
    index = {h: i for i, h in enumerate(table.headers)}
    picks = [(key, index.get(header)) for key, header in mapping.items() if header]
    blank = {c.key: "" for c in COLUMNS}
    return [
        {**blank, **{key: row[i] if i is not None and i < len(row) else "" for key, i in picks}} for row in table.rows
    ]


# Dates and money as people type them -------------------------------------------------------------------------

_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$", re.ASCII)
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$", re.ASCII)
_MONTHS = {
    m: i
    for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)
}
_WORDS = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]{3,9})\.?,?\s+(\d{4})$", re.ASCII)
_EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 (it counts the fictional 29 Feb 1900)


def parse_date(text: str) -> date:
    """A date as an English person types it: day first (``1/4/2024`` is 1 April), ISO, ``1 April 2024``, or an
    Excel serial number that came through as text. :class:`ValueError` in words otherwise."""
    raw = text.strip()
    try:
        if m := _ISO.match(raw):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _DMY.match(raw):
            year = int(m[3]) + (2000 if len(m[3]) == 2 else 0)
            return date(year, int(m[2]), int(m[1]))
        if (m := _WORDS.match(raw.lower())) and m[2][:3] in _MONTHS:
            return date(int(m[3]), _MONTHS[m[2][:3]], int(m[1]))
        if raw.isascii() and raw.isdigit() and 20_000 <= int(raw) <= 80_000:
            return _EXCEL_EPOCH + timedelta(days=int(raw))
    except ValueError:
        pass
    raise ValueError(f"“{raw[:40]}” is not a date we can read: write it like 01/04/2024 (day first) or 2024-04-01")


_MONEY = re.compile(r"^£?(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2}|\.0+)?$", re.ASCII)
MAX_PENCE = 100_000_000 * 100  # a single package of more than £100m is a typing slip


def parse_money(text: str) -> int:
    """Pounds as people type them (``£1,250.00``, ``1250``, ``1,250``, an XLSX number ``1250.0``) → pence."""
    raw = text.strip().replace(" ", "").replace("\u00a3", "£")
    if not _MONEY.match(raw):
        raise ValueError(f"“{text.strip()[:40]}” is not an amount in pounds: write it like £1,250.00 or 1250")
    try:
        value = Decimal(raw.lstrip("£").replace(",", ""))
    except InvalidOperation as e:  # pragma: no cover - the pattern guarantees a number
        raise ValueError("not an amount in pounds") from e
    pence = int(value * 100)
    if pence > MAX_PENCE:
        raise ValueError(f"{text.strip()[:40]} is more than £100,000,000: check the amount")
    return pence


def parse_fy(text: str) -> int:
    """``2026-27``, ``2026/27``, ``2026/2027``, ``FY2026`` or ``2026`` → 2026 (the year the financial year starts)."""
    raw = text.strip().upper().removeprefix("FY").strip()
    m = re.match(r"^(\d{4})(?:\s*[-/]\s*(\d{2}|\d{4}))?$", raw, re.ASCII)
    if m and (not m[2] or int(m[2][-2:]) == (int(m[1]) + 1) % 100):
        return int(m[1])
    raise ValueError(f"“{text.strip()[:20]}” is not a financial year: write it like 2026-27")
