"""The pressure index, in pure polars: indicator values as of a date, percentiles, composite, flags, explanations.

Two steps:

1. :func:`indicator_values` — one row per English GP practice open on ``as_of``, one column per indicator id
   (``<id>``, Float64, null when missing — never 0), and ``<id>__period`` naming the data period used. Only data whose
   period ends on or before ``as_of`` is read:

   * workforce ``fy_end_year`` Y covers FY (Y-1)/Y ending 31 March Y: usable when ``date(Y, 3, 31) <= as_of``; the
     latest usable year is used, and the year before it for year-on-year change;
   * QOF and NHS payments (a financial year each) when the year has ended; QOF 2020-21 list sizes (TOTAL list type)
     likewise, as the earlier list size for list growth;
   * the registrations extract only when its extract date is on or before ``as_of``;
   * CQC ratings (in force April 2024, with their publication year) only when ``rating_year < as_of.year``;
   * IMD 2019 is static, but is read from the usable workforce rows only.

   The frame has no close dates, no payments "atypical" flags and no outcome of any kind.

2. :func:`score` — national and within-ICB percentiles per indicator, oriented so that higher = more pressure
   (0..100, ties averaged), each indicator's contribution to the composite (the weighted mean of the oriented
   national percentiles present, re-normalised over the indicators present; ``coverage`` = share of the weight
   present), national-criteria flags, composite (0..100) and rank (1 = most pressure).

:func:`explain` / :func:`explain_all` turn a scored practice into one :class:`Explanation` per indicator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property, partial
from itertools import repeat
from typing import NamedTuple, cast

import polars as pl

from analytics.indicator_values import INDICATORS, PERIOD_SUFFIX, indicator_values, open_practices
from analytics.indicators.definition import IndicatorDefinition, load_definitions
from analytics.national import NationalData

__all__ = ["INDICATORS", "PERIOD_SUFFIX", "indicator_values", "open_practices"]  # moved to analytics.indicator_values
PCT_SUFFIX = "__pct"
ICB_PCT_SUFFIX = "__icb_pct"
CONTRIB_SUFFIX = "__contrib"
KEY_COLUMNS = ("practice_code", "practice_name", "icb_code", "as_of")
MIN_COVERAGE_FOR_RANK = 0.5
"""A practice is ranked only when at least this share of the composite's weight has data."""


# ---------------------------------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------------------------------


def percentile_expr(value: pl.Expr, high_is_worse: bool) -> pl.Expr:
    """Oriented percentile 0..100 (100 = most pressure), ties averaged, null where the value is null.

    ``100 * (average rank - 1) / (n - 1)`` over the non-null values; a single value (or all tied) gives 50.
    Use ``.over(...)`` on the result for a within-group percentile.
    """
    oriented = value if high_is_worse else -value
    n = oriented.count()
    rank = oriented.rank("average")
    return pl.when(oriented.is_null()).then(None).when(n > 1).then((rank - 1.0) / (n - 1.0) * 100.0).otherwise(50.0)


@dataclass(frozen=True)
class Scored:
    """The index for one set of practices.

    ``frame`` has practice_code, practice_name, icb_code, as_of, composite (0..100, null when no weighted indicator
    is present), coverage (share of the total weight present, 0..1), rank (1 = most pressure; null when coverage
    is below ``min_coverage``), flags (list of the
    national-criteria labels met), flag_count, and per indicator ``<id>`` (value), ``<id>__period``, ``<id>__pct``
    (national percentile), ``<id>__icb_pct`` (within-ICB percentile), ``<id>__contrib`` (points of the composite).
    """

    frame: pl.DataFrame
    definitions: tuple[IndicatorDefinition, ...]

    @cached_property
    def _index(self) -> dict[str, int]:
        return {code: i for i, code in enumerate(self.frame.get_column("practice_code").to_list())}

    def row(self, practice_code: str) -> dict[str, object]:
        i = self._index.get(practice_code)
        if i is None:
            raise KeyError(f"practice {practice_code} is not in this score (not open on the as-of date?)")
        return self.frame.row(i, named=True)


