"""The machinery of the form fuzz (``test_fuzz_forms.py``): hostile values, how a POST is built, and the oracle.

A form is described as data (:class:`Form`: its URL, the persona who may use it, its fields with their valid values
and the ids of other ICBs' or practices' objects); :func:`submissions` turns that into a hypothesis strategy that mixes
valid values with hostile ones, drops and duplicates fields; :func:`check_response` judges what came back against
what changed in the database (:func:`db_state`).

The oracle, for every submission:

* never a server error (the test client re-raises the view's exception, so hypothesis shrinks it to a minimal form);
* a refusal (400 with an error summary, 403, 404, 405, or a redirect carrying an error message) changes nothing:
  every row count of the service's tables and the audit trail are as before; a 400 names the problem in an error
  summary whose links point at fields on the page;
* an acceptance writes an audit record, and no text written is longer than its column (SQLite stores it, PostgreSQL
  refuses it: the check catches on SQLite what would be a server error on PostgreSQL).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.apps import apps
from django.contrib.messages import constants as message_levels
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, models
from hypothesis import strategies as st

from apps.core.models import AuditRecord

# --- Hostile values ---------------------------------------------------------------------------------------------

# Dates in every form seen in NHS files (ODS YYYYMMDD, DD/MM/YYYY from spreadsheets, "31-Jan-2027" from QOF and
# workforce extracts, timestamps from CSV exports) and impossible ones.
DATES = (
    "2027-01-31", "31/01/2027", "31-01-2027", "20270131", "31-Jan-2027", "31 January 2027", "01/31/2027",
    "2027/01/31", "2027-1-3", "2027-01-31 00:00:00", "2027-01-31T09:30", "31/01/2027 09:30", "2027-02-30",
    "2027-13-01", "0000-00-00", "0001-01-01", "9999-12-31", "1899-12-30", "45322", "2027-W05", "yesterday",
)  # fmt: skip
NUMBERS = (
    "0", "-1", "-0", "1.5", "-2.5", "1e3", "1e309", "-1e309", "nan", "NaN", "inf", "-inf", "Infinity", "1_000",
    "1,000", "1,000.50", "£1,000", "£ 1 000", " 12 ", "£-5", "1.2.3", "٣", "１２", "99999999999999999999999",
    "-99999999999999999999999", "9223372036854775808", "2147483648", "0x10", "1/2", "12%", "½",
)  # fmt: skip
NASTY_TEXT = (
    "", " ", "\t\n", "\x00", "a\x00b", "\u202eevil\u202c", "\u200b", "😀🏥👩‍⚕️", "Zoë’s “practice”",
    "<script>x</script>", "{{ 7*7 }}", "' OR 1=1 --", "%s%s%n", "\r\n\r\n", "ﷺ", "a" * 201, "x" * 5000, "ℌ𝔢𝔩𝔩𝔬",
    "null", "None",
)  # fmt: skip
IDS = ("0", "-1", "1.5", "abc", "999999999", "99999999999999999999", "", "1e3", " 1")

# Text from anywhere in Unicode but the surrogates (a browser cannot send those), NUL included.
free_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=60)


@dataclass(frozen=True)
class Field:
    """One field of a form.

    ``valid``: values the persona could genuinely send (the first is used for the valid submission); ``foreign``:
    values that are real but not theirs (another ICB's practice, another user's object); ``kind`` picks the hostile
    values (text, number, money, date, datetime, id, choice, flag, lines); ``multi``: a multi-select (sent 0..n times).
    """

    name: str
    kind: str = "text"
    valid: Callable[[Any], Sequence[str]] | Sequence[str] = ("",)
    foreign: Callable[[Any], Sequence[str]] | Sequence[str] = ()
    multi: bool = False

    def values(self, world: Any) -> list[str]:
        return list(self.valid(world) if callable(self.valid) else self.valid)

    def foreign_values(self, world: Any) -> list[str]:
        return list(self.foreign(world) if callable(self.foreign) else self.foreign)


@dataclass(frozen=True)
class Form:
    """A form that writes something, the persona who may use it, and what its valid submission does.

    ``args`` gives the URL's arguments from the world (``needs`` names other world objects to make first);
    ``fixed`` fields are sent with every submission (e.g. the action a button posts) and fuzzed only by being
    duplicated or replaced; ``effect`` checks the valid submission did what it says (given the world and the row
    counts before and after); ``refusal_status`` is the status a refused submission answers with.
    """

    id: str
    url: str
    persona: str
    fields: tuple[Field, ...] = ()
    args: Callable[[Any], tuple[Any, ...]] = lambda w: ()
    fixed: dict[str, str] = field(default_factory=dict)
    effect: Callable[[Any, dict[str, int], dict[str, int]], None] | None = None
    max_examples: int = 15
    refusal_status: int = 400
    needs: tuple[str, ...] = ()  # world objects to make first (that the URL and fields do not name)

    @property
    def files(self) -> set[str]:
        """The names of the form's file fields (kind ``file``: values are sent as an uploaded file's content)."""
        return {f.name for f in self.fields if f.kind == "file"}

    def valid_pairs(self, world: Any) -> list[tuple[str, str]]:
        pairs = list(self.fixed.items())
        for f in self.fields:
            pairs.append((f.name, f.values(world)[0]))
        return pairs


def hostile(kind: str) -> st.SearchStrategy[str]:
    common = st.sampled_from(NASTY_TEXT) | free_text
    by_kind = {
        "number": st.sampled_from(NUMBERS) | st.integers().map(str) | st.floats().map(str),
        "money": st.sampled_from(NUMBERS) | st.integers(-(10**25), 10**25).map(lambda n: f"£{n:,}"),
        "date": st.sampled_from(DATES),
        "datetime": st.sampled_from(DATES) | st.datetimes().map(lambda d: d.isoformat()),
        "id": st.sampled_from(IDS) | st.integers().map(str),
        "choice": st.sampled_from(("other", "APPROVE", "approve ", "1", "true")),
        "flag": st.sampled_from(("0", "1", "2", "on", "true", "yes")),
        "lines": st.lists(st.sampled_from(NASTY_TEXT + DATES + NUMBERS) | free_text, max_size=6).map("\n".join),
    }
    return by_kind.get(kind, st.nothing()) | common


def resolve(form: Form, world: Any) -> dict[str, tuple[list[str], list[str]]]:
    """Each field's valid and foreign values, worked out once: the world's objects are made here, outside the
    savepoints the examples roll back (an object first made inside one would vanish with it)."""
    return {f.name: (f.values(world), f.foreign_values(world)) for f in form.fields}


@st.composite
def submissions(draw: st.DrawFn, form: Form, values: dict[str, tuple[list[str], list[str]]]) -> list[tuple[str, str]]:
    """A POST body as (name, value) pairs: each field valid, foreign, hostile, missing or sent twice.

    ``values``: from :func:`resolve`."""
    pairs: list[tuple[str, str]] = []
    for name, value in form.fixed.items():
        mode = draw(st.sampled_from(("as is", "as is", "as is", "hostile", "missing", "twice")))
        if mode == "as is":
            pairs.append((name, value))
        elif mode == "hostile":
            pairs.append((name, draw(hostile("choice"))))
        elif mode == "twice":
            pairs += [(name, value), (name, draw(hostile("choice")))]
    for f in form.fields:
        valid, foreign = values[f.name]
        modes = ["valid", "valid", "hostile", "hostile", "missing", "twice"] + (["foreign"] * 2 if foreign else [])
        mode = draw(st.sampled_from(modes))
        if f.multi and mode == "valid":
            for v in draw(st.lists(st.sampled_from(valid), max_size=len(valid), unique=True)):
                pairs.append((f.name, v))
            continue
        if mode == "valid":
            pairs.append((f.name, draw(st.sampled_from(valid))))
        elif mode == "foreign":
            pairs.append((f.name, draw(st.sampled_from(foreign))))
        elif mode == "hostile":
            pairs.append((f.name, draw(hostile(f.kind))))
        elif mode == "twice":
            pairs += [(f.name, draw(st.sampled_from(valid))), (f.name, draw(hostile(f.kind)))]
    return pairs


def post(client: Any, url: str, pairs: list[tuple[str, str]], files: Collection[str] = ()) -> Any:
    """POST the pairs form-encoded, as a browser does (duplicates kept, order kept); multipart when the form has
    file fields (``files``: their names), each such value sent as the content of an uploaded file.

    Flash messages left by an earlier example's redirect are dropped first, so the messages read back are this
    response's own."""
    client.cookies.pop("messages", None)
    if not files:
        return client.post(url, data=urlencode(pairs), content_type="application/x-www-form-urlencoded")
    data: dict[str, list[Any]] = {}
    for name, value in pairs:
        item = SimpleUploadedFile(f"{name}.csv", value.encode("utf-8", "surrogatepass")) if name in files else value
        data.setdefault(name, []).append(item)
    return client.post(url, data=data)


