"""A subject's totals across periods, drawn server-side by pygal as inline SVG.

The project's chart approach (see :mod:`qms.reviews.charts`): no script, no external
reference, the same style and fonts.
"""

import re

import pygal
from flask_babel import gettext as _
from markupsafe import Markup

from qms.reviews.charts import STYLE

_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def history_chart(points, thresholds, width: int = 560, height: int = 240) -> Markup:
    """Return the totals of ``points`` (oldest first) with the five-star line, as SVG."""
    chart = pygal.Line(
        style=STYLE,
        js=[],
        disable_xml_declaration=True,
        explicit_size=False,
        width=width,
        height=height,
        range=(0, 100),
        show_dots=True,
        dots_size=4,
        legend_at_bottom=True,
        x_label_rotation=30 if len(points) > 8 else 0,
        no_data_text=_("Not evaluated yet"),
        title=None,
    )
    chart.x_labels = [p.period for p in points]
    chart.add(
        _("Total"),
        [{"value": p.total, "label": "★" * p.stars} for p in points],
    )
    if points:
        chart.add(
            _("★★★★★ from"),
            [thresholds[0]] * len(points),
            show_dots=False,
            stroke_style={"width": 2, "dasharray": "6, 4"},
        )
    svg = chart.render(is_unicode=True)
    svg = re.sub(r"^<\?xml[^>]*\?>\s*", "", svg)
    # No script (pygal's tooltip config) and no comment (pygal's credits with its URLs).
    return Markup(_COMMENT.sub("", _SCRIPT.sub("", svg)))
