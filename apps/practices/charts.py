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


def contribution_chart(explanation: Sequence[dict[str, object]], width: int = 560) -> Markup:
    """Horizontal bars: each indicator's contribution to the composite score (missing ones labelled)."""
    items = list(explanation)
    if not items:
        return Markup("")
    row_h, label_w, pad = 24, 230, 8
    height = row_h * len(items) + pad * 2
    values = [float(v) for e in items if isinstance(v := e.get("contribution"), int | float)]
    top = max(values) if values else 1.0
    top = top or 1.0
    plot_w = width - label_w - 60
    parts = [
        f'<svg class="app-chart app-chart--wide" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="Contribution of each indicator to the score" xmlns="http://www.w3.org/2000/svg">',
        "<title>Contribution of each indicator to the score</title>",
    ]
    for i, e in enumerate(items):
        y = pad + i * row_h
        title = escape(str(e.get("title", e.get("id", ""))))
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end" font-size="12" fill="#212b32">{title}</text>'
        )
        c = e.get("contribution")
        if isinstance(c, int | float):
            w = plot_w * float(c) / top
            parts.append(
                f'<rect x="{label_w}" y="{y + 4}" width="{max(w, 0):.1f}" height="{row_h - 8}" fill="#005eb8"/>'
                f'<text x="{label_w + max(w, 0) + 4:.1f}" y="{y + 16}" font-size="12" '
                f'fill="#212b32">{float(c):.1f}</text>'
            )
        else:
            parts.append(f'<text x="{label_w + 4}" y="{y + 16}" font-size="12" fill="#4c6272">missing</text>')
    parts.append("</svg>")
    # Every text piece went through escape(); numbers are formatted here.
    return Markup("".join(parts))  # noqa: S704
