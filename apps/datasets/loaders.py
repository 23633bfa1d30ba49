"""Load parsed national files into the register. One function per dataset, each taking a ``Parsed``.

Parsing and validation live in the Django-free ``analytics.ingest`` package; these functions only map the
canonical frames onto models through :func:`apps.datasets.upsert.upsert`. Rows that name a practice not in the
register (Welsh practices, non-GP settings, codes ODS does not know) are counted as skipped with that reason.
Which source owns which practice field is fixed, so a full re-run changes nothing:

* ``epraccur`` creates practices and owns name, status, dates, address and the raw ODS hierarchy codes;
* ``mapping`` owns the region/ICB/sub-ICB/PCN names and each listed practice's current links and supplier;
* ``locations`` owns coordinates; the rest add history tables, and :func:`refresh_register` derives the
  practice's latest list size, contract, rurality, dispensing and deprivation from them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import polars as pl
from django.db import connection
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from analytics.ingest.base import Parsed
from apps.datasets.upsert import Counts, canonical_json, upsert
from apps.practices import models as m


@dataclass
class LoadResult:
    counts: Counts = field(default_factory=Counts)
    skipped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def skip(self, reason: str, n: int) -> None:
        if n:
            self.skipped[reason] = self.skipped.get(reason, 0) + n


def _ids(model: Any, field_name: str = "code") -> dict[str, int]:
    return dict(model.objects.values_list(field_name, "id"))


def _cols(df: pl.DataFrame, cols: Sequence[str]) -> pl.DataFrame:
    """The columns ``cols`` in that order, for :func:`upsert` (which matches them by position, so one column may be
    given twice)."""
    return df.select(pl.col(c).alias(f"{i}:{c}") for i, c in enumerate(cols))


def _with_practice_ids(df: pl.DataFrame, result: LoadResult, code_col: str = "practice_code") -> pl.DataFrame:
    """Swap the ODS code for the register's id; rows for practices not in the register are skipped."""
    # Read with a plain cursor: two plain columns, and eight loaders ask for all ~8,000 practices.
    table = connection.ops.quote_name(m.Practice._meta.db_table)
    with connection.cursor() as cur:
        cur.execute(f"SELECT code, id FROM {table}")  # noqa: S608 - the model's own table name, quoted
        ids = pl.DataFrame(cur.fetchall(), schema={code_col: pl.Utf8, "practice_id": pl.Int64}, orient="row")
    joined = df.join(ids, on=code_col, how="left")
    missing = joined.filter(pl.col("practice_id").is_null())
    welsh = missing.filter(pl.col(code_col).str.starts_with("W")).height
    result.skip("Welsh practice (outside the English programmes)", welsh)
    result.skip("practice code not in the register (not an English GP practice in ODS)", missing.height - welsh)
    return joined.filter(pl.col("practice_id").is_not_null())


def load_epraccur(parsed: Parsed) -> LoadResult:
    result = LoadResult()
    df = parsed.frame
    result.skip("Welsh practice (outside the English programmes)", df.filter(~pl.col("is_english")).height)
    result.skip(
        "not a GP practice (other prescribing setting)",
        df.filter(pl.col("is_english") & ~pl.col("is_gp_practice")).height,
    )
    df = df.filter(pl.col("is_english") & pl.col("is_gp_practice"))
    address = pl.concat_str(
        [pl.col(f"address_{i}") for i in range(1, 6)], separator=", ", ignore_nulls=True
    ).str.replace_all(r"(, )+", ", ")
    df = df.with_columns(
        address=address.fill_null(""),
        postcode=pl.col("postcode").fill_null(""),
        postcode_compact=pl.col("postcode").fill_null("").str.replace_all(" ", ""),
        phone=pl.col("phone").fill_null(""),
        region_code=pl.col("region_code").fill_null(""),
        icb_code=pl.col("icb_code").fill_null(""),
        sub_icb_code=pl.col("sub_icb_code").fill_null(""),
    )
    cols = [
        "code",
        "name",
        "status",
        "open_date",
        "close_date",
        "address",
        "postcode",
        "postcode_compact",
        "phone",
        "region_code",
        "icb_code",
        "sub_icb_code",
    ]
    fields = [
        "name",
        "status",
        "open_date",
        "close_date",
        "address",
        "postcode",
        "postcode_compact",
        "phone",
        "ods_region_code",
        "ods_icb_code",
        "ods_sub_icb_code",
    ]
    result.counts = upsert(m.Practice, ["code"], fields, _cols(df, cols))
    open_n = df.filter(pl.col("status") == "active").height
    result.notes.append(f"{df.height:,} English GP practices in ODS, {open_n:,} open")
    return result


