"""Charts as geometry for the page's inline SVG (the template draws them; no image, no library):
axes from zero with round ticks, a percentage axis always 0-100 %."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

WIDTH, HEIGHT = 640, 320
LEFT, RIGHT, TOP, BOTTOM = 64, 160, 16, 44  # room for tick labels, point labels and axis titles
LABEL_CHARS, LABEL_W = 26, 150  # a point's label: its most characters, about its width


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str = ""  # written beside the point; "" for an unlabelled dot
    title: str = ""  # the tooltip
    tone: str = ""  # pass, fail or "" (CSS classes)
    href: str = ""  # a relative link, when the point has a page of its own


def scatter(
    points: list[Point], x_title: str, y_title: str, percent: bool = False
) -> dict[str, Any]:
    """A scatter plot: x from 0, y from 0 (0-100 with `percent`), every point inside the frame."""
    x_top = nice_top(max((p.x for p in points), default=0.0))
    y_top = 100.0 if percent else nice_top(max((p.y for p in points), default=0.0))
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x: float) -> float:
        return round(LEFT + inner_w * min(max(x, 0.0), x_top) / x_top, 1)

    def py(y: float) -> float:
        return round(TOP + inner_h * (1 - min(max(y, 0.0), y_top) / y_top), 1)

    unit = " %" if percent else ""
    placed: list[tuple[float, float]] = []
    drawn = []
    for p in points:
        cx, cy = px(p.x), py(p.y)
        ly = cy + 4
        while p.label and any(abs(lx - cx) < LABEL_W and abs(y - ly) < 12 for lx, y in placed):
            ly -= 13  # a label over another moves up
        if p.label:
            placed.append((cx, ly))
        label = p.label if len(p.label) <= LABEL_CHARS else p.label[: LABEL_CHARS - 1] + "\u2026"
        drawn.append(
            {"cx": cx, "cy": cy, "ly": ly, "label": label, "title": p.title or p.label}
            | {"tone": p.tone, "href": p.href}
        )
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "frame": {"x": LEFT, "y": TOP, "w": inner_w, "h": inner_h},
        "x_title": x_title,
        "y_title": y_title,
        "x_ticks": [{"at": px(v), "text": _number(v)} for v in ticks(x_top)],
        "y_ticks": [{"at": py(v), "text": _number(v) + unit} for v in ticks(y_top)],
        "points": drawn,
    }


def nice_top(value: float) -> float:
    """The axis end: 1, 2, 2.5 or 5 times a power of ten, at or above `value` (1 for nothing)."""
    if not math.isfinite(value) or value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value)


def ticks(top: float, count: int = 5) -> list[float]:
    """Evenly spaced round values from 0 to `top` (a nice_top)."""
    return [top * k / count for k in range(count + 1)]


def _number(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:g}" if value == round(value, 2) else f"{value:.2f}"
