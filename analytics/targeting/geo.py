"""Distances between practices without a national grid: 3-D unit vectors and a KD-tree.

Each practice's WGS84 latitude/longitude becomes a point on the unit sphere. The straight-line (chord) distance
between two such points is monotone in the great-circle distance, so a KD-tree over the 3-D points answers "every
practice within d km" exactly: the query radius is the chord of d km, and each chord found is turned back into a
great-circle distance in km (earth radius :data:`EARTH_RADIUS_KM`, the mean radius). This works anywhere in England
(no projection zone, no British National Grid transform) and the error against an ellipsoidal distance is under
0.5% — far below the precision of the 2019 geocoding of practice postcodes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

EARTH_RADIUS_KM = 6371.0088


def unit_vectors(lat_deg: FloatArray, lon_deg: FloatArray) -> FloatArray:
    """(n, 3) points on the unit sphere for latitudes/longitudes in degrees."""
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    cos_lat = np.cos(lat)
    return np.column_stack((cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)))


def km_to_chord(km: float | FloatArray) -> FloatArray:
    """The chord length on the unit sphere of a great-circle distance in km."""
    return np.asarray(2.0 * np.sin(np.asarray(km, dtype=np.float64) / (2.0 * EARTH_RADIUS_KM)), dtype=np.float64)


def chord_to_km(chord: float | FloatArray) -> FloatArray:
    """The great-circle distance in km of a chord on the unit sphere (inf stays inf)."""
    c = np.asarray(chord, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        out = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(c / 2.0, 0.0, 1.0))
    return np.asarray(np.where(np.isfinite(c), out, np.inf), dtype=np.float64)


def great_circle_km(lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray) -> FloatArray:
    """Great-circle distances in km between matching points (broadcasting), via the same unit vectors."""
    a = unit_vectors(np.atleast_1d(lat1), np.atleast_1d(lon1))
    b = unit_vectors(np.atleast_1d(lat2), np.atleast_1d(lon2))
    return chord_to_km(np.linalg.norm(a - b, axis=-1))


@dataclass(frozen=True)
class Neighbours:
    """Fixed-width neighbour lists: row i holds up to ``k`` receivers of query point i, nearest first.

    ``index`` is a position in the receiver arrays (``-1`` = no neighbour in this slot); ``km`` the great-circle
    distance (``inf`` in empty slots).
    """

    index: IntArray
    km: FloatArray

    @property
    def valid(self) -> npt.NDArray[np.bool_]:
        return self.index >= 0


class NeighbourIndex:
    """A KD-tree over receiving practices' unit vectors, queried in km."""

    def __init__(self, lat: FloatArray, lon: FloatArray) -> None:
        self.points = unit_vectors(lat, lon)
        self.size = int(self.points.shape[0])
        self.tree = cKDTree(self.points)

    def query(
        self,
        lat: FloatArray,
        lon: FloatArray,
        max_km: float,
        k: int,
        exclude: IntArray | None = None,
    ) -> Neighbours:
        """The ``k`` nearest receivers within ``max_km`` of each query point.

        ``exclude[i]`` (a receiver position, or -1) is left out of row i — the closing practice itself, which is
        found by position rather than by a zero distance because practices sharing a health centre share
        coordinates.
        """
        q = unit_vectors(lat, lon)
        n = q.shape[0]
        extra = 1 if exclude is not None else 0
        kk = min(k + extra, self.size)
        if n == 0 or kk == 0:
            return Neighbours(np.full((n, k), -1, dtype=np.int64), np.full((n, k), np.inf))
        chord, idx = self.tree.query(q, k=kk, distance_upper_bound=float(km_to_chord(max_km)))
        chord = np.asarray(chord, dtype=np.float64).reshape(n, kk)
        idx = np.asarray(idx, dtype=np.int64).reshape(n, kk)
        idx = np.where(idx >= self.size, -1, idx)
        if exclude is not None:
            drop = (idx == np.asarray(exclude, dtype=np.int64)[:, None]) & (idx >= 0)
            # Move dropped slots to the end of each row, keeping the others nearest first.
            chord = np.where(drop, np.inf, chord)
            idx = np.where(drop, -1, idx)
            order = np.argsort(chord, axis=1, kind="stable")
            chord = np.take_along_axis(chord, order, axis=1)
            idx = np.take_along_axis(idx, order, axis=1)
        km = chord_to_km(chord)
        idx, km = idx[:, :k], km[:, :k]
        if idx.shape[1] < k:  # fewer receivers than k
            pad = k - idx.shape[1]
            idx = np.hstack((idx, np.full((n, pad), -1, dtype=np.int64)))
            km = np.hstack((km, np.full((n, pad), np.inf)))
        return Neighbours(idx, np.where(idx >= 0, km, np.inf))
