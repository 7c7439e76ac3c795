"""The ratings dashboard's chart, drawn server-side by pygal as inline SVG, in the style of
the objectives' charts (qms.reviews.charts): no script, no external reference."""

import re

import pygal
from flask_babel import gettext as _
from markupsafe import Markup

from qms.reviews.charts import STYLE

_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)


def rates_chart(rows, width: int = 720, height: int = 360) -> Markup:
    """Return a bar chart of the good-rating rate and follow-up satisfaction of each row."""
    chart = pygal.Bar(
        style=STYLE,
        js=[],  # no pygal.js from the internet: tooltips come from <title> elements
        disable_xml_declaration=True,
        explicit_size=False,
        width=width,
        height=height,
        range=(0, 100),
        title=_("Good-rating rate and follow-up satisfaction (%)"),
        legend_at_bottom=True,
        x_label_rotation=30 if len(rows) > 6 else 0,
        truncate_label=24,
        no_data_text=_("No rating in the period"),
    )
    chart.x_labels = [r.label for r in rows]
    chart.add(_("Good-rating rate"), [r.good_rate for r in rows])
    chart.add(_("Follow-up satisfaction"), [r.satisfaction_rate for r in rows])
    svg = chart.render(is_unicode=True)
    svg = re.sub(r"^<\?xml[^>]*\?>\s*", "", svg)
    return Markup(_SCRIPT.sub("", svg))
