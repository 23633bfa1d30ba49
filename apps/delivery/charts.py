"""The faculty-growth chart: server-drawn SVG (no script, no inline style), with a table beside it on the page."""

from __future__ import annotations

from markupsafe import Markup, escape

from apps.delivery.growth import Growth


def growth_chart(g: Growth, width: int = 640, height: int = 270) -> Markup:
    """Bars: cumulative new members at the end of each quarter (accredited part darker); line: the target path."""
    if not g.quarters:
        return Markup("")
    pad_l, pad_r, pad_t, pad_b = 40, 10, 20, 48
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    top = max([g.target, *(q.cumulative for q in g.quarters)]) * 1.1
    slot = plot_w / len(g.quarters)
    bar_w = slot * 0.6

    def y(v: float) -> float:
        return pad_t + plot_h - plot_h * v / top

    title = f"New faculty members by quarter against the target of {g.target}"
    parts = [
        f'<svg class="app-chart app-chart--wide" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in range(0, int(top) + 1, 25):
        parts.append(
            f'<line x1="{pad_l}" y1="{y(tick):.1f}" x2="{width - pad_r}" y2="{y(tick):.1f}" stroke="#d8dde0"/>'
            f'<text x="{pad_l - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="11" fill="#4c6272">{tick}</text>'
        )
    points = []
    for i, q in enumerate(g.quarters):
        x = pad_l + slot * i + (slot - bar_w) / 2
        cx = x + bar_w / 2
        points.append(f"{cx:.1f},{y(q.target_cumulative):.1f}")
        if not q.future:
            parts.append(
                f'<rect x="{x:.1f}" y="{y(q.cumulative):.1f}" width="{bar_w:.1f}" '
                f'height="{plot_h * q.cumulative / top:.1f}" fill="#41b6e6"/>'
                f'<rect x="{x:.1f}" y="{y(q.accredited_cumulative):.1f}" width="{bar_w:.1f}" '
                f'height="{plot_h * q.accredited_cumulative / top:.1f}" fill="#005eb8"/>'
                f'<text x="{cx:.1f}" y="{y(q.cumulative) - 4:.1f}" text-anchor="middle" font-size="11" '
                f'fill="#212b32">{q.cumulative}</text>'
            )
        label = escape(q.label.split(" ")[1] if i % 4 else q.label)
        parts.append(
            f'<text x="{cx:.1f}" y="{height - pad_b + 14}" text-anchor="middle" font-size="10" '
            f'fill="#212b32">{label}</text>'
        )
    parts.append(
        f'<polyline points="{" ".join(points)}" fill="none" stroke="#d5281b" stroke-width="2" stroke-dasharray="6 4"/>'
    )
    lx = pad_l
    ly = height - 6
    parts.append(
        f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="#41b6e6"/>'
        f'<text x="{lx + 14}" y="{ly}" font-size="11" fill="#212b32">new members (cumulative)</text>'
        f'<rect x="{lx + 170}" y="{ly - 9}" width="10" height="10" fill="#005eb8"/>'
        f'<text x="{lx + 184}" y="{ly}" font-size="11" fill="#212b32">of whom accredited</text>'
        f'<line x1="{lx + 310}" y1="{ly - 4}" x2="{lx + 334}" y2="{ly - 4}" stroke="#d5281b" stroke-width="2" '
        f'stroke-dasharray="6 4"/>'
        f'<text x="{lx + 340}" y="{ly}" font-size="11" fill="#212b32">target path to {g.target}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text piece is escaped or a number we formatted