def load_mapping(parsed: Parsed) -> LoadResult:
    result = LoadResult()
    df = parsed.frame
    regions = df.unique("region_code", keep="first", maintain_order=True)
    c = upsert(
        m.Region, ["code"], ["ons_code", "name"], _cols(regions, ["region_code", "ons_region_code", "region_name"])
    )
    region_ids = _ids(m.Region)
    icbs = df.unique("icb_code", keep="first", maintain_order=True).with_columns(
        region_id=pl.col("region_code").replace_strict(region_ids, default=None, return_dtype=pl.Int64)
    )
    c += upsert(
        m.ICB,
        ["code"],
        ["ons_code", "name", "region_id"],
        _cols(icbs, ["icb_code", "ons_icb_code", "icb_name", "region_id"]),
    )
    icb_ids = _ids(m.ICB)
    subs = df.unique("sub_icb_code", keep="first", maintain_order=True).with_columns(
        icb_id=pl.col("icb_code").replace_strict(icb_ids, default=None, return_dtype=pl.Int64)
    )
    c += upsert(
        m.SubICB,
        ["code"],
        ["ons_code", "name", "icb_id"],
        _cols(subs, ["sub_icb_code", "ons_sub_icb_code", "sub_icb_name", "icb_id"]),
    )
    sub_ids = _ids(m.SubICB)
    pcns = (
        df.filter(pl.col("pcn_code").is_not_null())
        .unique("pcn_code", keep="first", maintain_order=True)
        .with_columns(sub_icb_id=pl.col("sub_icb_code").replace_strict(sub_ids, default=None, return_dtype=pl.Int64))
    )
    c += upsert(m.PCN, ["code"], ["name", "sub_icb_id"], _cols(pcns, ["pcn_code", "pcn_name", "sub_icb_id"]))
    pcn_ids = _ids(m.PCN)
    practices = df.with_columns(
        region_id=pl.col("region_code").replace_strict(region_ids, default=None, return_dtype=pl.Int64),
        icb_id=pl.col("icb_code").replace_strict(icb_ids, default=None, return_dtype=pl.Int64),
        sub_icb_id=pl.col("sub_icb_code").replace_strict(sub_ids, default=None, return_dtype=pl.Int64),
        pcn_id=pl.col("pcn_code").replace_strict(pcn_ids, default=None, return_dtype=pl.Int64),
        supplier=pl.col("supplier").fill_null(""),
    )
    pc = upsert(
        m.Practice,
        ["code"],
        ["region_id", "icb_id", "sub_icb_id", "pcn_id", "supplier"],
        _cols(practices, ["practice_code", "region_id", "icb_id", "sub_icb_id", "pcn_id", "supplier"]),
        update_only=True,
    )
    result.skip("practice code not in the register (not an English GP practice in ODS)", pc.not_found)
    c += pc
    result.counts = c
    result.notes.append(
        f"{regions.height} regions, {icbs.height} ICBs, {subs.height} sub-ICB locations, {pcns.height} PCNs"
    )
    return result


def load_epcn(parsed: Parsed) -> LoadResult:
    result = LoadResult()
    pcns = parsed.frames["pcns"]
    sub_ids = _ids(m.SubICB)
    pcns = pcns.with_columns(
        sub_icb_id=pl.col("sub_icb_code").replace_strict(sub_ids, default=None, return_dtype=pl.Int64),
        address=pl.col("address").fill_null(""),
        postcode=pl.col("postcode").fill_null(""),
    )
    # The current mapping file owns PCN names and sub-ICB links; ePCN adds dates, addresses, and closed PCNs.
    c = upsert(
        m.PCN,
        ["code"],
        ["open_date", "close_date", "address", "postcode"],
        _cols(pcns, ["pcn_code", "open_date", "close_date", "address", "postcode", "pcn_name", "sub_icb_id"]),
        create_fields=["name", "sub_icb_id"],
    )
    pcn_ids = _ids(m.PCN)
    mem = _with_practice_ids(parsed.frames["memberships"], result).with_columns(
        pcn_id=pl.col("pcn_code").replace_strict(pcn_ids, default=None, return_dtype=pl.Int64)
    )
    result.skip("PCN code not in the PCN list", mem.filter(pl.col("pcn_id").is_null()).height)
    mem = mem.filter(pl.col("pcn_id").is_not_null())
    c += upsert(
        m.PCNMembership,
        ["practice_id", "pcn_id", "start_date"],
        ["end_date"],
        _cols(mem, ["practice_id", "pcn_id", "start_date", "end_date"]),
    )
    result.counts = c
    return result


