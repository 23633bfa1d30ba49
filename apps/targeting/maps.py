"""The dispersal map, drawn server-side as SVG: no tile server, no script, nothing fetched.

Projection: local equirectangular around the closing practice — x = Δlongitude × cos(latitude₀) × km per degree,
y = Δlatitude × km per degree — accurate to well under 1% across the few kilometres shown. Points are open
practices, coloured by the fifth of England's open practices their pressure score falls in; the closing practice is
a black square, its neighbours have a dark ring, and neighbours the closure would push over a threshold a thick red
ring. A legend is drawn in the SVG and the
page's table of neighbours is the text alternative.
"""

from __future__ import annotations

import math

import numpy as np
from markupsafe import Markup, escape

from analytics.targeting.dispersal import Dispersal
from analytics.targeting.geo import EARTH_RADIUS_KM, great_circle_km
from analytics.targeting.table import PracticeTable

KM_PER_DEGREE = EARTH_RADIUS_KM * math.pi / 180.0
# Pressure bands by the practice's place among the scored practices on the map (percentile of the current run's
# score): the deployed index is a model's chance of closure (mostly a few per cent), so fixed 0–100 bands would paint
# almost every practice the palest colour. A sequential scale readable in greyscale, plus grey for no score.
BANDS = (
    (0.0, 20.0, "#d5e8f5", "lowest fifth (least pressure)"),
    (20.0, 40.0, "#9fc7e6", "second fifth"),
    (40.0, 60.0, "#fdd28a", "middle fifth"),
    (60.0, 80.0, "#f39c4a", "fourth fifth"),
    (80.0, 100.01, "#b3391b", "highest fifth (most pressure)"),
)
NO_SCORE = "#aeb7bd"


def percentiles(scores: np.ndarray) -> np.ndarray:
    """Each score's percentile (0–100) among the finite scores; NaN stays NaN (no score)."""
    values = np.asarray(scores, dtype=np.float64)
    out = np.full(values.shape, np.nan)
    ok = np.isfinite(values)
    n = int(ok.sum())
    if n:
        order = values[ok].argsort(kind="stable").argsort(kind="stable")
        out[ok] = 100.0 * order / max(n - 1, 1)
    return out


def band_colour(percentile: float) -> str:
    if not math.isfinite(percentile):
        return NO_SCORE
    for low, high, colour, _ in BANDS:
        if low <= percentile < high:
            return colour
    return BANDS[-1][2]


