"""Sources whose files fill the same rows, loaded together when one import run brings both.

The LSOA 2011 rows come from two files: the CCG lookup (geography codes, and a name for a new row) and the
population-weighted centroids (names and points; they cover Wales too). Loaded one after the other, each of the
32,844 English rows is inserted by the first and updated by the second. On a first load into an empty table the two
frames are joined in polars and each row is inserted once, complete; the tables end up exactly as the two loads one
after the other leave them, and each file's log gets the counts its own load would have given. When rows are already
stored, nothing is gained by joining (each file's upsert writes only what changed), so the two loaders run as usual.
Either way both files load in one transaction: a failure rolls back both, and the caller then loads each alone, so a
bad file never holds back a good one.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from analytics.ingest.base import Parsed
from apps.datasets.loaders import LoadResult, _cols, load_lsoa11_ccg, load_lsoa11_centroids
from apps.datasets.upsert import Counts, upsert
from apps.practices import models as m


def load_lsoa11_together(ccg: Parsed, centroids: Parsed) -> list[LoadResult]:
    """The CCG lookup and the centroid file as :func:`load_lsoa11_ccg` then :func:`load_lsoa11_centroids` would load
    them (in either order: the CCG lookup owns the codes, the centroid file the names and points, and the lookup's
    name is only a new row's), with one insert per row when the table is empty."""
    if m.Lsoa2011.objects.exists():
        return [load_lsoa11_ccg(ccg), load_lsoa11_centroids(centroids)]
    codes = ccg.frame.select(
        "lsoa_code",
        "sub_icb_code",
        pl.col("lad_code").fill_null(""),
        pl.col("lad_name").fill_null(""),
        pl.col("lsoa_name").alias("ccg_name"),
    )
    points = centroids.frame.select("lsoa_code", "lsoa_name", "lat", "lon").with_columns(pl.lit(True).alias("_point"))
    rows = codes.join(points, on="lsoa_code", how="full", coalesce=True, maintain_order="left_right").with_columns(
        pl.col("sub_icb_code").fill_null(""),
        pl.col("lad_code").fill_null(""),
        pl.col("lad_name").fill_null(""),
        pl.coalesce("lsoa_name", "ccg_name").alias("name"),
        pl.col("_point").fill_null(False),
        pl.col("ccg_name").is_not_null().alias("_code"),
    )
    written = upsert(
        m.Lsoa2011,
        ["code"],
        ["sub_icb_code", "lad_code", "lad_name", "name", "lat", "lon"],
        _cols(rows, ["lsoa_code", "sub_icb_code", "lad_code", "lad_name", "name", "lat", "lon"]),
    )
    assert written.created == rows.height  # an empty table: every row is new
    # What each file's own load would have counted: the lookup creates its rows; the centroid file updates those it
    # shares with the lookup (unchanged only where the lookup already gave the same name and no point is known) and
    # creates the rest.
    shared = rows.filter(pl.col("_code") & pl.col("_point"))
    same = shared.filter(
        (pl.col("lsoa_name") == pl.col("ccg_name")) & pl.col("lat").is_null() & pl.col("lon").is_null()
    ).height
    own = rows.filter(pl.col("_point")).height
    return [
        LoadResult(counts=Counts(created=codes.height)),
        LoadResult(counts=Counts(created=own - shared.height, updated=shared.height - same, unchanged=same)),
    ]


JOINT_LOADERS: dict[tuple[str, ...], Callable[..., list[LoadResult]]] = {
    ("lsoa11_ccg", "lsoa11_centroids"): load_lsoa11_together,
}
"""Source ids loaded together (in this order of arguments) when one run imports all of them."""
