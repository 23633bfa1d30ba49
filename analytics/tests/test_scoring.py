"""Scoring: as-of rules on a small synthetic country, percentile/composite arithmetic, hypothesis ranges,
missing data, explanations, and as-of invariance on the real national files."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.indicators.definition import Flag, IndicatorDefinition, load_definitions
from analytics.national import NATIONAL_DIR, NationalData, load_national
from analytics.scoring import (
    CONTRIB_SUFFIX,
    ICB_PCT_SUFFIX,
    INDICATORS,
    PCT_SUFFIX,
    explain,
    explain_all,
    indicator_values,
    score,
)

# ---------------------------------------------------------------------------------------------------------------------
# A small synthetic country
# ---------------------------------------------------------------------------------------------------------------------

WF_COLUMNS = (
    "patients",
    "gp_fte",
    "gp_hc",
    "locum_trainee_fte",
    "nurse_fte",
    "dpc_fte",
    "partners_per_gp_fte",
    "imd_score",
)


def wf_row(code: str, year: int, **v: float | None) -> dict[str, object]:
    base: dict[str, object] = {
        "practice_code": code,
        "fy_end_year": year,
        "patients": 6000.0,
        "gp_fte": 3.0,
        "gp_hc": 4.0,
        "locum_trainee_fte": 1.0,
        "nurse_fte": 1.0,
        "dpc_fte": 1.0,
        "partners_per_gp_fte": 0.5,
        "imd_score": 20.0,
    }
    base.update(v)
    return base


def synthetic() -> NationalData:
    """Four practices: A (big, healthy), B (small, single-handed), C (closed 2024), D (opened 2024)."""
    practices = pl.DataFrame(
        {
            "practice_code": ["A00001", "B00002", "C00003", "D00004"],
            "practice_name": ["A", "B", "C", "D"],
            "open_date": [date(1974, 4, 1), date(1990, 1, 1), date(1980, 1, 1), date(2024, 1, 1)],
            "close_date": [None, None, date(2024, 6, 30), None],
            "status": ["active", "active", "closed", "active"],
            "icb_code": ["QAA", "QAA", "QBB", "QBB"],
            "sub_icb_code": ["01A", "01A", "02B", "02B"],
            "postcode": ["A1 1AA", "B1 1BB", "C1 1CC", "D1 1DD"],
        },
        schema_overrides={"close_date": pl.Date},
    )
    workforce = pl.DataFrame(
        [
            wf_row("A00001", 2023, patients=12000.0, gp_fte=6.0, gp_hc=8.0),
            wf_row("A00001", 2024, patients=12500.0, gp_fte=4.5, gp_hc=6.0),
            wf_row("B00002", 2023, patients=2000.0, gp_fte=1.0, gp_hc=1.0, locum_trainee_fte=0.0, imd_score=45.0),
            wf_row("B00002", 2024, patients=1900.0, gp_fte=0.0, gp_hc=1.0, locum_trainee_fte=0.0, imd_score=45.0),
            wf_row("C00003", 2023, patients=3000.0, gp_fte=2.0, nurse_fte=None),
            wf_row("D00004", 2025, patients=5000.0, gp_fte=2.5),
        ]
    )
    qof = pl.DataFrame(
        {
            "practice_code": ["A00001", "B00002", "C00003"],
            "list_size": [12100, 1950, 3000],
            "percent_of_max": [97.5, 82.1, 90.0],
        }
    )
    qof_list = pl.DataFrame({"practice_code": ["A00001", "B00002", "C00003"], "list_size": [11000, 2100, 3100]})
    payments = pl.DataFrame(
        {
            "practice_code": ["A00001", "B00002", "C00003"],
            "registered_patients": [12050.0, 2000.0, 3050.0],
            "payments_per_weighted_patient": [150.0, 130.0, 140.0],
            "rurality": ["Urban", "Rural", "Urban"],
            "atypical": [None, None, "Part year of data"],
        }
    )
    cqc = pl.DataFrame(
        {
            "practice_code": ["A00001", "A00001", "B00002", "C00003"],
            "rating": ["Good", "Requires improvement", "Inadequate", "Good"],
            "rating_year": [2016, 2019, 2023, 2018],
        }
    )
    registrations = pl.DataFrame(
        {
            "code": ["A00001", "B00002", "D00004"],
            "extract_date": [date(2025, 4, 1)] * 3,
            "patients": [13000, 1800, 5200],
        }
    )
    return NationalData(
        practices=practices,
        workforce=workforce,
        qof=qof,
        qof_period="2022-23",
        qof_list=qof_list,
        qof_list_period="2020-21",
        payments=payments,
        payments_period="2022-23",
        cqc=cqc,
        registrations=registrations,
    )


def row(values: pl.DataFrame, code: str) -> dict[str, object]:
    return values.filter(pl.col("practice_code") == code).row(0, named=True)


def test_universe_is_practices_open_on_the_date() -> None:
    data = synthetic()
    assert indicator_values(data, date(2023, 4, 1))["practice_code"].to_list() == ["A00001", "B00002", "C00003"]
    assert indicator_values(data, date(2024, 6, 30))["practice_code"].to_list() == ["A00001", "B00002", "D00004"]
    assert indicator_values(data, date(2024, 6, 29))["practice_code"].to_list() == [
        "A00001",
        "B00002",
        "C00003",
        "D00004",
    ]


def test_nothing_is_usable_before_the_first_periods_end() -> None:
    v = indicator_values(synthetic(), date(2023, 3, 30))
    a = row(v, "A00001")
    for ident in ("patients_per_gp_fte", "gp_fte", "qof_achievement", "payments_per_weighted_patient", "list_size"):
        assert a[ident] is None, ident
        assert a[ident + "__period"] is None, ident
    assert a["list_growth"] is None  # the earlier list exists, but no later one is usable yet
    assert a["cqc_rating"] == 2.0  # published 2019 < 2023: worst of the practice's two locations
    assert a["deprivation_imd"] is None  # read only from usable workforce years, like everything else


def test_values_on_the_back_test_date() -> None:
    v = indicator_values(synthetic(), date(2023, 4, 1))
    assert "close_date" not in v.columns and "atypical" not in v.columns
    a, b, c = row(v, "A00001"), row(v, "B00002"), row(v, "C00003")
    assert a["patients_per_gp_fte"] == pytest.approx(2000.0)
    assert a["patients_per_clinical_fte"] == pytest.approx(12000.0 / 9.0)
    assert a["locum_trainee_share"] == pytest.approx(100.0 / 7.0)
    assert a["patients_per_gp_fte__period"] == "workforce FY 2022-23 (mean)"
    assert a["gp_fte_change_yoy"] is None  # no FY 2021-22 in the file
    assert a["list_size"] == 12100.0 and a["list_size__period"] == "QOF 2022-23 (list at 1 Jan 2023)"
    assert a["list_growth"] == pytest.approx(((12100 / 11000) ** (1 / (730 / 365.25)) - 1) * 100)
    assert a["list_change_in_year"] == pytest.approx((12100 / 12050 - 1) * 100)
    assert a["qof_achievement"] == 97.5 and a["qof_achievement__period"] == "QOF 2022-23"
    assert a["rurality"] == 0.0 and b["rurality"] == 1.0
    assert b["small_practice"] == 1.0
    assert b["cqc_rating"] is None  # published 2023: not before the as-of year
    assert c["patients_per_clinical_fte"] is None  # a missing component stays missing, never 0
    assert c["patients_per_gp_fte"] == pytest.approx(1500.0)


def test_later_years_and_registrations() -> None:
    v = indicator_values(synthetic(), date(2024, 4, 1))
    a, b = row(v, "A00001"), row(v, "B00002")
    assert a["gp_fte_change_yoy"] == pytest.approx(-25.0)
    assert a["gp_fte_change_yoy__period"] == "workforce FY 2022-23 to 2023-24"
    assert b["patients_per_gp_fte"] is None  # 0 GP FTE: undefined, not infinite
    assert b["cqc_rating"] == 3.0  # published 2023 < 2024
    later = indicator_values(synthetic(), date(2025, 4, 1))
    a = row(later, "A00001")
    assert a["list_size"] == 13000.0 and a["list_size__period"] == "registrations 2025-04-01"
    years = (date(2025, 4, 1) - date(2021, 1, 1)).days / 365.25
    assert a["list_growth"] == pytest.approx(((13000 / 11000) ** (1 / years) - 1) * 100)
    d = row(later, "D00004")
    assert d["gp_fte"] == 2.5 and d["list_growth"] is None  # no earlier list: missing, not 0


# ---------------------------------------------------------------------------------------------------------------------
# Score arithmetic
# ---------------------------------------------------------------------------------------------------------------------


def definition(ident: str, weight: float = 1.0, direction: str = "high_is_worse", **kw: object) -> IndicatorDefinition:
    return IndicatorDefinition(
        id=ident,
        title=kw.pop("title", ident.title()),  # type: ignore[arg-type]
        measures="m",
        numerator="n",
        denominator="d",
        source_columns=("x.y",),
        unit=kw.pop("unit", "score"),  # type: ignore[arg-type]
        direction=direction,  # type: ignore[arg-type]
        group="demand",
        dataset="x",
        period="p",
        rationale="r",
        weight=weight,
        **kw,  # type: ignore[arg-type]
    )


def frame(icb: Sequence[str | None], **cols: Sequence[float | None]) -> pl.DataFrame:
    n = len(icb)
    data: dict[str, object] = {"practice_code": [f"P{i:05d}" for i in range(n)], "icb_code": list(icb)}
    data.update({k: pl.Series(k, list(v), dtype=pl.Float64) for k, v in cols.items()})
    return pl.DataFrame(data)


def test_percentiles_orientation_and_ties() -> None:
    v = frame(["Q1"] * 4, a=[1.0, 2.0, 3.0, None], b=[1.0, 1.0, 2.0, 5.0])
    s = score(v, [definition("a"), definition("b", direction="low_is_worse")]).frame
    assert s["a" + PCT_SUFFIX].to_list() == [0.0, 50.0, 100.0, None]
    # low_is_worse: the smallest values are the most pressure; the tied pair shares its average rank.
    assert s["b" + PCT_SUFFIX].to_list() == pytest.approx([250 / 3, 250 / 3, 100 / 3, 0.0])


def test_composite_renormalises_over_present_weight() -> None:
    v = frame(["Q1", "Q1", "Q2"], a=[1.0, 3.0, None], b=[10.0, 30.0, 20.0])
    s = score(v, [definition("a", weight=1.0), definition("b", weight=3.0)]).frame
    first, second, third = s.rows(named=True)
    assert first["composite"] == pytest.approx(0.0) and first["coverage"] == 1.0
    assert second["composite"] == pytest.approx(100.0) and second["rank"] == 1
    # Practice 3 lacks "a": its composite is b's percentile alone, with coverage 3/4 — not a 0 for "a".
    assert third["a" + CONTRIB_SUFFIX] is None
    assert third["composite"] == pytest.approx(third["b" + PCT_SUFFIX]) == pytest.approx(50.0)
    assert third["coverage"] == pytest.approx(0.75)
    assert third["b" + ICB_PCT_SUFFIX] == 50.0  # alone in its ICB


def test_no_data_means_no_composite() -> None:
    v = frame(["Q1", "Q1"], a=[None, 2.0])
    s = score(v, [definition("a")]).frame
    assert s["composite"].to_list()[0] is None
    assert s["rank"].to_list() == [None, 1]
    assert s["coverage"].to_list() == [0.0, 1.0]


def test_low_coverage_gets_a_composite_but_no_rank() -> None:
    v = frame(["Q1", "Q1", "Q1"], a=[1.0, 2.0, 3.0], b=[10.0, None, 30.0])
    defs = [definition("a", weight=1.0), definition("b", weight=3.0)]
    s = score(v, defs).frame
    assert s["coverage"].to_list() == [1.0, 0.25, 1.0]
    assert s["composite"].null_count() == 0
    assert s["rank"].to_list() == [2, None, 1]
    assert score(v, defs, min_coverage=0.0).frame["rank"].to_list() == [3, 2, 1]


def test_flags_and_weight_zero_indicator() -> None:
    flag = Flag(op="<", value=85.0, label="QOF achievement under 85%")
    defs = [definition("q", direction="low_is_worse", flag=flag, unit="%"), definition("z", weight=0.0)]
    v = frame(["Q1", "Q1", "Q1"], q=[82.1, 90.0, None], z=[1.0, 2.0, 3.0])
    s = score(v, defs).frame
    assert s["flags"].to_list() == [["QOF achievement under 85%"], [], []]
    assert s["flag_count"].to_list() == [1, 0, 0]
    assert s["z" + CONTRIB_SUFFIX].to_list() == [0.0, 0.0, None]  # shown, not scored
    assert s["composite"].to_list()[2] is None  # only the weight-0 indicator is present


def test_missing_columns_are_an_error() -> None:
    with pytest.raises(KeyError, match="nope"):
        score(frame(["Q1"], a=[1.0]), [definition("nope")])


values_strategy = st.lists(
    st.one_of(st.none(), st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)), min_size=1, max_size=25
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    n_ind=st.integers(min_value=1, max_value=4),
    n=st.integers(min_value=1, max_value=25),
)
def test_scores_stay_in_range(data: st.DataObject, n_ind: int, n: int) -> None:
    icb = data.draw(st.lists(st.sampled_from(["Q1", "Q2", "Q3", None]), min_size=n, max_size=n))
    weights = data.draw(st.lists(st.floats(min_value=0, max_value=5), min_size=n_ind, max_size=n_ind))
    directions = data.draw(st.lists(st.sampled_from(["high_is_worse", "low_is_worse"]), min_size=n_ind, max_size=n_ind))
    cols = {
        f"i{j}": data.draw(
            st.lists(
                st.one_of(st.none(), st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)),
                min_size=n,
                max_size=n,
            )
        )
        for j in range(n_ind)
    }
    defs = [definition(f"i{j}", weight=weights[j], direction=directions[j]) for j in range(n_ind)]
    s = score(frame(icb, **cols), defs).frame
    for d in defs:
        for suffix in (PCT_SUFFIX, ICB_PCT_SUFFIX):
            pcts = s[d.id + suffix].to_list()
            assert all(p is None or 0.0 <= p <= 100.0 for p in pcts)
            # missing stays missing: no percentile where there is no value
            assert [p is None for p in pcts] == [v is None for v in cols[d.id]]
    for r in s.rows(named=True):
        comp = r["composite"]
        assert comp is None or 0.0 <= comp <= 100.0
        assert r["coverage"] is None or 0.0 <= r["coverage"] <= 1.0 + 1e-12
        contribs = [r[d.id + CONTRIB_SUFFIX] for d in defs]
        if comp is not None:
            assert math.isclose(sum(c for c in contribs if c is not None), comp, abs_tol=1e-6)
        assert r["flag_count"] == len(r["flags"])


# ---------------------------------------------------------------------------------------------------------------------
# Explanations
# ---------------------------------------------------------------------------------------------------------------------


def test_explanations_on_synthetic_country() -> None:
    defs = load_definitions()
    scored = score(indicator_values(synthetic(), date(2023, 4, 1)), defs)
    b = {e.indicator_id: e for e in explain(scored, "B00002")}
    assert len(b) == len(defs)
    qof = b["qof_achievement"]
    assert qof.flagged and qof.flag_label == "QOF achievement under 85%"
    assert qof.sentence.startswith("QOF achievement 82.1% — below the 85% criterion; lowest ")
    assert qof.period == "QOF 2022-23" and qof.unit == "%"
    cqc = b["cqc_rating"]
    assert cqc.missing and cqc.value is None and cqc.national_percentile is None and cqc.contribution is None
    assert cqc.sentence == "CQC rating: missing (no rating published before 2023-04-01)"
    yoy = b["gp_fte_change_yoy"]
    assert yoy.sentence == (
        "GP FTE change on the year: missing (no workforce data for a period ending on or before 2023-04-01)"
    )
    a = {e.indicator_id: e for e in explain(scored, "A00001")}
    assert a["cqc_rating"].value_text == "Requires improvement"
    assert a["cqc_rating"].sentence.startswith("CQC rating: Requires improvement — meets the criterion: CQC rated")
    assert a["patients_per_gp_fte"].sentence.startswith("Patients per GP FTE 2,000 — ")
    assert a["rurality"].value_text == "Urban"
    assert explain_all(scored)["B00002"] == explain(scored, "B00002")
    with pytest.raises(KeyError, match="Z99999"):
        explain(scored, "Z99999")


def test_all_indicator_ids_compute_on_synthetic_data() -> None:
    v = indicator_values(synthetic(), date(2025, 4, 1))
    for ident in INDICATORS:
        assert v.schema[ident] == pl.Float64
        assert v.schema[ident + "__period"] == pl.Utf8


# ---------------------------------------------------------------------------------------------------------------------
# The real national files
# ---------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def national() -> NationalData:
    if not (NATIONAL_DIR / "ods_epraccur" / "epraccur.csv").exists():
        pytest.skip("data/national is not in this checkout")
    return load_national()


def test_real_universe(national: NationalData) -> None:
    p = national.practices
    assert p["practice_code"].n_unique() == p.height
    assert not p["practice_code"].str.starts_with("W").any()
    assert p.filter(pl.col("status") == "active").height == pytest.approx(6253, abs=5)
    assert p["icb_code"].null_count() == 0


def test_as_of_scoring_ignores_later_data(national: NationalData) -> None:
    as_of = date(2023, 4, 1)
    defs = load_definitions()
    before = score(indicator_values(national, as_of), defs).frame
    wf = national.workforce
    later = pl.col("fy_end_year") >= 2024
    altered = national.replace(
        workforce=wf.with_columns(
            pl.when(later).then(pl.col(c) * 3 + 1).otherwise(pl.col(c)).alias(c) for c in WF_COLUMNS
        ),
        registrations=national.registrations.with_columns(pl.col("patients") // 7 + 1),
        cqc=national.cqc.with_columns(
            pl.when(pl.col("rating_year") >= 2023)
            .then(pl.lit("Inadequate"))
            .otherwise(pl.col("rating"))
            .alias("rating")
        ),
    )
    after = score(indicator_values(altered, as_of), defs).frame
    assert after.equals(before)
    # ...whereas the same alteration does change a score as of 2025-04-01 (the test would catch a leak).
    late = date(2025, 4, 1)
    late_before = score(indicator_values(national, late), defs).frame
    assert not score(indicator_values(altered, late), defs).frame.equals(late_before)


def test_real_explanations_are_complete_and_fast_enough(national: NationalData) -> None:
    scored = score(indicator_values(national, date(2023, 4, 1)))
    every = explain_all(scored)
    assert len(every) == scored.frame.height > 6000
    sample = every[scored.frame.sort("rank", nulls_last=True)["practice_code"][0]]
    assert all(e.sentence for e in sample)
    values = scored.frame
    assert values["composite"].drop_nulls().is_between(0, 100).all()
