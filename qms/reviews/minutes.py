"""The minutes of a management review as Markdown, and their DOCX and PDF copies.

Everything people typed is escaped, so a title like ``*urgent*`` or a line starting with
``#`` prints as typed instead of turning into Markdown formatting.
"""

import re
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from qms import render
from qms.i18n import when
from qms.reviews import labels
from qms.reviews.labels import decision_label, section_title, state_label
from qms.reviews.models import Review

FORMATS = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~^$@&:\"'=])")


def _status(item: dict) -> str:
    return labels.input_status_label(item["kind"], item["status"])


def escape(text) -> str:
    """Escape Markdown syntax in user text; line breaks are kept as hard breaks."""
    lines = str(text if text is not None else "").replace("\r\n", "\n").split("\n")
    return "\\\n".join(_SPECIAL.sub(r"\\\1", line) for line in lines)


def _cell(text) -> str:
    return escape(text).replace("\\\n", " ")


def _value(fig: dict) -> str:
    if fig["value"] is None:
        return _("not available")
    value = fig["value"]
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{shown} {fig['unit']}".strip()


def _met(met) -> str:
    return {True: _("met"), False: _("not met")}.get(met, "—")


def markdown(review: Review) -> str:
    """Return the minutes of a held review, from its frozen inputs and its decisions."""
    lines = [
        f"# {escape(review.number)} {escape(review.title)}",
        "",
        f"| {_('Meeting date')} | {review.held_on or review.planned_on} |",
        "|---|---|",
        f"| {_('Chair')} | {_cell(review.chair.display_name)} |",
        f"| {_('Attendees')} | "
        f"{_cell(', '.join(u.display_name for u in review.attendees)) or '—'} |",
        f"| {_('Period reviewed')} | {review.period_start} – {review.period_end} |",
        "",
        f"## {_('Inputs (ISO 9001:2015 §9.3.2)')}",
        "",
    ]
    for section in (review.inputs or {}).get("sections", []):
        lines += [f"### {section['clause']} {section_title(section['key'])}", ""]
        if section["figures"]:
            lines += [f"| {_('Figure')} | {_('Value')} | {_('Basis')} |", "|---|---|---|"]
            for fig in section["figures"]:
                lines.append(
                    f"| {_cell(fig['label'])} | {_cell(_value(fig))} | {_cell(fig['detail'])} |"
                )
            lines.append("")
        objective_items = [i for i in section["items"] if i["kind"] in ("objective", "measurement")]
        if objective_items:
            lines += [
                f"| {_('Objective')} | {_('Period')} | {_('Value')} | {_('Result')} |",
                "|---|---|---|---|",
            ]
            for item in objective_items:
                value = "—" if item["value"] is None else f"{item['value']:g} {item['unit']}"
                lines.append(
                    f"| {_cell(item['key'])} | {item['period'] or '—'} | {_cell(value)} | "
                    f"{_met(item['met'])} |"
                )
            lines.append("")
        others = [i for i in section["items"] if i["kind"] not in ("objective", "measurement")]
        for item in others:
            value = f" {item['value']:g} {item.get('unit', '')}" if "value" in item else ""
            lines.append(
                f"- {_cell(item['key'])}: {_cell(item.get('text', ''))}{value.rstrip()}"
                + (_(" (%(status)s)", status=_cell(_status(item))) if item.get("status") else "")
            )
        if others:
            lines.append("")
        if section.get("text"):
            lines += [escape(section["text"]), ""]
    if review.discussion:
        lines += [f"## {_('Discussion')}", "", escape(review.discussion), ""]
    lines += [f"## {_('Decisions and actions (ISO 9001:2015 §9.3.3)')}", ""]
    if not review.decisions:
        lines += [_("No decision was recorded."), ""]
    for number, decision in enumerate(review.decisions, start=1):
        actions = ", ".join(decision.actions) if decision.actions else "—"
        lines.append(
            f"{number}. **{escape(decision_label(decision.kind))}**: {_cell(decision.text)} "
            f"— {_('Actions')}: {escape(actions)}"
        )
    lines.append("")
    return "\n".join(lines)


def controlled_copy(review: Review) -> render.ControlledCopy:
    signatures = ()
    if review.approved_at is not None:
        signatures = (
            (
                _("approved"),
                review.chair.display_name,
                when(review.approved_at),
            ),
        )
    return render.ControlledCopy(
        code=review.number,
        title=review.title,
        revision="1",
        status=state_label(review.state),
        effective_date=review.approved_at.date().isoformat() if review.approved_at else None,
        signatures=signatures,
        labels={
            "revision": _("Revision"),
            "effective_date": _("Approved on"),
            "status": _("Status"),
            "page": _("Page"),
            "approved_by": _("Approved by"),
            "controlled_copy": _("Record"),
            "signatures": _("Signatures"),
            "meaning": _("Meaning"),
            "signer": _("Signed by"),
            "time": _("Time"),
            "code": _("Number"),
            "title": _("Title"),
        },
        lang=review.minutes_lang or "en",
    )


def download(review: Review, fmt: str) -> tuple[bytes, str, str]:
    """Return (bytes, mimetype, filename) of the approved minutes in ``fmt``."""
    body = review.minutes or markdown(review)
    cache = Path(current_app.config["QMS_CACHE_DIR"]) / "render"
    data = render.render(body, fmt, controlled_copy(review), cache)
    return data, FORMATS[fmt], f"{review.number}-minutes.{fmt}"