def dispersal_map(table: PracticeTable, dispersal: Dispersal, size: int = 560) -> Markup:
    """The SVG map of the closing practice, its neighbours and the open practices around them."""
    i = table.index_of(dispersal.code)
    lat0, lon0 = float(table.lat[i]), float(table.lon[i])
    ranked = percentiles(np.where(table.is_open, table.pressure, np.nan))  # among England's open practices
    radius = max(dispersal.params.max_distance_km, max((n.km for n in dispersal.neighbours), default=0.0), 1.0)
    view_km = radius * 1.15
    located = np.flatnonzero(table.has_location & table.is_open)
    d = great_circle_km(
        np.full(located.size, lat0), np.full(located.size, lon0), table.lat[located], table.lon[located]
    )
    near = located[d <= view_km * 1.42]
    legend_h = 24 * (len(BANDS) + 4) + 10
    scale = (size / 2 - 12) / view_km
    cos0 = math.cos(math.radians(lat0))

    def xy(lat: float, lon: float) -> tuple[float, float]:
        x = (lon - lon0) * cos0 * KM_PER_DEGREE
        y = (lat - lat0) * KM_PER_DEGREE
        return size / 2 + x * scale, size / 2 - y * scale

    neighbour_codes = {n.code: n for n in dispersal.neighbours}
    title = f"Map of {dispersal.name} and the open practices within {view_km:.0f} km, coloured by pressure"
    parts = [
        f'<svg class="app-map" viewBox="0 0 {size} {size + legend_h}" width="100%" role="img" '
        f'aria-labelledby="map-title map-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="map-title">{escape(title)}</title>',
        f'<desc id="map-desc">{len(dispersal.neighbours)} neighbours within '
        f"{dispersal.params.max_distance_km:g} km would receive patients; "
        f"{len(dispersal.crossing)} would be pushed over a pressure threshold. The table below lists them.</desc>",
        f'<rect x="0" y="0" width="{size}" height="{size}" fill="#f0f4f5" stroke="#d8dde0"/>',
        f'<circle cx="{size / 2}" cy="{size / 2}" r="{dispersal.params.max_distance_km * scale:.1f}" fill="none" '
        f'stroke="#4c6272" stroke-dasharray="6 4"/>',
    ]
    # Others first, neighbours on top, the closing practice last.
    order = sorted(near.tolist(), key=lambda j: (table.code[j] in neighbour_codes, j == i))
    for j in order:
        x, y = xy(float(table.lat[j]), float(table.lon[j]))
        if not (0 <= x <= size and 0 <= y <= size):
            continue
        code = table.code[j]
        fill = band_colour(float(ranked[j]))
        label = escape(f"{table.name[j]} ({code})")
        if j == i:
            parts.append(
                f'<rect x="{x - 8:.1f}" y="{y - 8:.1f}" width="16" height="16" fill="#212b32" stroke="#ffffff" '
                f'stroke-width="2"><title>{label}: closing</title></rect>'
            )
        elif code in neighbour_codes:
            n = neighbour_codes[code]
            ring = "#d5281b" if n.crosses else "#212b32"
            width = 4 if n.crosses else 2
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="7" fill="{fill}" stroke="{ring}" stroke-width="{width}">'
                f"<title>{label}: receives {n.received:,.0f} patients</title></circle>"
            )
        else:
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{fill}" stroke="#4c6272" stroke-width="0.5">'
                f"<title>{label}</title></circle>"
            )
    # Scale bar: 1 km (or 5 km when zoomed out)
    bar_km = 1 if view_km < 8 else 5
    parts.append(
        f'<line x1="12" y1="{size - 14}" x2="{12 + bar_km * scale:.1f}" y2="{size - 14}" stroke="#212b32" '
        f'stroke-width="3"/><text x="12" y="{size - 20}" font-size="12" fill="#212b32">{bar_km} km</text>'
    )
    y0 = size + 22
    parts.append(f'<text x="12" y="{y0}" font-size="14" font-weight="bold" fill="#212b32">Pressure score</text>')
    for k, (_, _, colour, text) in enumerate((*BANDS, (0, 0, NO_SCORE, "no score"))):
        yy = y0 + 22 * (k + 1)
        parts.append(
            f'<circle cx="20" cy="{yy - 4}" r="6" fill="{colour}" stroke="#4c6272" stroke-width="0.5"/>'
            f'<text x="34" y="{yy}" font-size="13" fill="#212b32">{escape(text)}</text>'
        )
    x1 = size / 2
    parts += [
        f'<rect x="{x1}" y="{y0 + 10}" width="14" height="14" fill="#212b32"/>'
        f'<text x="{x1 + 22}" y="{y0 + 22}" font-size="13" fill="#212b32">closing practice</text>',
        f'<circle cx="{x1 + 7}" cy="{y0 + 40}" r="7" fill="#ffffff" stroke="#212b32" stroke-width="2"/>'
        f'<text x="{x1 + 22}" y="{y0 + 44}" font-size="13" fill="#212b32">neighbour receiving patients</text>',
        f'<circle cx="{x1 + 7}" cy="{y0 + 62}" r="7" fill="#ffffff" stroke="#d5281b" stroke-width="4"/>'
        f'<text x="{x1 + 22}" y="{y0 + 66}" font-size="13" fill="#212b32">pushed over a threshold</text>',
        f'<line x1="{x1}" y1="{y0 + 84}" x2="{x1 + 16}" y2="{y0 + 84}" stroke="#4c6272" stroke-dasharray="6 4"/>'
        f'<text x="{x1 + 22}" y="{y0 + 88}" font-size="13" fill="#212b32">'
        f"{dispersal.params.max_distance_km:g} km reach</text>",
        "</svg>",
    ]
    # Every piece of text above went through escape(); numbers are formatted here.
    return Markup("".join(parts))  # noqa: S704