def load_registrations(parsed: Parsed) -> LoadResult:
    result = LoadResult()
    df = _with_practice_ids(parsed.frame, result, code_col="code")
    result.counts = upsert(
        m.ListSizeSnapshot,
        ["practice_id", "extract_date"],
        ["patients"],
        _cols(df, ["practice_id", "extract_date", "patients"]),
    )
    result.notes.append(f"{df['patients'].sum():,} registered patients at English practices")
    return result


def load_locations(parsed: Parsed) -> LoadResult:
    result = LoadResult()
    df = parsed.frame.filter(pl.col("lat").is_not_null() & pl.col("lon").is_not_null())
    result.skip("no coordinates", parsed.frame.height - df.height)
    c = upsert(m.Practice, ["code"], ["lat", "lon"], _cols(df, ["code", "lat", "lon"]), update_only=True)
    # nhs.uk lists other GP-type services (Y… codes, branch surgeries); they are not register practices.
    result.skip("organisation not in the register (other GP-type service or Welsh practice)", c.not_found)
    result.counts = c
    return result


def load_payments(parsed: Parsed) -> LoadResult:
    result = LoadResult()
    df = _with_practice_ids(parsed.frames["rows"], result).join(
        _lines_json(parsed.frames["lines"]), on="practice_code", how="left"
    )
    df = df.with_columns(
        contract_type=pl.col("contract_type").fill_null(""),
        rurality=pl.col("rurality").fill_null(""),
        atypical=pl.col("atypical").fill_null(""),
        financial_year=pl.lit(parsed.period),
        total_pence=pl.col("total_payments_pence"),
        lines_pence=pl.col("lines_pence").fill_null(canonical_json({})),
    )
    keys = ["practice_id", "financial_year"]
    fields = [*PAYMENTS_FIELDS, "lines_pence"]
    result.counts = upsert(
        m.PaymentsYear, keys, fields, _cols(df, [*keys, *fields]), scope={"financial_year": parsed.period}
    )
    return result


PAYMENTS_FIELDS = (
    "registered_patients",
    "weighted_patients",
    "total_pence",
    "contract_type",
    "rurality",
    "dispensing",
    "atypical",
)


def _lines_json(lines: pl.DataFrame) -> pl.DataFrame:
    """Each practice's payment lines (``practice_code``, ``line``, ``amount_pence``) as one JSON object per practice,
    written as :func:`~apps.datasets.upsert.canonical_json` writes it (keys sorted, ``json.dumps`` separators), built
    in polars: only the few dozen distinct line names go through ``json.dumps``, for their quoting."""
    quoted = {name: canonical_json(name) for name in lines.get_column("line").unique().to_list()}
    pair = pl.concat_str(
        pl.col("line").replace_strict(quoted, return_dtype=pl.String),
        pl.lit(": "),
        pl.col("amount_pence").cast(pl.String),
    )
    return (
        lines.sort("practice_code", "line")
        .group_by("practice_code", maintain_order=True)
        .agg(pair.str.join(", ").alias("pairs"))
        .select("practice_code", pl.concat_str(pl.lit("{"), pl.col("pairs"), pl.lit("}")).alias("lines_pence"))
    )


