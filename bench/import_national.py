"""Benchmark: the full national import against (a) the floor — polars parsing the same files AND writing the same
rows with bare bulk inserts (``executemany``) in one transaction, no validation, no derived work — and (b) a naive
row-by-row Django ORM importer for epraccur and registrations — the baseline — all in one run, one process.

The floor's rows are exactly the ones the project's import wrote: the import runs once, every table it filled is read
back whole, the database is emptied, and the floor parses the files and inserts those rows again, timed.

Run: .venv/bin/python bench/import_national.py   (a throwaway SQLite file; DATABASE_URL=postgres://... for PostgreSQL)
Targets (issue 19 §6, issue 3): within 2x of the floor, >= 20x faster than the baseline, under 10 s in total; each
line prints MET or MISSED.

On a shared machine one run of each says more about the neighbours than about the import, so the import and the floor
run ``--rounds`` times each, alternately, and the fastest of each counts (as for the other benches); the CPU time of
each (this process's, which does all of the SQLite work) is printed beside it: it moves far less with the machine's
load than the wall time, and the ratio of CPU times is given as a second opinion.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB = Path(tempfile.mkdtemp(prefix="bench-import-")) / "bench.sqlite3"
os.environ.setdefault("DATABASE_URL", f"sqlite:///{DB}")
os.environ.setdefault("DJANGO_DEBUG", "true")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gpsupport.settings")

import django  # noqa: E402

django.setup()

import polars as pl  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from analytics.ingest.base import parse_date_any  # noqa: E402
from apps.datasets.loaders import refresh_register  # noqa: E402
from apps.datasets.registry import get_source, sources  # noqa: E402
from apps.datasets.services import import_dataset, import_sources  # noqa: E402
from apps.practices.models import ListSizeSnapshot, Practice  # noqa: E402

STATUS = {"A": "active", "C": "closed", "D": "dormant", "P": "proposed"}


def timed(fn):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def timed_cpu(fn):  # type: ignore[no-untyped-def]
    """(wall seconds, CPU seconds of this process, result)."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t, time.process_time() - c, out


def floor_read_all() -> int:
    """Polars reading every shipped file into frames: what any import must at least do."""
    rows = 0
    for s in sources():
        f = s.file
        if f.suffix == ".xlsx":
            for sheet in ("PCNDetails", "PCN Core Partner Details"):
                rows += pl.read_excel(f, sheet_name=sheet, engine="calamine").height
        elif s.id == "locations":
            # polars takes one-byte separators only: decode latin-1 and swap the ¬ for a unit separator
            text = f.read_bytes().decode("latin-1").replace("¬", "\x1f")
            rows += pl.read_csv(text.encode(), separator="\x1f", quote_char=None, infer_schema=False).height
        elif s.id == "epraccur":
            rows += pl.read_csv(f, has_header=False, infer_schema=False).height
        else:
            rows += pl.read_csv(f, infer_schema=False, encoding="utf8-lossy").height
    return rows


def full_import() -> None:
    for log in import_sources(sources(), force=True, refresh=False, with_history=False):
        assert log.status == "success", (log.dataset, log.message)
    with transaction.atomic():
        refresh_register()


def our_two() -> None:
    for sid in ("epraccur", "registrations"):
        log = import_dataset(get_source(sid), force=True)
        assert log.status == "success", log.message


def naive_two() -> None:
    """What a first attempt looks like: csv.reader, one update_or_create per row (in one transaction)."""
    with transaction.atomic():
        with open(get_source("epraccur").file, newline="", encoding="latin-1") as fh:
            for r in csv.reader(fh):
                if r[25] != "4" or r[0].startswith("W"):
                    continue
                Practice.objects.update_or_create(
                    code=r[0],
                    defaults={
                        "name": r[1],
                        "status": STATUS.get(r[12], "closed"),
                        "postcode": r[9],
                        "postcode_compact": r[9].replace(" ", ""),
                        "open_date": parse_date_any(r[10]),
                        "close_date": parse_date_any(r[11]),
                        "address": ", ".join(x for x in r[4:9] if x),
                        "phone": r[17],
                        "ods_region_code": r[2],
                        "ods_icb_code": r[3],
                        "ods_sub_icb_code": r[14],
                    },
                )
        with open(get_source("registrations").file, newline="", encoding="utf-8-sig") as fh:
            for row in csv.DictReader(fh):
                try:
                    practice = Practice.objects.get(code=row["CODE"])
                except Practice.DoesNotExist:
                    continue
                ListSizeSnapshot.objects.update_or_create(
                    practice=practice,
                    extract_date=parse_date_any(row["EXTRACT_DATE"]),
                    defaults={"patients": int(row["NUMBER_OF_PATIENTS"])},
                )


def reset() -> None:
    call_command("flush", interactive=False, verbosity=0)


def qn(name: str) -> str:
    return connection.ops.quote_name(name)


def table_counts() -> dict[str, int]:
    with connection.cursor() as cur:
        out = {}
        for table in connection.introspection.table_names(cur):
            cur.execute(f"SELECT COUNT(*) FROM {qn(table)}")  # noqa: S608 - names from the database's own catalogue
            out[table] = cur.fetchone()[0]
        return out


