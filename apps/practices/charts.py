"""Small server-drawn SVG charts: no JavaScript, nothing fetched, and each one has a table beside it."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape


def ratio_chart(points: Sequence[tuple[str, float | None]], title: str, width: int = 420, height: int = 180) -> Markup:
    """A bar chart of labelled values; a missing value is drawn as a gap labelled 'no data', never as zero."""
    if not points:
        return Markup("")
    values = [v for _, v in points if v is not None]
    top = max(values) if values else 1.0
    top = top * 1.15 or 1.0
    pad_l, pad_b, pad_t = 10, 28, 22
    plot_h = height - pad_b - pad_t
    slot = (width - pad_l * 2) / len(points)
    bar_w = min(60.0, slot * 0.6)
    parts = [
        f'<svg class="app-chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{pad_l}" y1="{height - pad_b}" x2="{width - pad_l}" y2="{height - pad_b}" stroke="#4c6272"/>',
    ]
    for i, (label, value) in enumerate(points):
        x = pad_l + slot * i + (slot - bar_w) / 2
        cx = x + bar_w / 2
        if value is None:
            parts.append(
                f'<text x="{cx:.1f}" y="{height - pad_b - 6}" text-anchor="middle" font-size="12" '
                f'fill="#4c6272">no data</text>'
            )
        else:
            h = plot_h * value / top
            y = height - pad_b - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="#005eb8"/>'
                f'<text x="{cx:.1f}" y="{y - 5:.1f}" text-anchor="middle" font-size="12" '
                f'fill="#212b32">{value:,.0f}</text>'
            )
        parts.append(
            f'<text x="{cx:.1f}" y="{height - 8}" text-anchor="middle" font-size="12" '
            f'fill="#212b32">{escape(label)}</text>'
        )
    parts.append("</svg>")
    # Every text piece above went through escape(); numbers are formatted by us.
    return Markup("".join(parts))  # noqa: S704