# --- What the database holds ------------------------------------------------------------------------------------

WATCHED_APPS = (
    "cases", "funding", "delivery", "indicators", "targeting", "api", "accounts", "core", "caseload", "cohorts",
)  # fmt: skip
UNWATCHED = {"indicators.PracticeScore", "indicators.ScoringRun", "indicators.IndicatorValue"}


def watched_models() -> list[type[models.Model]]:
    return [
        m
        for label in WATCHED_APPS
        for m in apps.get_app_config(label).get_models()
        if m._meta.label not in UNWATCHED and m._meta.managed and not m._meta.proxy
    ]


def db_state() -> dict[str, int]:
    """Row counts of every table a form could write to (and the audit trail), in one query."""
    ms = watched_models()
    q = connection.ops.quote_name
    sql = "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {q(m._meta.db_table)})" for m in ms)
    with connection.cursor() as cur:
        cur.execute(sql)
        row = cur.fetchone()
    return {m._meta.label: n for m, n in zip(ms, row, strict=True)}


def changed(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in before if after[k] != before[k]}


# --- The oracle -------------------------------------------------------------------------------------------------

SUMMARY = re.compile(r'class="nhsuk-error-summary".*?</ul>', re.S)
ITEM = re.compile(r"<li>(.*?)</li>", re.S)
HREF = re.compile(r'href="#([^"]*)"')
TAG = re.compile(r"<[^>]+>")


