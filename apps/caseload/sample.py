"""A realistic caseload spreadsheet for an ICB's practices, written the way people write theirs (day-first dates
in several styles, money with and without "£" and commas, the headers of a home-made tracker rather than ours):
for the tests and ``bench/import_caseload.py``. Deterministic for a given seed."""

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from datetime import date, timedelta

from apps.core.exports import write_csv, write_xlsx_sheets

# A home-made tracker's headers: none is our heading, every one is a synonym the mapping suggests.
HEADERS = {
    "reference": "Case ID",
    "practice": "ODS code",
    "route": "Referral source",
    "referred_on": "Date referred",
    "urgency": "Priority",
    "state": "Status",
    "state_on": "Status date",
    "triage_scope": "Scope",
    "triage_impact": "Impact",
    "notes": "Comments",
    "offer": "Intervention",
    "programme": "Funding stream",
    "financial_year": "FY",
    "amount": "Approved amount",
    "provider": "Supplier",
    "paid": "Paid to date",
    "invoice": "Invoice no",
}
OPEN_STATES = ("Referred", "Triaged", "Diagnosis", "Plan agreed")
PACKAGE_STATES = ("In delivery", "Approved", "Review")
ENDED_STATES = ("Closed", "Declined", "Withdrawn")
CONCERNS = (
    "Two partners retiring within the year",
    "Practice manager post vacant",
    "List closed to new patients after a merger",
    "CQC rated requires improvement; action plan needed",
    "Estates problems: branch surgery closed",
    "Locum spend doubled; recruitment failing",
)


def _date(d: date, style: int) -> str:
    return (f"{d.day}/{d.month}/{d.year}", f"{d:%d/%m/%Y}", d.isoformat())[style % 3]


def _money(pence: int, style: int) -> str:
    pounds = pence // 100
    return (f"£{pounds:,}.00", str(pounds), f"{pounds:,}")[style % 3]


def caseload(
    open_practices: Sequence[str],
    any_practices: Sequence[str],
    *,
    cases: int,
    packages: int,
    programme: str,
    fy: int,
    offer: str,
    today: date,
    seed: int = 1,
    prefix: str = "IMP",
) -> list[dict[str, str]]:
    """``cases`` rows; the first ``packages`` are packages in delivery (in ``open_practices``, one each), then open
    cases (one each of the remaining ``open_practices``) and then ended cases (any practice, repeats allowed)."""
    rnd = random.Random(seed)
    rows: list[dict[str, str]] = []
    opens = list(open_practices)
    fy_start = date(fy, 4, 1)
    for n in range(cases):
        s = rnd.randrange(3)
        referred = today - timedelta(days=rnd.randrange(20, 900))
        row = {k: "" for k in HEADERS}
        row |= {
            "reference": f"{prefix}-{n + 1:05d}",
            "route": rnd.choice(("Self-referral", "ICB", "LMC", "Watch list", "")),
            "referred_on": _date(referred, s),
            "urgency": rnd.choice(("Routine", "Soon", "Urgent", "")),
            "triage_scope": rnd.choice(("Low", "Medium", "High")),
            "triage_impact": rnd.choice(("Low", "Medium", "High")),
            "notes": rnd.choice(CONCERNS),
        }
        if n < packages:
            referred = max(fy_start, today - timedelta(days=60)) - timedelta(days=rnd.randrange(1, 30))
            amount = rnd.randrange(10, 40) * 100_00
            paid = amount // 4 if n % 3 == 0 else 0
            row |= {
                "practice": opens.pop(0),
                "referred_on": _date(referred, s),
                "state": rnd.choice(PACKAGE_STATES),
                "state_on": _date(max(referred, fy_start) + timedelta(days=7), s + 1),
                "offer": offer,
                "programme": programme,
                "financial_year": f"{fy}-{(fy + 1) % 100:02d}",
                "amount": _money(amount, s),
                "provider": "Northern Practice Coaching Ltd" if paid else "",
                "paid": _money(paid, s + 1) if paid else "",
                "invoice": f"INV-{n:05d}" if paid else "",
            }
        elif opens:
            row |= {"practice": opens.pop(0), "state": rnd.choice(OPEN_STATES), "state_on": _date(referred, s)}
            if row["state"] == "Referred":
                row["triage_scope"] = row["triage_impact"] = ""
        else:
            ended = referred + timedelta(days=rnd.randrange(1, 20))
            row |= {
                "practice": rnd.choice(any_practices),
                "state": rnd.choice(ENDED_STATES),
                "state_on": _date(ended, s),
            }
        rows.append(row)
    return rows


def as_csv(rows: Sequence[dict[str, str]]) -> bytes:
    buf = io.BytesIO()
    write_csv([[r[k] for k in HEADERS] for r in rows], list(HEADERS.values()), buf)
    return buf.getvalue()


def as_xlsx(rows: Sequence[dict[str, str]], budgets: Sequence[dict[str, str]] = ()) -> bytes:
    """The caseload as an XLSX; with ``budgets`` (rows keyed by the Budgets sheet's column keys), a Budgets sheet."""
    from apps.caseload.reading import BUDGET_COLUMNS, BUDGETS_SHEET

    sheets = [("Caseload", list(HEADERS.values()), [[r[k] for k in HEADERS] for r in rows])]
    if budgets:
        sheets.append(
            (
                BUDGETS_SHEET,
                [c.heading for c in BUDGET_COLUMNS],
                [[b.get(c.key, "") for c in BUDGET_COLUMNS] for b in budgets],
            )
        )
    buf = io.BytesIO()
    write_xlsx_sheets(sheets, buf)
    return buf.getvalue()
