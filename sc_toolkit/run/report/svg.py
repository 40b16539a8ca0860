"""Minimal inline-SVG charts (line, step histogram, scatter) for the self-contained run report.

No plotting library and no network: every chart is an ``<svg>`` string with its own axes, ticks
and legend, readable without JavaScript.
"""

from __future__ import annotations

import math
from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")


def _ticks(low: float, high: float, n: int = 5) -> list[float]:
    if not math.isfinite(low) or not math.isfinite(high):
        return []
    if high <= low:
        return [low]
    raw = (high - low) / n
    magnitude = 10 ** math.floor(math.log10(raw))
    step = min((m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw), default=raw)
    start = math.ceil(low / step) * step
    out, value = [], start
    while value <= high + 1e-9 * step and len(out) < 20:
        out.append(round(value, 10))
        value += step
    return out


def _fmt(value: float) -> str:
    return f"{value:.4g}"


class Chart:
    """One chart: add series, then ``svg()``."""

    def __init__(self, title: str, xlabel: str = "", ylabel: str = "", *, width: int = 640, height: int = 340,
                 logy: bool = False):
        self.title, self.xlabel, self.ylabel = title, xlabel, ylabel
        self.width, self.height, self.logy = width, height, logy
        self.series: list[tuple[str, str, list[float], list[float], str]] = []

    def line(self, label: str, xs, ys) -> Chart:
        self.series.append(("line", label, list(map(float, xs)), list(map(float, ys)), self._colour()))
        return self

    def step(self, label: str, edges, heights) -> Chart:
        """A histogram outline: ``edges`` has one more value than ``heights``."""
        edges, heights = list(map(float, edges)), list(map(float, heights))
        xs, ys = [edges[0]], [0.0]
        for i, h in enumerate(heights):
            xs += [edges[i], edges[i + 1]]
            ys += [h, h]
        xs.append(edges[-1])
        ys.append(0.0)
        self.series.append(("step", label, xs, ys, self._colour()))
        return self

    def scatter(self, label: str, xs, ys) -> Chart:
        self.series.append(("scatter", label, list(map(float, xs)), list(map(float, ys)), self._colour()))
        return self

    def _colour(self) -> str:
        return PALETTE[len(self.series) % len(PALETTE)]

    def _y(self, value: float) -> float:
        return math.log10(value) if self.logy else value

    def svg(self) -> str:
        left, right, top, bottom = 64, 16, 30, 46
        w, h = self.width, self.height
        pw, ph = w - left - right, h - top - bottom
        points = [(x, self._y(y)) for _, _, xs, ys, _ in self.series for x, y in zip(xs, ys)
                  if math.isfinite(x) and math.isfinite(y) and (not self.logy or y > 0)]
        if self.logy:
            points = [(x, y) for x, y in points]
        if not points:
            return ""
        x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
        y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
        if x1 == x0:
            x0, x1 = x0 - 0.5, x1 + 0.5
        if y1 == y0:
            y0, y1 = y0 - 0.5, y1 + 0.5
        pad = 0.04 * (y1 - y0)
        y0, y1 = y0 - (pad if any(k == "scatter" or k == "line" for k, *_ in self.series) else 0), y1 + pad
        if any(k == "scatter" for k, *_ in self.series):
            padx = 0.04 * (x1 - x0)
            x0, x1 = x0 - padx, x1 + padx

        def sx(x: float) -> float:
            return left + (x - x0) / (x1 - x0) * pw

        def sy(y: float) -> float:
            return top + ph - (y - y0) / (y1 - y0) * ph

        out = [f'<svg class="chart" width="{w}" height="{h}" '
               f'viewBox="0 0 {w} {h}" role="img" aria-label="{escape(self.title)}">',
               f'<title>{escape(self.title)}</title>',
               f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fff" stroke="#999"/>',
               f'<text x="{w / 2:.1f}" y="18" text-anchor="middle" class="ct">{escape(self.title)}</text>']
        for t in _ticks(x0, x1):
            X = sx(t)
            out.append(f'<line x1="{X:.1f}" y1="{top + ph}" x2="{X:.1f}" y2="{top + ph + 4}" stroke="#666"/>'
                       f'<text x="{X:.1f}" y="{top + ph + 16}" text-anchor="middle" class="tk">{_fmt(t)}</text>')
        for t in _ticks(y0, y1):
            Y = sy(t)
            label = _fmt(10 ** t) if self.logy else _fmt(t)
            out.append(f'<line x1="{left - 4}" y1="{Y:.1f}" x2="{left + pw}" y2="{Y:.1f}" stroke="#eee"/>'
                       f'<text x="{left - 6}" y="{Y + 4:.1f}" text-anchor="end" class="tk">{label}</text>')
        out.append(f'<text x="{left + pw / 2:.1f}" y="{h - 8}" text-anchor="middle" class="al">{escape(self.xlabel)}</text>')
        out.append(f'<text transform="translate(14,{top + ph / 2:.1f}) rotate(-90)" text-anchor="middle" '
                   f'class="al">{escape(self.ylabel)}</text>')
        for kind, label, xs, ys, colour in self.series:
            pts = [(sx(x), sy(self._y(y))) for x, y in zip(xs, ys)
                   if math.isfinite(x) and math.isfinite(y) and (not self.logy or y > 0)]
            if kind == "scatter":
                out.append(f'<g class="series" data-label="{escape(label)}" fill="{colour}" fill-opacity="0.55">'
                           + "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.2"/>' for x, y in pts) + "</g>")
            elif pts:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
                out.append(f'<polyline class="series" data-label="{escape(label)}" fill="none" stroke="{colour}" '
                           f'stroke-width="1.6" points="{path}"/>')
        longest = max((len(label) for _, label, *_ in self.series), default=0)
        lx = max(left + 4, left + pw - 26 - 6.6 * longest)
        for i, (_, label, *_, colour) in enumerate(self.series):
            y = top + 12 + 16 * i
            out.append(f'<rect x="{lx:.1f}" y="{y - 9}" width="10" height="10" fill="{colour}"/>'
                       f'<text x="{lx + 15:.1f}" y="{y}" class="lg">{escape(label)}</text>')
        out.append("</svg>")
        return "".join(out)