@dataclass
class Outcome:
    accepted: bool
    status: int
    errors: list[str]


def _messages(response: Any) -> list[tuple[int, str]]:
    return [(m.level, str(m)) for m in get_messages(response.wsgi_request)]


def check_response(
    response: Any, before: dict[str, int], after: dict[str, int], since_audit_pk: int, refusal_status: int = 400
) -> Outcome:
    """Judge one response (see the module docstring); returns whether the form was accepted."""
    status = response.status_code
    if status == refusal_status == 200 and SUMMARY.search(response.content.decode()):
        status = 400  # a form that answers its errors with 200 (Django's sign-in page) is judged as a 400
    assert status < 500, f"server error {status}"
    diff = changed(before, after)
    if status in (403, 404, 405, 429):
        assert not diff, f"refused with {status} but the database changed: {diff}"
        return Outcome(False, status, [])
    if status == 400:
        body = response.content.decode()
        summary = SUMMARY.search(body)
        assert summary, "a 400 with no error summary: the user is not told what is wrong"
        items = [html.unescape(TAG.sub("", i)).strip() for i in ITEM.findall(summary.group(0))]
        assert items and all(items), f"empty error message in the summary: {items}"
        for anchor in HREF.findall(summary.group(0)):
            assert f'id="{anchor}"' in body, f"the error links to #{anchor}, which is not a field on the page"
        assert not diff, f"refused ({items}) but the database changed: {diff}"
        return Outcome(False, status, items)
    assert status in (200, 302), f"unexpected status {status}"
    msgs = _messages(response)
    errors = [text for level, text in msgs if level >= message_levels.ERROR]
    if errors:
        assert not diff, f"refused ({errors}) but the database changed: {diff}"
        return Outcome(False, status, errors)
    if status == 200 and SUMMARY.search(response.content.decode()):
        raise AssertionError("an error summary shown with status 200: a refused form answers 400")
    if diff:
        assert diff.get("core.AuditRecord", 0) > 0 or set(diff) <= UNAUDITED_WRITES, f"a write not audited: {diff}"
        check_lengths(since_audit_pk)
    return Outcome(True, status, [])


# Tables written without an audit record by design (see apps/core/audit.py EXEMPT and the targeting app).
UNAUDITED_WRITES = {"cases.Notification", "cases.NotificationSetting", "targeting.Scenario", "delivery.CalendarToken"}


# PostgreSQL's integer column ranges (SQLite stores any 64-bit integer, so the fuzz checks them itself).
PG_INT_RANGE = {
    "SmallIntegerField": (-(2**15), 2**15 - 1),
    "PositiveSmallIntegerField": (0, 2**15 - 1),
    "IntegerField": (-(2**31), 2**31 - 1),
    "PositiveIntegerField": (0, 2**31 - 1),
}


def check_lengths(since_audit_pk: int) -> None:
    """No text written is longer than its column (PostgreSQL would refuse the insert with a server error)."""
    for rec in AuditRecord.objects.filter(pk__gt=since_audit_pk):
        try:
            model = apps.get_model(rec.model)
        except (LookupError, ValueError):
            continue
        for name, change in (rec.changes or {}).items():
            try:
                f = model._meta.get_field(name)
            except Exception:  # a recorded name that is no longer a field
                continue
            after = change[-1] if isinstance(change, list) else change
            if isinstance(f, models.CharField) and f.max_length and isinstance(after, str):
                assert len(after) <= f.max_length, f"{rec.model}.{name}: {len(after)} characters > {f.max_length}"
            if isinstance(f, models.IntegerField) and isinstance(after, int) and not isinstance(after, bool):
                low, high = PG_INT_RANGE.get(f.get_internal_type(), (-(2**63), 2**63 - 1))
                assert low <= after <= high, f"{rec.model}.{name}: {after} is out of the column's range"
            if isinstance(after, str):
                assert "\x00" not in after, f"{rec.model}.{name}: a NUL character stored (PostgreSQL refuses it)"
