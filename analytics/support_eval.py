"""Did support work? Supported practices against matched comparisons of similar pressure that were not supported.

Method (stated on the page and in the command's output):

* **supported**: practices whose support package was approved; support starts on the approval date;
* **comparisons**: for each supported practice, the ``MATCHES`` unsupported practices open on the start date whose
  pressure index (scored from what was published by then) is nearest, within ``CALIPER`` points, ties broken by the
  nearest list size; a comparison may serve several supported practices;
* **outcomes**, each measured only once its data exist: list change and GP FTE change (log ratio) from the last
  workforce year published before the start to the first financial year that ended at least 12 months after it, and
  closure (an ODS close date) within 24 months of the start;
* the **difference** is the supported mean minus the comparisons' mean; with fewer than ``MIN_EVALUABLE``
  supported practices that have an outcome, the answer for it is "not enough data yet" and no difference is shown.

Observational: supported practices are chosen because they struggle, and matching on one score cannot remove all of
that; the figures say what happened, not what support caused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from analytics.backtest import add_months
from analytics.history import History, as_published, national_as_of
from analytics.scoring import score_as_of

MATCHES = 3
CALIPER = 5.0
MIN_EVALUABLE = 10
FOLLOW_UP_MONTHS = 12
CLOSURE_MONTHS = 24
OUTCOMES = ("list change", "GP FTE change", "closed within 24 months")


@dataclass(frozen=True)
class OutcomeResult:
    outcome: str
    supported_n: int
    comparison_n: int
    supported_mean: float | None
    comparison_mean: float | None

    @property
    def enough(self) -> bool:
        return self.supported_n >= MIN_EVALUABLE

    @property
    def difference(self) -> float | None:
        if not self.enough or self.supported_mean is None or self.comparison_mean is None:
            return None
        return self.supported_mean - self.comparison_mean

    @property
    def verdict(self) -> str:
        if not self.enough:
            n = self.supported_n
            return f"not enough data yet ({n} supported practices with this outcome; {MIN_EVALUABLE} needed)"
        return f"difference {self.difference:+.3f}"


@dataclass(frozen=True)
class Evaluation:
    supported: int
    matched: int
    data_until: date | None
    outcomes: tuple[OutcomeResult, ...]

    def as_text(self) -> str:
        lines = [
            f"Supported practices: {self.supported}; with matched comparisons: {self.matched} "
            f"({MATCHES} nearest by pressure index within {CALIPER:g} points, scored from what was published at the "
            f"start of support). Workforce data until FY ending {self.data_until or 'n/a'}.",
        ]
        for o in self.outcomes:
            sm = "–" if o.supported_mean is None else f"{o.supported_mean:.3f}"
            cm = "–" if o.comparison_mean is None else f"{o.comparison_mean:.3f}"
            lines.append(f"  {o.outcome:26s} supported {sm} (n={o.supported_n}) vs comparisons {cm} "
                         f"(n={o.comparison_n}): {o.verdict}")  # fmt: skip
        return "\n".join(lines)


def _year_values(wf: pl.DataFrame, year: int, col: str) -> dict[str, float]:
    rows = wf.filter((pl.col("fy_end_year") == year) & pl.col(col).is_not_null()).select("practice_code", col)
    return dict(zip(rows.get_column("practice_code").to_list(), rows.get_column(col).to_list(), strict=True))


def _change(wf: pl.DataFrame, code: str, before_year: int | None, start: date, col: str) -> float | None:
    """log(value in the first FY ending >= 12 months after start / value in ``before_year``, the last FY published
    before the start)."""
    if before_year is None:
        return None
    after_end = add_months(start, FOLLOW_UP_MONTHS)
    later = [y for y in sorted(set(wf.get_column("fy_end_year").to_list())) if date(y, 3, 31) >= after_end]
    if not later:
        return None
    before = _year_values(wf, before_year, col).get(code)
    after = _year_values(wf, later[0], col).get(code)
    if before is None or after is None or before <= 0 or after <= 0:
        return None
    return float(np.log(after / before))


def evaluate(history: History, supported: pl.DataFrame) -> Evaluation:
    """``supported``: practice_code, start (Date). See the module docstring for the method."""
    wf_all = history.workforce
    years = sorted(int(y) for y in wf_all.get_column("fy_end_year").unique().to_list()) if wf_all.height else []
    data_until = date(years[-1], 3, 31) if years else None
    practices = history.practices
    pairs: list[tuple[str, date, int | None, list[str]]] = []
    supported_codes = set(supported.get_column("practice_code").to_list())
    for code, start in supported.select("practice_code", "start").iter_rows():
        scored = score_as_of(national_as_of(history, start), start).frame.select("practice_code", "composite")
        published = as_published(history, start).workforce
        before_year = int(published.get_column("fy_end_year").max()) if published.height else None  # type: ignore[arg-type]
        lists = published.sort("fy_end_year").group_by("practice_code").agg(pl.col("patients").last())
        frame = scored.join(lists, on="practice_code", how="left")
        me = frame.filter(pl.col("practice_code") == code)
        if me.height == 0 or me.get_column("composite")[0] is None:
            continue
        c0, p0 = float(me.get_column("composite")[0]), me.get_column("patients")[0]
        pool = frame.filter(
            ~pl.col("practice_code").is_in(sorted(supported_codes))
            & pl.col("composite").is_not_null()
            & ((pl.col("composite") - c0).abs() <= CALIPER)
        ).with_columns(
            (pl.col("composite") - c0).abs().alias("_d"),
            ((pl.col("patients").log() - np.log(p0)).abs() if p0 else pl.lit(0.0)).fill_null(99.0).alias("_l"),
        )
        matches = pool.sort("_d", "_l").head(MATCHES).get_column("practice_code").to_list()
        if matches:
            pairs.append((code, start, before_year, matches))
    closed = dict(
        zip(practices.get_column("practice_code").to_list(), practices.get_column("close_date").to_list(), strict=True)
    )
    results = []
    for outcome in OUTCOMES:
        sup: list[float] = []
        comp: list[float] = []
        for code, start, before_year, matches in pairs:

            def value(
                c: str, start: date = start, before_year: int | None = before_year, outcome: str = outcome
            ) -> float | None:
                if outcome == "closed within 24 months":
                    horizon = add_months(start, CLOSURE_MONTHS)
                    if data_until is None or horizon > data_until:
                        return None  # not yet observable
                    d = closed.get(c)
                    return float(d is not None and start < d <= horizon)
                col = "patients" if outcome == "list change" else "gp_fte"
                return _change(wf_all, c, before_year, start, col)

            v = value(code)
            if v is None:
                continue
            sup.append(v)
            comp += [x for x in (value(m) for m in matches) if x is not None]
        results.append(
            OutcomeResult(
                outcome,
                len(sup),
                len(comp),
                float(np.mean(sup)) if sup else None,
                float(np.mean(comp)) if comp else None,
            )
        )
    return Evaluation(supported.height, len(pairs), data_until, tuple(results))