def score(
    values: pl.DataFrame,
    definitions: Sequence[IndicatorDefinition] | None = None,
    min_coverage: float = MIN_COVERAGE_FOR_RANK,
) -> Scored:
    """Percentiles, contributions, flags, composite and rank for every row of ``values``.

    ``values`` needs ``practice_code``, ``icb_code`` and a Float64 column per definition id (``<id>__period``
    optional). Missing values stay null: they get no percentile, no contribution and no flag, and the composite is
    re-normalised over the weight present. Every practice with any weighted indicator gets a composite, but only
    those with ``coverage >= min_coverage`` get a rank: a composite re-normalised over one or two indicators is
    shown, not ranked against complete ones.
    """
    defs = tuple(definitions) if definitions is not None else tuple(load_definitions())
    missing = [d.id for d in defs if d.id not in values.columns]
    if missing:
        raise KeyError(f"values lack indicator column(s): {', '.join(missing)}")
    for key in ("practice_code", "icb_code"):
        if key not in values.columns:
            raise KeyError(f"values lack the {key!r} column")
    total_weight = sum(d.weight for d in defs)

    clean = [
        pl.col(d.id).cast(pl.Float64).fill_nan(None).alias(d.id) for d in defs
    ]  # NaN would rank as largest: treat as missing
    df = values.with_columns(clean)
    pct = [percentile_expr(pl.col(d.id), d.high_is_worse).alias(d.id + PCT_SUFFIX) for d in defs]
    icb = [percentile_expr(pl.col(d.id), d.high_is_worse).over("icb_code").alias(d.id + ICB_PCT_SUFFIX) for d in defs]
    df = df.with_columns(pct + icb)
    present_weight = (
        pl.sum_horizontal([pl.when(pl.col(d.id).is_not_null()).then(pl.lit(d.weight)).otherwise(0.0) for d in defs])
        if defs
        else pl.lit(0.0)
    )
    df = df.with_columns(present_weight.alias("_w"))
    # Weights too small to matter (a subnormal float, say) count as no weight: dividing by them gives inf/NaN.
    contrib = [
        pl.when(pl.col("_w") > WEIGHT_EPSILON)
        .then(pl.col(d.id + PCT_SUFFIX) * d.weight / pl.col("_w"))
        .otherwise(None)
        .alias(d.id + CONTRIB_SUFFIX)
        for d in defs
    ]
    df = df.with_columns(contrib)
    composite = (
        pl.when(pl.col("_w") > WEIGHT_EPSILON)
        .then(pl.sum_horizontal([pl.col(d.id + CONTRIB_SUFFIX).fill_null(0.0) for d in defs]).clip(0.0, 100.0))
        .otherwise(None)
    )
    coverage = (
        (pl.col("_w") / total_weight).fill_nan(0.0).clip(0.0, 1.0)
        if total_weight > WEIGHT_EPSILON
        else pl.lit(None, dtype=pl.Float64)
    )
    flagged = [d for d in defs if d.flag is not None]
    if flagged:
        flags = pl.concat_list(
            [
                pl.when(d.flag.expr(d.id)).then(pl.lit(d.flag.label)).otherwise(pl.lit(None, dtype=pl.Utf8))
                for d in flagged
                if d.flag is not None
            ]
        ).list.drop_nulls()
    else:
        flags = pl.lit([], dtype=pl.List(pl.Utf8))
    df = df.with_columns(composite.alias("composite"), coverage.alias("coverage"), flags.alias("flags"))
    df = df.with_columns(
        pl.col("flags").list.len().cast(pl.Int64).alias("flag_count"),
        pl.when(pl.col("coverage") >= min_coverage)
        .then(pl.col("composite"))
        .otherwise(None)
        .rank("min", descending=True)
        .cast(pl.Int64)
        .alias("rank"),
    )
    keys = [c for c in KEY_COLUMNS if c in df.columns]
    per_indicator = []
    for d in defs:
        per_indicator += [d.id]
        if d.id + PERIOD_SUFFIX in df.columns:
            per_indicator.append(d.id + PERIOD_SUFFIX)
        per_indicator += [d.id + PCT_SUFFIX, d.id + ICB_PCT_SUFFIX, d.id + CONTRIB_SUFFIX]
    frame = df.select(*keys, "composite", "coverage", "rank", "flags", "flag_count", *per_indicator)
    return Scored(frame=frame, definitions=defs)


# ---------------------------------------------------------------------------------------------------------------------
# Explanations
# ---------------------------------------------------------------------------------------------------------------------


class Explanation(NamedTuple):
    """One indicator of one practice, ready to show: value, percentiles, contribution, period and a sentence.

    Immutable (a named tuple: cheap enough to build for every indicator of every practice in well under a second).
    """

    indicator_id: str
    title: str
    group: str
    value: float | None
    value_text: str
    unit: str
    national_percentile: float | None
    icb_percentile: float | None
    contribution: float | None
    weight: float
    period: str | None
    flagged: bool
    flag_label: str | None
    sentence: str

    @property
    def missing(self) -> bool:
        return self.value is None


