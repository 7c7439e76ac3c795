"""Standard coverage of the service catalogue, and its gaps (无标 / 缺标): the one rule.

An active service item is

- **governed** (有标) when at least one of what governs it is sound: a document of the
  register that is effective and not overdue for its periodic review, or an external
  standard in force;
- **short** (缺标) when something governs it but none of it is sound: every standard is
  withdrawn or replaced, every document obsolete, overdue for review or not yet in force;
- **missing** (无标) when nothing governs it at all.

Coverage is governed ÷ active items, overall and per department, against
:data:`TARGET` (90 %). A document overdue for review still counts for nothing until it
is reviewed: an item whose only document is stale needs work, so it shows in the work
queue rather than in the figure. The pages, the API and the dashboard all read
:func:`assess` and :func:`figures`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from markupsafe import Markup

from qms import clock
from qms.standards import catalogue
from qms.standards.models import ServiceItem

#: The share of items with governing standards the centre aims for, in percent.
TARGET = 90
STATES = ("covered", "short", "missing")


@dataclass
class Reason:
    """Why one thing governing an item falls short: its kind, and what it names."""

    kind: str  # withdrawn, replaced, obsolete, review_overdue, not_effective
    subject: str  # the standard's number or the document's code
    #: The standard that replaces a replaced one, when the register knows it.
    replacement: object = None


@dataclass
class ItemCoverage:
    item: ServiceItem
    state: str
    reasons: list[Reason] = field(default_factory=list)


@dataclass
class Share:
    """How many of ``total`` items are governed, as a share."""

    label: str
    total: int
    covered: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.covered / self.total, 1) if self.total else None

    @property
    def meets_target(self) -> bool:
        return self.percent is not None and self.percent >= TARGET


@dataclass
class Figures:
    overall: Share
    short: int
    missing: int
    departments: list[Share]
    target: int = TARGET


def _document_reason(doc, today) -> str | None:
    """Return why ``doc`` does not govern soundly, or None when it does."""
    if doc.status == "obsolete":
        return "obsolete"
    if doc.status != "effective":
        return "not_effective"
    if doc.next_review_due is not None and doc.next_review_due < today:
        return "review_overdue"
    return None


def assess_item(item: ServiceItem, today=None) -> ItemCoverage:
    """Return ``item``'s coverage state and, when it falls short, why."""
    today = today or clock.today()
    if not item.document_rows and not item.standard_rows:
        return ItemCoverage(item, "missing")
    reasons = []
    for row in item.document_rows:
        reason = _document_reason(row.document, today)
        if reason is None:
            return ItemCoverage(item, "covered")
        reasons.append(Reason(reason, row.document.code))
    for row in item.standard_rows:
        standard = row.standard
        if standard.status == "in_force":
            return ItemCoverage(item, "covered")
        reasons.append(
            Reason(standard.status, standard.number, catalogue.successor_in_force(standard))
        )
    return ItemCoverage(item, "short", reasons)


def assess(items: list[ServiceItem] | None = None) -> list[ItemCoverage]:
    """Return the coverage of ``items`` (by default every active item), by code."""
    today = clock.today()
    items = catalogue.active_items() if items is None else items
    return [assess_item(item, today) for item in items if item.active]


def figures(assessed: list[ItemCoverage] | None = None) -> Figures:
    """Return coverage overall and per department (those without one last)."""
    assessed = assess() if assessed is None else assessed
    by_department: dict[str, list[ItemCoverage]] = {}
    for entry in assessed:
        name = entry.item.department.name if entry.item.department else ""
        by_department.setdefault(name, []).append(entry)
    departments = [
        Share(
            name or _("No department"),
            len(entries),
            sum(e.state == "covered" for e in entries),
        )
        for name, entries in sorted(by_department.items(), key=lambda kv: (not kv[0], kv[0]))
    ]
    return Figures(
        overall=Share(_("All items"), len(assessed), sum(e.state == "covered" for e in assessed)),
        short=sum(e.state == "short" for e in assessed),
        missing=sum(e.state == "missing" for e in assessed),
        departments=departments,
    )


def gaps(assessed: list[ItemCoverage] | None = None) -> list[ItemCoverage]:
    """Return the work queue: items with no standard first, then those falling short."""
    assessed = assess() if assessed is None else assessed
    order = {"missing": 0, "short": 1}
    return sorted(
        (e for e in assessed if e.state != "covered"),
        key=lambda e: (order[e.state], e.item.code),
    )


# -- the picture ------------------------------------------------------------------------------


def chart(result: Figures, width: int = 720, height: int = 340) -> Markup:
    """Return coverage per department as bars against the target line, as inline SVG.

    Drawn server-side by pygal like the objectives' charts (:mod:`qms.reviews.charts`):
    no script, no external reference. The target is the one major guide line.
    """
    import copy
    import re

    import pygal

    from qms.reviews.charts import STYLE

    style = copy.copy(STYLE)
    style.major_guide_stroke_color = "#b91c1c"
    style.major_guide_stroke_dasharray = "8,5"
    shares = [result.overall, *result.departments]
    chart = pygal.Bar(
        style=style,
        js=[],
        disable_xml_declaration=True,
        explicit_size=False,
        width=width,
        height=height,
        title=_("Standard coverage (target %(target)s %%)", target=result.target),
        y_title=_("Items governed (%)"),
        range=(0, 100),
        y_labels=[0, 20, 40, 60, 80, result.target, 100],
        y_labels_major=[result.target],
        show_minor_y_labels=True,
        show_legend=False,
        x_label_rotation=20 if len(shares) > 4 else 0,
        truncate_label=-1,
        no_data_text=_("No service item yet"),
        print_values=True,
        value_formatter=lambda v: f"{v:g} %",
    )
    chart.x_labels = [s.label for s in shares]
    chart.add(
        _("Coverage"),
        [
            {
                "value": s.percent or 0,
                "label": _("%(covered)s of %(total)s", covered=s.covered, total=s.total),
                "color": "#15803d" if s.meets_target else "#b91c1c",
            }
            for s in shares
        ],
    )
    svg = chart.render(is_unicode=True)
    svg = re.sub(r"^<\?xml[^>]*\?>\s*", "", svg)
    svg = re.sub(r"<script\b.*?</script>", "", svg, flags=re.DOTALL)
    return Markup(svg)
