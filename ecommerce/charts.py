"""Bar charts drawn on the server as SVG: no JavaScript, no CDN, nothing for the CSP to allow.

`bar_chart` only computes geometry; the template `admin/dashboard/bar_chart.html` draws it
(autoescaped), so a label can never inject markup."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    center: float  # where the label under the bar is centred
    label: str  # the category (a day), under the bar every few bars and in the tooltip
    value_text: str  # the value as people read it, in the tooltip and the table
    href: str  # where a click goes ("" for none)
    show_label: bool


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    plot_top: int
    plot_bottom: int
    plot_left: int
    max_text: str
    half_text: str
    half_y: float
    bars: tuple[Bar, ...]
    title: str


def bar_chart(
    points: Sequence[tuple[str, int | Decimal, str, str]],
    *,
    title: str,
    format_value=str,
    width: int = 640,
    height: int = 180,
    label_every: int = 5,
) -> BarChart:
    """Geometry of a bar chart of `points` = (label, value, value_text, href), left to right.
    The scale starts at zero and ends at the largest value (1 when all are zero, so an
    empty month draws a flat baseline instead of dividing by zero)."""
    plot_left, plot_top, plot_bottom, plot_right = 64, 12, height - 24, width - 20
    plot_height = plot_bottom - plot_top
    top = max((value for _, value, _, _ in points), default=0) or 1
    # The middle grid line: half the top, or for counts the nearest whole number below it.
    middle = top // 2 if isinstance(top, int) else top / 2
    slot = (plot_right - plot_left) / max(len(points), 1)
    bar_width = max(slot * 0.8, 1.0)
    bars = []
    for i, (label, value, value_text, href) in enumerate(points):
        bar_height = float(value) / float(top) * plot_height if value else 0.0
        # A non-zero day stays visible (at least 1 px) next to a much larger one.
        bar_height = max(bar_height, 1.0) if value else 0.0
        bars.append(
            Bar(
                x=round(plot_left + i * slot + (slot - bar_width) / 2, 2),
                y=round(plot_bottom - bar_height, 2),
                width=round(bar_width, 2),
                height=round(bar_height, 2),
                center=round(plot_left + (i + 0.5) * slot, 2),
                label=label,
                value_text=value_text,
                href=href,
                show_label=(len(points) - 1 - i) % label_every == 0,
            )
        )
    has_values = any(value for _, value, _, _ in points)
    return BarChart(
        width=width,
        height=height,
        plot_top=plot_top,
        plot_bottom=plot_bottom,
        plot_left=plot_left,
        max_text=format_value(top) if has_values else format_value(0),
        half_text=format_value(middle) if has_values and middle else "",
        half_y=round(plot_bottom - float(middle) / float(top) * plot_height, 2),
        bars=tuple(bars),
        title=title,
    )