_new_explanation = partial(tuple.__new__, Explanation)
"""Build an :class:`Explanation` from a full row tuple without NamedTuple's per-call checks (hot loop)."""


def format_number(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def format_value(d: IndicatorDefinition, value: float | None) -> str:
    """The value as shown: coded values as words, ``%`` and ``£`` attached, thousands separated."""
    if value is None:
        return "missing"
    label = d.label_for(value)
    if label is not None:
        return label
    decimals = d.decimals if d.decimals is not None else (0 if d.unit == "patients" else 2 if d.unit == "£" else 1)
    return _with_unit(d, format_number(value, decimals))


def _percent_suffix(unit: str) -> str:
    """``%`` -> ``%``; ``% a year`` -> ``% a year``; anything else -> no suffix (the title names the unit)."""
    return unit if unit == "%" or unit.startswith("% ") else ""


def _with_unit(d: IndicatorDefinition, text: str) -> str:
    if d.unit == "£":
        return ("-£" + text[1:]) if text.startswith("-") else "£" + text
    return text + _percent_suffix(d.unit)


def threshold_text(d: IndicatorDefinition, value: float) -> str:
    """A criterion threshold without spurious decimals: 85%, 4,000, 1.5, -20%."""
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,g}"
    return _with_unit(d, text)


_OP_WORDS = {"<": "below", "<=": "at or below", ">": "above", ">=": "at or above"}


def _flag_text(d: IndicatorDefinition) -> str:
    flag = d.flag
    assert flag is not None
    if flag.op == "in" or isinstance(flag.value, tuple):
        return f"meets the criterion: {flag.label}"
    threshold = threshold_text(d, float(flag.value))
    text = f"{_OP_WORDS[flag.op]} the {threshold} criterion"
    return text if threshold in flag.label else f"{text} ({flag.label})"


def _value_texts(d: IndicatorDefinition, values: Sequence[float | None]) -> list[str]:
    """:func:`format_value` over a column (one format string, no per-value branching on the definition)."""
    if d.unit == "£":
        return [format_value(d, v) for v in values]
    labels = dict(d.value_labels)
    decimals = d.decimals if d.decimals is not None else (0 if d.unit == "patients" else 1)
    fmt = "{:,.%df}" % decimals  # noqa: UP031 - builds a format string
    suffix = _percent_suffix(d.unit)
    if labels:
        return ["missing" if v is None else labels[v] if v in labels else fmt.format(v) + suffix for v in values]
    return ["missing" if v is None else fmt.format(v) + suffix for v in values]


WEIGHT_EPSILON = 1e-12


def rank_words(high_is_worse: bool) -> tuple[str, str]:
    """Words for (the pressure end, the other end) of an indicator, so a small list reads "lowest 1%"."""
    return ("top", "bottom") if high_is_worse else ("lowest", "highest")


def _rank_text_expr(pct: pl.Expr, high_is_worse: bool = True) -> pl.Expr:
    """'top 5% nationally' / 'lowest 5% nationally' at the pressure end, else 'bottom 20%' / 'highest 20%'.

    ``pct`` is the oriented percentile (higher = more pressure); null where there is no percentile.
    """
    worse, better = rank_words(high_is_worse)
    top = (100.0 - pct).round(0).clip(lower_bound=1.0).cast(pl.Int64).cast(pl.Utf8)
    bottom = pct.round(0).clip(lower_bound=1.0).cast(pl.Int64).cast(pl.Utf8)
    return (
        pl.when(pct.is_null())
        .then(None)
        .when(pct >= 50)
        .then(pl.concat_str(pl.lit(f"{worse} "), top, pl.lit("% nationally")))
        .otherwise(pl.concat_str(pl.lit(f"{better} "), bottom, pl.lit("% nationally")))
    )


def _missing_reason_expr(d: IndicatorDefinition, period: pl.Expr, as_of: date | None) -> pl.Expr:
    when = as_of.isoformat() if as_of is not None else "the as-of date"
    if d.missing_text:
        pieces = d.missing_text.replace("{as_of}", when).split("{period}")
        exprs: list[pl.Expr] = [pl.lit(pieces[0])]
        for piece in pieces[1:]:
            exprs += [period.fill_null("—"), pl.lit(piece)]
        return pl.concat_str(exprs)
    return (
        pl.when(period.is_null())
        .then(pl.lit(f"no {d.dataset} data for a period ending on or before {when}"))
        .otherwise(pl.concat_str(pl.lit("no value for this practice in "), period))
    )


