"""Server-drawn SVG bar charts for the money pages: no JavaScript, and every chart has a table beside it."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

# NHS palette: blue, dark blue, warm yellow (each distinguishable in greyscale by lightness too).
COLOURS = ("#005eb8", "#003087", "#ffb81c")


def _money(pence: float) -> str:
    pounds = pence / 100
    if abs(pounds) >= 1_000_000:
        return f"£{pounds / 1_000_000:.1f}m"
    if abs(pounds) >= 1_000:
        return f"£{pounds / 1_000:.0f}k"
    return f"£{pounds:.0f}"


def grouped_bars(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    title: str,
    width: int = 640,
    height: int = 240,
) -> Markup:
    """Bars of money (pence) per category, one bar per series, with a legend and the top value labelled."""
    if not categories or not series:
        return Markup("")
    top = max([max(vals, default=0) for _, vals in series] + [1])
    pad_l, pad_r, pad_b, pad_t = 56, 8, 44, 28
    plot_h = height - pad_b - pad_t
    slot = (width - pad_l - pad_r) / len(categories)
    bar_w = max(2.0, min(22.0, slot * 0.8 / len(series)))
    parts = [
        f'<svg class="app-chart app-chart--wide" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{pad_l}" y1="{height - pad_b}" x2="{width - pad_r}" y2="{height - pad_b}" stroke="#4c6272"/>',
        f'<text x="{pad_l - 4}" y="{pad_t + 4}" text-anchor="end" font-size="11" fill="#212b32">{_money(top)}</text>',
        f'<text x="{pad_l - 4}" y="{height - pad_b}" text-anchor="end" font-size="11" fill="#212b32">£0</text>',
    ]
    for s, (name, _) in enumerate(series):
        x = pad_l + s * 150
        parts.append(
            f'<rect x="{x}" y="6" width="12" height="12" fill="{COLOURS[s % len(COLOURS)]}"/>'
            f'<text x="{x + 16}" y="16" font-size="12" fill="#212b32">{escape(name)}</text>'
        )
    for i, label in enumerate(categories):
        group_x = pad_l + slot * i + (slot - bar_w * len(series)) / 2
        for s, (_, vals) in enumerate(series):
            v = max(0, vals[i])
            h = plot_h * v / top
            parts.append(
                f'<rect x="{group_x + s * bar_w:.1f}" y="{height - pad_b - h:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{COLOURS[s % len(COLOURS)]}"/>'
            )
        cx = pad_l + slot * i + slot / 2
        parts.append(
            f'<text x="{cx:.1f}" y="{height - pad_b + 14}" text-anchor="middle" font-size="10" '
            f'fill="#212b32">{escape(label)}</text>'
        )
    parts.append("</svg>")
    # Every text piece above went through escape(); numbers are formatted here.
    return Markup("".join(parts))  # noqa: S704