Written = list[tuple[str, list[str], list[tuple[object, ...]]]]


def rows_the_import_wrote(before: dict[str, int]) -> Written:
    """Every table the import added rows to, read back whole: (table, columns, rows)."""
    out: Written = []
    with connection.cursor() as cur:
        for table, n in table_counts().items():
            if n > before.get(table, 0):
                cur.execute(f"SELECT * FROM {qn(table)}")  # noqa: S608 - a catalogue name
                columns = [c[0] for c in cur.description]
                out.append((table, columns, [tuple(r) for r in cur.fetchall()]))
    return out


def floor_write(written: Written) -> int:
    """The same rows inserted bare: one ``executemany`` per table, one transaction, nothing checked. The database's
    foreign keys are deferred to commit, so table order does not matter."""
    n = 0
    with transaction.atomic(), connection.cursor() as cur:
        for table, columns, rows in written:
            # rows a post-migrate step put back after the flush; names from the catalogue, values as parameters
            cur.execute(f"DELETE FROM {qn(table)}")  # noqa: S608
            cols = ", ".join(qn(c) for c in columns)
            marks = ", ".join(["%s"] * len(columns))
            if connection.vendor == "postgresql":  # PostgreSQL's bare bulk insert is COPY, as the import's is
                with cur.cursor.copy(f"COPY {qn(table)} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cur.executemany(f"INSERT INTO {qn(table)} ({cols}) VALUES ({marks})", rows)  # noqa: S608
            n += len(rows)
    return n


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="runs of the import and of the floor (fastest counts)")
    parser.add_argument("--skip-naive", action="store_true", help="leave out the naive importer (77 s)")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    reset()
    empty = table_counts()
    ours: list[tuple[float, float]] = []
    floor: list[tuple[float, float, float, float]] = []  # parse wall, parse CPU, insert wall, insert CPU
    written: Written = []
    floor_rows = inserted = open_n = 0
    t_rerun = 0.0
    for n in range(max(1, args.rounds)):
        reset()
        wall, cpu, _ = timed_cpu(full_import)
        ours.append((wall, cpu))
        if n == 0:
            open_n = Practice.objects.filter(status="active").count()
            written = rows_the_import_wrote(empty)
            t_rerun, _ = timed(full_import)
        reset()
        p_wall, p_cpu, floor_rows = timed_cpu(floor_read_all)
        i_wall, i_cpu, inserted = timed_cpu(lambda rows=written: floor_write(rows))
        floor.append((p_wall, p_cpu, i_wall, i_cpu))
    t_full, c_full = min(ours)
    t_parse, c_parse, t_insert, c_insert = min(floor, key=lambda f: f[0] + f[2])
    t_floor, c_floor = t_parse + t_insert, c_parse + c_insert
    reset()
    t_ours2, _ = timed(our_two)
    t_naive2 = naive_n = 0
    if not args.skip_naive:
        reset()
        t_naive2, _ = timed(naive_two)
        naive_n = Practice.objects.count()
    ratio = t_full / t_floor
    print(f"database: {connection.vendor}; files: {len(sources())}, rows parsed: {floor_rows:,}; ", end="")
    print(f"rows written: {inserted:,} in {len(written)} tables; open English practices: {open_n:,}")
    print(f"fastest of {len(ours)} rounds each (wall; CPU of this process in brackets):")
    print(f"floor   parse every file (polars)                 {t_parse:7.2f} s  ({c_parse:5.2f} s CPU)")
    print(f"floor   bulk-insert the same rows, 1 transaction  {t_insert:7.2f} s  ({c_insert:5.2f} s CPU)")
    print(f"floor   total                                     {t_floor:7.2f} s  ({c_floor:5.2f} s CPU)")
    print(
        f"ours    full import, empty database               {t_full:7.2f} s  ({c_full:5.2f} s CPU)"
        f" = {ratio:5.2f}x the floor  (target <= 2x): {verdict(ratio <= 2)}"
    )
    print(f"        in CPU time: {c_full / c_floor:5.2f}x the floor")
    rounds = ", ".join(f"{o[0]:.2f} / {f[0] + f[2]:.2f}" for o, f in zip(ours, floor, strict=True))
    print(f"        every round, ours / floor (wall s): {rounds}")
    print(f"ours    full import in under 10 s (target < 10 s): {verdict(t_full < 10)}")
    print(f"ours    full re-import, nothing changes           {t_rerun:7.2f} s")
    print(f"ours    epraccur + registrations                  {t_ours2:7.2f} s")
    if not args.skip_naive:
        speed_up = t_naive2 / t_ours2
        print(f"naive   epraccur + registrations, ORM rows        {t_naive2:7.2f} s   ({naive_n:,} practices)")
        print(f"speed-up over the naive baseline: {speed_up:5.1f}x  (target >= 20x): {verdict(speed_up >= 20)}")


if __name__ == "__main__":
    main()
