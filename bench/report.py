"""The table of measures every benchmark ends with: figure, baseline, ratio, target, met."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Row:
    measure: str
    figure: str
    baseline: str
    ratio: float | None
    target: str
    met: bool | None
    store: str = ""  # shown as a first column when any row names one


def table_lines(rows: list[Row]) -> list[str]:
    stores = any(r.store for r in rows)
    header = (("store",) if stores else ()) + (
        "measure", "figure", "baseline", "ratio", "target", "met")
    table = [header] + [
        ((r.store,) if stores else ()) + (
            r.measure, r.figure, r.baseline, "" if r.ratio is None else f"{r.ratio:.2f}x",
            r.target, "" if r.met is None else ("yes" if r.met else "NO")) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
             for line in table]
    return [lines[0], "  ".join("-" * width for width in widths), *lines[1:]]