def _sentence_exprs(d: IndicatorDefinition, as_of: date | None) -> tuple[pl.Expr, pl.Expr]:
    """(sentence, flagged) expressions for one indicator over a scored frame that has ``<id>__text`` added."""
    value, pct = pl.col(d.id), pl.col(d.id + PCT_SUFFIX)
    period = pl.col(d.id + PERIOD_SUFFIX)
    flagged = d.flag.expr(d.id) if d.flag is not None else pl.lit(False)
    rank = _rank_text_expr(pct, d.high_is_worse)
    sep = ": " if d.unit in ("rating", "category") else " "
    head = pl.concat_str(pl.lit(d.title + sep), pl.col(d.id + "__text"))
    tail = rank
    if d.flag is not None:
        criterion = pl.lit(_flag_text(d))
        tail = (
            pl.when(flagged & rank.is_not_null())
            .then(pl.concat_str(criterion, pl.lit("; "), rank))
            .when(flagged)
            .then(criterion)
            .otherwise(rank)
        )
    sentence = (
        pl.when(value.is_null())
        .then(pl.concat_str(pl.lit(f"{d.title}: missing ("), _missing_reason_expr(d, period, as_of), pl.lit(")")))
        .when(tail.is_not_null())
        .then(pl.concat_str(head, pl.lit(" — "), tail))
        .otherwise(head)
    )
    return sentence.alias(d.id + "__sentence"), flagged.fill_null(False).alias(d.id + "__flagged")


def _explanations(scored: Scored, indices: Sequence[int] | None = None) -> list[list[Explanation]]:
    f = scored.frame if indices is None else scored.frame[list(indices)]
    n = f.height
    first = f.get_column("as_of").drop_nulls().head(1).to_list() if "as_of" in f.columns else []
    as_of = first[0] if first and isinstance(first[0], date) else None
    defs = scored.definitions
    values = {d.id: f.get_column(d.id).fill_nan(None).to_list() for d in defs}
    texts = {d.id: _value_texts(d, values[d.id]) for d in defs}
    extra = [pl.Series(d.id + "__text", texts[d.id], dtype=pl.Utf8) for d in defs]
    missing_periods = [
        pl.lit(None, dtype=pl.Utf8).alias(d.id + PERIOD_SUFFIX) for d in defs if d.id + PERIOD_SUFFIX not in f.columns
    ]
    g = f.with_columns(extra).with_columns(missing_periods)
    exprs = [e for d in defs for e in _sentence_exprs(d, as_of)]
    built = g.select(exprs) if exprs else g.clear()
    columns: list[list[Explanation]] = []
    for d in defs:
        flagged = built.get_column(d.id + "__flagged").to_list()
        label = d.flag.label if d.flag is not None else None
        rows = zip(
            repeat(d.id, n),
            repeat(d.title, n),
            repeat(d.group, n),
            values[d.id],
            texts[d.id],
            repeat(d.unit, n),
            f.get_column(d.id + PCT_SUFFIX).to_list(),
            f.get_column(d.id + ICB_PCT_SUFFIX).to_list(),
            f.get_column(d.id + CONTRIB_SUFFIX).to_list(),
            repeat(d.weight, n),
            g.get_column(d.id + PERIOD_SUFFIX).to_list(),
            flagged,
            [label if x else None for x in flagged],
            built.get_column(d.id + "__sentence").to_list(),
            strict=True,
        )
        columns.append(cast(list[Explanation], list(map(_new_explanation, rows))))
    return [list(row) for row in zip(*columns, strict=True)] if columns else [[] for _ in range(n)]


def explain(scored: Scored, practice_code: str) -> list[Explanation]:
    """One :class:`Explanation` per indicator for one practice, in definition order."""
    i = scored._index.get(practice_code)
    if i is None:
        raise KeyError(f"practice {practice_code} is not in this score (not open on the as-of date?)")
    return _explanations(scored, [i])[0]


def explain_all(scored: Scored) -> dict[str, list[Explanation]]:
    """Explanations for every practice (one pass over the columns; fast enough for the whole country)."""
    codes = scored.frame.get_column("practice_code").to_list()
    return dict(zip(codes, _explanations(scored), strict=True))


def score_as_of(data: NationalData, as_of: date, definitions: Sequence[IndicatorDefinition] | None = None) -> Scored:
    """Convenience: :func:`indicator_values` then :func:`score` with the shipped (or given) definitions."""
    defs = list(definitions) if definitions is not None else load_definitions()
    return score(indicator_values(data, as_of, [d.id for d in defs]), defs)