def load_workforce(parsed: Parsed) -> LoadResult:
    """Each layout writes only the measures it carries (``meta["measures"]``): the two history files fill different
    columns of the same practice-years, and neither may blank what the other loaded."""
    result = LoadResult()
    df = _with_practice_ids(parsed.frame, result).with_columns(
        gp_partner_fte=pl.when(pl.col("gp_senior_partner_fte").is_null() & pl.col("gp_partner_provider_fte").is_null())
        .then(None)
        .otherwise(pl.col("gp_senior_partner_fte").fill_null(0) + pl.col("gp_partner_provider_fte").fill_null(0))
    )
    present = set(cast(list[str], parsed.meta.get("measures", [])))
    if {"gp_senior_partner_fte", "gp_partner_provider_fte"} & present:
        present.add("gp_partner_fte")
    fields = [f for f in WORKFORCE_FIELDS if f in present]
    result.counts = upsert(
        m.WorkforceYear, ["practice_id", "fy_end_year"], fields, _cols(df, ["practice_id", "fy_end_year", *fields])
    )
    return result


WORKFORCE_FIELDS = (
    "patients",
    "gp_fte",
    "locum_trainee_fte",
    "nurse_fte",
    "dpc_fte",
    "admin_fte",
    "admin_manager_fte",
    "admin_reception_fte",
    "admin_telephonist_fte",
    "gp_partner_fte",
    "partners_per_gp_fte",
    "gp_hc",
    "nurse_hc",
    "imd_score",
    "imd_quintile",
)


def load_cqc(parsed: Parsed) -> LoadResult:
    result = LoadResult()
    df = _with_practice_ids(parsed.frame, result).with_columns(as_of=pl.lit(parsed.period))
    result.counts = upsert(
        m.CQCRating,
        ["practice_id", "location_name"],
        ["rating", "rating_year", "inherited", "as_of"],
        _cols(df, ["practice_id", "location_name", "rating", "rating_year", "inherited", "as_of"]),
    )
    return result


def load_qof(parsed: Parsed) -> LoadResult:
    result = LoadResult()
    df = _with_practice_ids(parsed.frame, result).with_columns(qof_year=pl.lit(parsed.period))
    result.counts = upsert(
        m.QOFAchievement,
        ["practice_id", "qof_year"],
        ["points", "max_points", "percent_of_max", "list_size"],
        _cols(df, ["practice_id", "qof_year", "points", "max_points", "percent_of_max", "list_size"]),
        scope={"qof_year": parsed.period},
    )
    return result


def load_qof_prevalence(parsed: Parsed) -> LoadResult:
    result = LoadResult()
    groups = parsed.frames["groups"]
    c = upsert(
        m.QOFGroup,
        ["code"],
        ["description", "domain_code", "domain_description"],
        _cols(groups, ["group_code", "group_description", "domain_code", "domain_description"]),
    )
    df = _with_practice_ids(parsed.frames["rows"], result).with_columns(qof_year=pl.lit(parsed.period))
    c += upsert(
        m.QOFPrevalence,
        ["practice_id", "qof_year", "group_code"],
        ["register", "list_type", "list_size"],
        _cols(df, ["practice_id", "qof_year", "group_code", "register", "list_type", "list_size"]),
        scope={"qof_year": parsed.period},
    )
    result.counts = c
    return result


def load_lsoa11_ccg(parsed: Parsed) -> LoadResult:
    df = parsed.frame.with_columns(pl.col("lad_code").fill_null(""), pl.col("lad_name").fill_null(""))
    c = upsert(
        m.Lsoa2011,
        ["code"],
        ["sub_icb_code", "lad_code", "lad_name"],
        _cols(df, ["lsoa_code", "sub_icb_code", "lad_code", "lad_name", "lsoa_name"]),
        create_fields=["name"],
    )
    return LoadResult(counts=c)


def load_lsoa11_centroids(parsed: Parsed) -> LoadResult:
    # The centroid file owns names and points (it covers Wales too); the CCG lookup owns the geography codes.
    c = upsert(
        m.Lsoa2011,
        ["code"],
        ["name", "lat", "lon"],
        _cols(parsed.frame, ["lsoa_code", "lsoa_name", "lat", "lon"]),
    )
    return LoadResult(counts=c)


def load_lsoa21_icb(parsed: Parsed) -> LoadResult:
    c = upsert(
        m.Lsoa2021,
        ["code"],
        ["name", "icb_ons_code", "icb_name"],
        _cols(parsed.frame, ["lsoa_code", "lsoa_name", "icb_ons_code", "icb_name"]),
    )
    return LoadResult(counts=c)


