"""Charts of objectives over time, drawn server-side by pygal as inline SVG.

No script and no external reference: the SVG is part of the page, so it renders offline
and uses the browser's fonts, with a font list that covers Chinese.
"""

import functools
import re
import sys

import pygal
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup
from pygal.style import Style

from qms.reviews.models import Objective

# pygal appends a legacy sys.meta_path finder (for its map plugins, unused here) that has
# no find_spec(); every failed import anywhere then raises an ImportWarning. Take it out.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

FONTS = (
    '"Noto Sans CJK SC", "Noto Sans CJK TC", "Source Han Sans SC", "Source Han Sans TC", '
    '"PingFang SC", "PingFang TC", "Microsoft YaHei", "Microsoft JhengHei", '
    '"WenQuanYi Micro Hei", "Noto Sans", "Helvetica Neue", Arial, sans-serif'
)
STYLE = Style(
    background="transparent",
    plot_background="#ffffff",
    foreground="#1f2933",
    foreground_strong="#1f2933",
    foreground_subtle="#7b8794",
    colors=("#1d4ed8", "#b91c1c", "#15803d"),
    font_family=FONTS,
    title_font_family=FONTS,
    label_font_family=FONTS,
    major_label_font_family=FONTS,
    value_font_family=FONTS,
    value_label_font_family=FONTS,
    tooltip_font_family=FONTS,
    legend_font_family=FONTS,
    no_data_font_family=FONTS,
    title_font_size=15,
    label_font_size=11,
    major_label_font_size=11,
    legend_font_size=12,
    no_data_font_size=14,
    guide_stroke_color="#d9dee4",
    major_guide_stroke_color="#bcc5cf",
    guide_stroke_dasharray="2,3",
    major_guide_stroke_dasharray="2,3",
    stroke_width="2",
)
_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)


def _svg(chart) -> Markup:
    svg = chart.render(is_unicode=True)
    # Drop the XML declaration (the SVG is inline in an HTML page) and the config script
    # pygal always writes for its tooltip JavaScript, which is not used.
    svg = re.sub(r"^<\?xml[^>]*\?>\s*", "", svg)
    svg = _SCRIPT.sub("", svg)
    return Markup(svg)


def _config(**extra) -> dict:
    return {
        "style": STYLE,
        # No pygal.js from the internet: tooltips come from <title> elements instead.
        "js": [],
        "disable_xml_declaration": True,
        "explicit_size": False,
        "show_dots": True,
        "dots_size": 4,
        "no_data_text": _("No measurement yet"),
        **extra,
    }


def objective_chart(objective: Objective, width: int = 720, height: int = 360) -> Markup:
    """Return the objective's measurements over time with its target line, as SVG."""
    measurements = list(objective.measurements)
    chart = pygal.Line(
        **_config(
            width=width,
            height=height,
            title=_("%(name)s over time", name=objective.name),
            x_title=_("Period"),
            y_title=objective.unit or _("Value"),
            legend_at_bottom=True,
            x_label_rotation=30 if len(measurements) > 8 else 0,
            truncate_label=-1,
        )
    )
    chart.x_labels = [m.period for m in measurements]
    chart.add(
        _("Measured"),
        [
            {
                "value": m.value,
                "label": _("met") if m.meets_target else _("not met"),
                "color": "#15803d" if m.meets_target else "#b91c1c",
            }
            for m in measurements
        ],
    )
    chart.add(
        _("Target (%(direction)s)", direction=_direction(objective)),
        [objective.target] * len(measurements),
        show_dots=False,
        stroke_style={"width": 3, "dasharray": "8, 5"},
    )
    return _svg(chart)


def sparkline(
    objective: Objective, measurements=None, width: int = 260, height: int = 70
) -> Markup:
    """Return a small chart (last 12 values and the target) for the dashboard.

    ``measurements`` are the objective's latest ones when the caller has them
    (:func:`objectives.statuses`); else its measurements are loaded.
    """
    if measurements is None:
        measurements = objective.measurements
    values = tuple(m.value for m in list(measurements)[-12:])
    return _sparkline(values, objective.target, width, height, str(get_locale()))


# The same values draw the same chart: a dashboard of a hundred objectives drew a hundred
# pygal charts on every request; now each is drawn once per process until a value changes.
@functools.lru_cache(maxsize=1024)
def _sparkline(values: tuple, target: float, width: int, height: int, locale: str) -> Markup:
    chart = pygal.Line(
        **_config(
            width=width,
            height=height,
            show_legend=False,
            show_x_labels=False,
            show_y_labels=False,
            show_y_guides=False,
            margin=4,
            dots_size=2,
            title=None,
        )
    )
    chart.add(_("Measured"), list(values))
    chart.add(
        _("Target"),
        [target] * len(values),
        show_dots=False,
        stroke_style={"width": 1, "dasharray": "3, 3"},
    )
    return _svg(chart)


def _direction(objective: Objective) -> str:
    return _("higher is better") if objective.direction == "higher" else _("lower is better")
