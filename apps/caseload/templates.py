"""The downloadable template: the columns we read, three example rows, and (in the XLSX) a notes sheet explaining
every column. Written through ``apps.core.exports``, the one spreadsheet writer."""

from __future__ import annotations

import io

from django.http import HttpResponse

from apps.caseload.reading import BUDGET_COLUMNS, BUDGETS_SHEET, COLUMNS
from apps.core.exports import CSV_TYPE, XLSX_TYPE, write_csv, write_xlsx_sheets

EXAMPLES: tuple[dict[str, str], ...] = (
    {
        "reference": "NENC-2024-001", "practice": "A99901", "route": "Self-referral", "referred_on": "01/04/2024",
        "urgency": "Urgent", "state": "Closed", "state_on": "20/03/2025", "triage_scope": "High",
        "triage_impact": "High", "notes": "Two partners retiring; list closed to new patients",
    },
    {
        "reference": "NENC-2026-014", "practice": "A99902", "route": "ICB", "referred_on": "2026-05-12",
        "urgency": "Routine", "state": "In delivery", "state_on": "1/7/2026", "triage_scope": "Medium",
        "triage_impact": "High", "notes": "Practice manager post vacant since March",
        "offer": "Management advice", "programme": "GPR-2026", "financial_year": "2026-27",
        "amount": "£12,500.00", "provider": "Northern Practice Coaching Ltd", "paid": "2,500", "invoice": "INV-0042",
    },
    {
        "reference": "NENC-2026-020", "practice": "A99903", "route": "LMC", "referred_on": "3/9/2026",
        "urgency": "Soon", "state": "Triaged", "state_on": "10/09/2026", "triage_scope": "Low",
        "triage_impact": "Medium", "notes": "Estates problems after the flood",
    },
)  # fmt: skip


BUDGET_EXAMPLES: tuple[dict[str, str], ...] = (
    {"programme": "LRS-2026", "programme_name": "Local resilience scheme", "menu": "GPRP",
     "line": "Practice resilience support", "financial_year": "2026-27", "amount": "£60,000.00"},
)  # fmt: skip


def example_rows() -> list[list[str]]:
    return [[row.get(c.key, "") for c in COLUMNS] for row in EXAMPLES]


def budget_rows() -> list[list[str]]:
    return [[row.get(c.key, "") for c in BUDGET_COLUMNS] for row in BUDGET_EXAMPLES]


def notes_rows() -> list[list[str]]:
    """Every column of both sheets, what to put in it and the headers it is also read from."""
    cases = [[c.heading, "Yes" if c.required else "No", c.explains, ", ".join(c.synonyms[:5])] for c in COLUMNS]
    budgets = [
        [f"{BUDGETS_SHEET}: {c.heading}", "Yes" if c.required else "No", c.explains, ", ".join(c.synonyms[:5])]
        for c in BUDGET_COLUMNS
    ]
    return cases + budgets


def download(fmt: str) -> HttpResponse:
    headings = [c.heading for c in COLUMNS]
    buf = io.BytesIO()
    if fmt == "xlsx":
        write_xlsx_sheets(
            [
                ("Caseload", headings, example_rows()),
                (BUDGETS_SHEET, [c.heading for c in BUDGET_COLUMNS], budget_rows()),
                ("Notes", ["Column", "Required", "What to put", "Also read from headers like"], notes_rows()),
            ],
            buf,
        )
        ctype = XLSX_TYPE
    else:
        write_csv(example_rows(), headings, buf)
        ctype = CSV_TYPE
    response = HttpResponse(buf.getvalue(), content_type=ctype)
    response["Content-Disposition"] = f'attachment; filename="caseload-template.{fmt}"'
    return response
