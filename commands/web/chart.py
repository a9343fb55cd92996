"""The Runs page's chart, drawn on the server as SVG: records decided (bars, left axis) and
API calls (a line, right axis) of each run, oldest on the left; a failed or partial run is
marked. No script and no style attribute: presentation attributes and classes only, so the
page's Content-Security-Policy (self only, no inline styles) holds."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from markupsafe import Markup

WIDTH, HEIGHT = 900, 220
LEFT, RIGHT, TOP, BOTTOM = 52, 52, 16, 40
MARKED = ("failed", "partial", "interrupted")


@dataclass(frozen=True)
class Point:
    run_id: str
    started_at: str
    records: int
    api_calls: int
    outcome: str


def records_of(run: dict[str, Any]) -> int:
    """Every record the run decided: created, updated, skipped or failed, of every kind."""
    return sum(sum(kinds.values()) for kinds in run["counts"].values())


def points(runs: list[dict[str, Any]]) -> list[Point]:
    """The runs of a page (newest first) as the chart's points, oldest first."""
    return [Point(r["run_id"], r["started_at"], records_of(r), r["api_calls_total"],
                  r["outcome"]) for r in reversed(runs)]


def _top(value: int) -> int:
    """A round axis maximum at or above value: 1, 2, 5, 10, 20, 50, ..."""
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= value:
                return step * scale
        scale *= 10


def runs_chart(runs: list[dict[str, Any]], run_url: str = "/runs/") -> Markup:
    found = points(runs)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">',
             '<title id="chart-title">Records and API calls per run, oldest on the left; '
             'failed or partial runs marked</title>']
    if not found:
        parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" '
                     'class="muted">no runs</text></svg>')
        return Markup("".join(parts))
    max_records = _top(max(p.records for p in found))
    max_calls = _top(max(p.api_calls for p in found))
    slot = plot_w / len(found)
    bar = max(min(slot * 0.6, 40), 1)

    def y_of(value: int, top: int) -> float:
        return TOP + plot_h - plot_h * value / top

    # Grid and axes.
    for i in range(5):
        y = TOP + plot_h * i / 4
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
                     'class="grid"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">'
                     f'{max_records * (4 - i) / 4:,.6g}</text>')
        parts.append(f'<text x="{LEFT + plot_w + 6}" y="{y + 4:.1f}" class="axis calls">'
                     f'{max_calls * (4 - i) / 4:,.6g}</text>')
    parts.append(f'<text x="12" y="{TOP + plot_h / 2:.0f}" class="axis-title" '
                 f'transform="rotate(-90 12 {TOP + plot_h / 2:.0f})" text-anchor="middle">'
                 'records</text>')
    parts.append(f'<text x="{WIDTH - 8}" y="{TOP + plot_h / 2:.0f}" class="axis-title calls" '
                 f'transform="rotate(90 {WIDTH - 8} {TOP + plot_h / 2:.0f})" '
                 'text-anchor="middle">API calls</text>')
    line: list[str] = []
    for index, point in enumerate(found):
        x = LEFT + slot * index + slot / 2
        y = y_of(point.records, max_records)
        marked = point.outcome in MARKED
        tip = escape(f"run {point.run_id} {point.started_at[:19]} {point.outcome}: "
                     f"{point.records:,} records, {point.api_calls:,} API calls")
        parts.append(f'<a href="{escape(run_url + point.run_id)}"><g class="run '
                     f'{"marked" if marked else ""}"><title>{tip}</title>'
                     f'<rect x="{x - bar / 2:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                     f'height="{TOP + plot_h - y:.1f}" class="bar {point.outcome}"/>')
        if marked:
            parts.append(f'<path d="M{x:.1f},{TOP + plot_h + 6:.1f} l-5,9 h10 z" '
                         f'class="mark {point.outcome}"/>')
        parts.append("</g></a>")
        line.append(f"{x:.1f},{y_of(point.api_calls, max_calls):.1f}")
    parts.append(f'<polyline points="{" ".join(line)}" class="calls-line"/>')
    for xy in line:
        cx, cy = xy.split(",")
        parts.append(f'<circle cx="{cx}" cy="{cy}" r="3" class="calls-dot"/>')
    first, last = found[0].started_at[:16].replace("T", " "), \
        found[-1].started_at[:16].replace("T", " ")
    parts.append(f'<text x="{LEFT}" y="{HEIGHT - 6}" class="axis">{escape(first)}</text>')
    parts.append(f'<text x="{LEFT + plot_w}" y="{HEIGHT - 6}" text-anchor="end" '
                 f'class="axis">{escape(last)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
