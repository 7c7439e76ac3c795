"""The heat map and the trend of high risks, drawn on the server as inline SVG.

No script and no external reference: the SVG is part of the page, in the reader's
language, and each heat-map cell links to the register filtered to that cell.
"""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup, escape

from qms.risks import labels
from qms.risks.figures import Cell
from qms.risks.matrix import Scales

COLOURS = {"low": "#bbf7d0", "medium": "#fde68a", "high": "#fca5a5"}
FONT = 'font-family="Noto Sans CJK SC, Noto Sans CJK TC, PingFang SC, Microsoft YaHei, sans-serif"'


def heat_map_svg(rows: list[list[Cell]], scales: Scales, args=None) -> Markup:
    """Return the likelihood x impact grid with the count of entries in each cell."""
    keep = {k: v for k, v in (args or {}).items() if k in ("kind", "department", "process")}
    size, left, top = 64, 130, 10
    n = scales.scale
    width, height = left + n * size + 10, top + n * size + 90
    title = escape(_("Heat map of risks and opportunities"))
    impact, likelihood = escape(_("Impact")), escape(_("Likelihood"))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" class="heat-map" {FONT}>',
        f"<title>{title}</title>",
    ]
    for r, row in enumerate(rows):
        y = top + r * size
        name = scales.likelihood_names[row[0].likelihood - 1]
        parts.append(
            f'<text x="{left - 6}" y="{y + size / 2 + 4}" text-anchor="end" font-size="11">'
            f"{row[0].likelihood} {escape(name)}</text>"
        )
        for c, cell in enumerate(row):
            x = left + c * size
            href = url_for("risks.index", likelihood=cell.likelihood, impact=cell.impact, **keep)
            tip = _(
                "Likelihood %(l)d × impact %(i)d: %(level)s, %(count)d entries",
                l=cell.likelihood,
                i=cell.impact,
                level=labels.level_label(cell.level),
                count=cell.count,
            )
            parts.append(
                f'<a href="{escape(href)}" class="heat-cell heat-{cell.level}" '
                f'data-count="{cell.count}"><title>{escape(tip)}</title>'
                f'<rect x="{x}" y="{y}" width="{size - 2}" height="{size - 2}" '
                f'fill="{COLOURS[cell.level]}" stroke="#1f2933" stroke-width="0.5"/>'
                f'<text x="{x + size / 2 - 1}" y="{y + size / 2 + 6}" text-anchor="middle" '
                f'font-size="{18 if cell.count else 12}" '
                f'fill="{"#1f2933" if cell.count else "#7b8794"}">{cell.count}</text></a>'
            )
    base = top + n * size
    for c in range(n):
        x = left + c * size + size / 2
        parts.append(
            f'<text x="{x}" y="{base + 14}" text-anchor="middle" font-size="11">{c + 1}</text>'
            f'<text x="{x}" y="{base + 28}" text-anchor="middle" font-size="10">'
            f"{escape(scales.impact_names[c])}</text>"
        )
    parts.append(
        f'<text x="{left + n * size / 2}" y="{base + 48}" text-anchor="middle" '
        f'font-size="12" font-weight="bold">{impact}</text>'
        f'<text x="12" y="{top + n * size / 2}" font-size="12" font-weight="bold" '
        f'transform="rotate(-90 12 {top + n * size / 2})" text-anchor="middle">'
        f"{likelihood}</text>"
    )
    for k, level in enumerate(("low", "medium", "high")):
        x = left + k * 90
        parts.append(
            f'<rect x="{x}" y="{base + 62}" width="14" height="14" fill="{COLOURS[level]}" '
            f'stroke="#1f2933" stroke-width="0.5"/><text x="{x + 20}" y="{base + 74}" '
            f'font-size="11">{escape(labels.level_label(level))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def trend_svg(points: list[tuple[str, int]]) -> Markup:
    """Return columns of the number of high entries at each month's end."""
    left, top, bar, gap, plot = 34, 24, 30, 12, 140
    width = left + len(points) * (bar + gap) + 10
    height = top + plot + 44
    top_value = max([v for _m, v in points] + [1])
    title = escape(_("High risks at the end of each month"))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" class="risk-trend" {FONT}>',
        f"<title>{title}</title>",
        f'<line x1="{left}" y1="{top + plot}" x2="{width - 6}" y2="{top + plot}" '
        f'stroke="#7b8794"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="10">{top_value}</text>',
        f'<text x="{left - 6}" y="{top + plot}" text-anchor="end" font-size="10">0</text>',
    ]
    for k, (month, value) in enumerate(points):
        x = left + gap / 2 + k * (bar + gap)
        h = plot * value / top_value
        tip = _("%(month)s: %(count)d high", month=month, count=value)
        parts.append(
            f'<g class="trend-month" data-month="{month}" data-count="{value}">'
            f"<title>{escape(tip)}</title>"
            f'<rect x="{x}" y="{top + plot - h}" width="{bar}" height="{h}" fill="#b91c1c"/>'
            f'<text x="{x + bar / 2}" y="{top + plot - h - 4}" text-anchor="middle" '
            f'font-size="10">{value}</text>'
            f'<text x="{x + bar / 2}" y="{top + plot + 14}" text-anchor="middle" '
            f'font-size="9">{month[2:]}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