def _replace_codes(model: Any, key: str, keep: list[str], result: LoadResult, what: str) -> None:
    """The file is the whole table: rows whose code it no longer lists are removed (a revised compilation that drops a
    link must not leave it in force), and the log says how many."""
    stale = sorted(set(model.objects.values_list(key, flat=True)) - set(keep))
    gone = 0
    for i in range(0, len(stale), 500):  # a few hundred parameters at a time, whatever the database's limit
        gone += model.objects.filter(**{f"{key}__in": stale[i : i + 500]}).delete()[0]
    if gone:
        result.notes.append(f"{gone:,} {what} no longer in the file removed")


def load_lineage(parsed: Parsed) -> LoadResult:
    """Merger links, keyed by the absorbed code. Codes, not register ids: the lineage reaches back before ODS."""
    result = LoadResult()
    df = parsed.frame
    result.counts = upsert(
        m.PracticeLineage,
        ["predecessor_code"],
        ["successor_code", "absorbed"],
        _cols(df, ["predecessor", "successor", "absorbed"]),
    )
    _replace_codes(m.PracticeLineage, "predecessor_code", df.get_column("predecessor").to_list(), result, "link(s)")
    result.notes.append(f"{df.height:,} absorbed practice codes into {df.get_column('successor').n_unique():,}")
    return result


def load_closure_labels(parsed: Parsed) -> LoadResult:
    """Closure-or-merger labels (evaluation only), keyed by practice code."""
    result = LoadResult()
    df = parsed.frame
    result.counts = upsert(m.DisappearanceLabel, ["practice_code"], ["outcome"], _cols(df, ["practice_code", "label"]))
    _replace_codes(m.DisappearanceLabel, "practice_code", df.get_column("practice_code").to_list(), result, "label(s)")
    closures = df.filter(pl.col("label") == m.DisappearanceLabel.Outcome.CLOSURE).height
    result.notes.append(f"{closures:,} true closures and {df.height - closures:,} mergers labelled")
    return result


LOADERS: dict[str, Callable[[Parsed], LoadResult]] = {
    "epraccur": load_epraccur,
    "mapping": load_mapping,
    "epcn": load_epcn,
    "registrations": load_registrations,
    "locations": load_locations,
    "payments": load_payments,
    "workforce": load_workforce,
    "cqc": load_cqc,
    "qof": load_qof,
    "qof_prevalence": load_qof_prevalence,
    "lsoa11_ccg": load_lsoa11_ccg,
    "lsoa11_centroids": load_lsoa11_centroids,
    "lsoa21_icb": load_lsoa21_icb,
    "lineage": load_lineage,
    "closure_labels": load_closure_labels,
}


def refresh_register() -> None:
    """Derive each practice's headline fields from the history tables. Deterministic, so safe to repeat.

    Hierarchy links come from the current mapping file; practices it does not list (closed ones, mostly) are
    linked by the codes ODS gives them, where those codes still exist.
    """
    P = m.Practice.objects
    for fk, model, raw in (
        ("region", m.Region, "ods_region_code"),
        ("icb", m.ICB, "ods_icb_code"),
        ("sub_icb", m.SubICB, "ods_sub_icb_code"),
    ):
        P.filter(**{f"{fk}__isnull": True}).update(
            **{f"{fk}_id": Subquery(model.objects.filter(code=OuterRef(raw)).values("id")[:1])}
        )
    latest_list = m.ListSizeSnapshot.objects.filter(practice=OuterRef("pk")).order_by("-extract_date")
    latest_pay = m.PaymentsYear.objects.filter(practice=OuterRef("pk")).order_by("-financial_year")
    latest_imd = m.WorkforceYear.objects.filter(
        practice=OuterRef("pk"), imd_score__isnull=False, imd_quintile__isnull=False
    ).order_by("-fy_end_year")
    # One UPDATE for every derived field: each pass rewrites every practice row.
    P.update(
        list_size=Subquery(latest_list.values("patients")[:1]),
        list_size_date=Subquery(latest_list.values("extract_date")[:1]),
        contract_type=Coalesce(Subquery(latest_pay.exclude(contract_type="").values("contract_type")[:1]), Value("")),
        rurality=Coalesce(Subquery(latest_pay.exclude(rurality="").values("rurality")[:1]), Value("")),
        dispensing=Subquery(latest_pay.values("dispensing")[:1]),
        imd_score=Subquery(latest_imd.values("imd_score")[:1]),
        imd_quintile=Subquery(latest_imd.values("imd_quintile")[:1]),
    )
