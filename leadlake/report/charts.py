"""Charts as inline SVG: a report that opens offline, in any browser, with nothing fetched from anywhere.

A plotting library would need a script or an image per chart; a handful of
rectangles, lines and circles drawn here keep the report one self-contained
file. Every data point is an SVG element of class ``point`` carrying its
value, so a browser test (or a curious reader's inspector) can count what a
chart shows. Every label is HTML-escaped: labels come from customer data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 170, 20, 24, 44
PALETTE = ("#2f6db3", "#d9822b", "#3a9a5b", "#b84a62", "#7b5ea7", "#6b7b8c")


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.0f}"
    return f"{value:.3g}"


def _figure(name: str, title: str, body: str, width: int = WIDTH, height: int = HEIGHT) -> str:
    return (f'<figure class="chart" data-chart="{escape(name)}"><figcaption>{escape(title)}</figcaption>'
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">{body}</svg></figure>')


def bar_chart(name: str, title: str, labels: Sequence[str], values: Sequence[float], *,
              value_label: str = "") -> str:
    """Horizontal bars, one per label: readable with long labels (reasons, need topics, product names)."""
    n = max(1, len(values))
    height = TOP + BOTTOM + 22 * n
    top = max([abs(float(v)) for v in values] + [1e-12])
    span = WIDTH - LEFT - RIGHT - 60
    parts = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = TOP + 22 * i
        w = span * abs(float(value)) / top
        parts.append(f'<text x="{LEFT - 6}" y="{y + 14}" text-anchor="end" font-size="12">'
                     f'{escape(str(label)[:28])}</text>'
                     f'<rect class="point" data-value="{float(value):.6g}" x="{LEFT}" y="{y + 3}" '
                     f'width="{max(w, 1):.1f}" height="15" fill="{PALETTE[0]}"><title>{escape(str(label))}: '
                     f'{_fmt(float(value))}</title></rect>'
                     f'<text x="{LEFT + max(w, 1) + 4:.1f}" y="{y + 14}" font-size="11">{_fmt(float(value))}</text>')
    if value_label:
        parts.append(f'<text x="{LEFT}" y="{height - 12}" font-size="11" fill="#555">{escape(value_label)}</text>')
    return _figure(name, title, "".join(parts), height=height)


def line_chart(name: str, title: str, series: Mapping[str, Sequence[tuple[float, float]]], *, x_label: str = "",
               y_label: str = "", x_ticks: Mapping[float, str] | None = None, diagonal: bool = False) -> str:
    """Lines with a circle per point; ``diagonal`` draws y = x (a calibration chart's perfect model)."""
    points = [p for s in series.values() for p in s]
    if not points:
        return _figure(name, title, '<text x="20" y="40">no data</text>')
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(0.0, min(ys)), max(ys)
    if diagonal:
        x0, y0 = min(x0, y0), min(x0, y0)
        x1 = y1 = max(x1, y1)
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1)
    left = 60
    pw, ph = WIDTH - left - RIGHT - 120, HEIGHT - TOP - BOTTOM

    def sx(x: float) -> float:
        return left + pw * (x - x0) / (x1 - x0)

    def sy(y: float) -> float:
        return TOP + ph - ph * (y - y0) / (y1 - y0)

    parts = [f'<line x1="{left}" y1="{TOP + ph}" x2="{left + pw}" y2="{TOP + ph}" stroke="#999"/>',
             f'<line x1="{left}" y1="{TOP}" x2="{left}" y2="{TOP + ph}" stroke="#999"/>']
    for frac in (0.0, 0.5, 1.0):
        yv = y0 + frac * (y1 - y0)
        parts.append(f'<text x="{left - 4}" y="{sy(yv) + 4:.1f}" text-anchor="end" font-size="10">{_fmt(yv)}</text>')
    ticks = x_ticks or {x0: _fmt(x0), x1: _fmt(x1)}
    for xv, label in ticks.items():
        parts.append(f'<text x="{sx(xv):.1f}" y="{TOP + ph + 14}" text-anchor="middle" font-size="10">'
                     f'{escape(str(label))}</text>')
    if diagonal:
        parts.append(f'<line x1="{sx(x0):.1f}" y1="{sy(x0):.1f}" x2="{sx(x1):.1f}" y2="{sy(x1):.1f}" '
                     'stroke="#bbb" stroke-dasharray="4 3"/>')
    for k, (label, pts) in enumerate(series.items()):
        colour = PALETTE[k % len(PALETTE)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        parts.extend(f'<circle class="point" data-value="{y:.6g}" cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" '
                     f'fill="{colour}"><title>{escape(label)}: {_fmt(y)}</title></circle>' for x, y in pts)
        parts.append(f'<rect x="{left + pw + 10}" y="{TOP + 16 * k}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{left + pw + 24}" y="{TOP + 9 + 16 * k}" font-size="11">{escape(label[:18])}</text>')
    parts.append(f'<text x="{left + pw / 2:.0f}" y="{HEIGHT - 8}" text-anchor="middle" font-size="11" '
                 f'fill="#555">{escape(x_label)}</text>')
    parts.append(f'<text x="12" y="{TOP + ph / 2:.0f}" font-size="11" fill="#555" '
                 f'transform="rotate(-90 12 {TOP + ph / 2:.0f})" text-anchor="middle">{escape(y_label)}</text>')
    return _figure(name, title, "".join(parts))


def histogram(name: str, title: str, values: Sequence[float], *, bins: int = 20, x_label: str = "",
              log_scale: bool = False, share: bool = False) -> str:
    """Counts of ``values`` in equal-width bins (of log10(1 + value) when ``log_scale``: CLV is long-tailed).

    ``share`` labels the bars as shares of all values: right when the values
    are evenly spaced quantiles of a bigger population, whose counts mean nothing.
    """
    vals = [math.log10(1 + max(v, 0.0)) if log_scale else float(v) for v in values if v is not None]
    if not vals:
        return _figure(name, title, '<text x="20" y="40">no data</text>')
    lo, hi = min(vals), max(vals)
    hi = hi if hi > lo else lo + 1
    counts = [0] * bins
    for v in vals:
        counts[min(bins - 1, int((v - lo) / (hi - lo) * bins))] += 1
    left = 60
    pw, ph = WIDTH - left - RIGHT, HEIGHT - TOP - BOTTOM
    top = max(counts) or 1
    bw = pw / bins
    parts = []
    def label(c: int) -> str:
        return f"{c / len(vals):.0%}" if share else str(c)

    for i, c in enumerate(counts):
        h = ph * c / top
        edge = lo + (hi - lo) * i / bins
        shown = 10 ** edge - 1 if log_scale else edge
        parts.append(f'<rect class="point" data-value="{c}" x="{left + i * bw + 1:.1f}" y="{TOP + ph - h:.1f}" '
                     f'width="{bw - 2:.1f}" height="{max(h, 0.5):.1f}" fill="{PALETTE[0]}"><title>from '
                     f'{_fmt(shown)}: {label(c)}</title></rect>')
    for frac in (0.0, 0.5, 1.0):
        edge = lo + (hi - lo) * frac
        shown = 10 ** edge - 1 if log_scale else edge
        parts.append(f'<text x="{left + pw * frac:.1f}" y="{TOP + ph + 14}" text-anchor="middle" font-size="10">'
                     f'{_fmt(shown)}</text>')
    parts.append(f'<text x="{left - 4}" y="{TOP + 4}" text-anchor="end" font-size="10">{label(top)}</text>')
    parts.append(f'<text x="{left + pw / 2:.0f}" y="{HEIGHT - 8}" text-anchor="middle" font-size="11" '
                 f'fill="#555">{escape(x_label)}{" (log scale)" if log_scale else ""}</text>')
    return _figure(name, title, "".join(parts))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, numeric: Sequence[int] = ()) -> str:
    """An HTML table of already-formatted cells; every cell escaped."""
    head = "".join(f"<th>{escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(
        f'<td{" class=num" if j in numeric else ""}>{escape("" if c is None else str(c))}</td>'
        for j, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
