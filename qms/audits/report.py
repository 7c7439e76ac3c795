"""The audit report: composed in Markdown, signed, and rendered to DOCX and PDF by pandoc.

What the lead auditor signs is the Markdown text itself; its sha256 is kept with it, and
the DOCX and PDF copies are regenerated from that exact text (cached by content).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from qms import clock, render
from qms.audits import checklists
from qms.audits.labels import result_label, type_label
from qms.audits.models import RESULTS, Audit
from qms.errors import Conflict, NotFound
from qms.i18n import when


def distribution_of_results(audit: Audit) -> dict[str, int]:
    """Return how many questions have each result, in the order of :data:`RESULTS`."""
    counts = {r: 0 for r in RESULTS}
    for q in audit.questions:
        if q.result:
            counts[q.result] += 1
    return counts


def _cell(text: str | None) -> str:
    """Make user text safe inside a Markdown table cell."""
    return re.sub(r"\s+", " ", (text or "").replace("|", "\\|")).strip() or "—"


def report_markdown(audit: Audit, lang: str) -> str:
    """Compose the report (scope, team, summary, strengths, findings, distribution) in ``lang``."""
    with force_locale(lang):
        titles = checklists.clause_titles(lang)
        lines = [
            f"# {_('Internal audit report')} {audit.ref}",
            "",
            f"**{_cell(audit.title)}**",
            "",
            f"| {_('Item')} | {_('Details')} |",
            "|---|---|",
            f"| {_('Type')} | {type_label(audit.audit_type)} |",
            f"| {_('Dates')} | {audit.planned_start} – {audit.planned_end} |",
            f"| {_('Lead auditor')} | {_cell(audit.lead_auditor.display_name)} |",
            f"| {_('Audit team')} | {_cell(', '.join(u.display_name for u in audit.team))} |",
            f"| {_('Auditees')} | {_cell(', '.join(u.display_name for u in audit.auditees))} |",
            f"| {_('Departments')} | {_cell(', '.join(d.name for d in audit.departments))} |",
            f"| {_('Processes')} | {_cell(', '.join(audit.processes or []))} |",
            f"| {_('Clauses')} | {_cell(', '.join(audit.clauses))} |",
            f"| {_('Criteria')} | "
            + _cell(
                ", ".join(
                    f"{r.document.code} {_('rev.')} {r.revision or '—'}"
                    for r in audit.document_rows
                )
            )
            + " |",
        ]
        if audit.opening_meeting:
            lines.append(f"| {_('Opening meeting')} | {when(audit.opening_meeting)} |")
        if audit.closing_meeting:
            lines.append(f"| {_('Closing meeting')} | {when(audit.closing_meeting)} |")
        lines += ["", f"## {_('Objectives')}", "", audit.objectives or "—", ""]
        lines += [f"## {_('Summary')}", "", audit.summary or "—", ""]
        lines += [f"## {_('Strengths')}", "", audit.strengths or "—", ""]
        findings = [
            q for q in audit.questions if q.result not in (None, "conforming", "not_audited")
        ]
        lines += [f"## {_('Findings')}", ""]
        if findings:
            lines += [
                f"| {_('No.')} | {_('Clause')} | {_('Result')} | {_('Finding')} | "
                f"{_('NC / action')} |",
                "|---|---|---|---|---|",
            ]
            for q in findings:
                clause = q.clause or "—"
                main = ".".join(clause.split(".")[:2])
                if main in titles:
                    clause = f"{clause} {titles[main]}"
                lines.append(
                    f"| {q.seq} | {_cell(clause)} | {result_label(q.result)} | "
                    f"{_cell(q.evidence)} | {_cell(q.nc_number or q.action_ref)} |"
                )
        else:
            lines.append(_("No nonconformity, observation or opportunity was recorded."))
        counts = distribution_of_results(audit)
        lines += [
            "",
            f"## {_('Results')}",
            "",
            f"| {_('Result')} | {_('Questions')} |",
            "|---|---:|",
        ]
        lines += [f"| {result_label(r)} | {n} |" for r, n in counts.items()]
        lines += ["", f"## {_('Distribution')}", "", audit.distribution or "—", ""]
        signer = audit.report_signed_by or audit.lead_auditor
        if audit.report_signed_at:
            lines += [
                _(
                    "Signed by the lead auditor %(name)s on %(time)s.",
                    name=signer.display_name,
                    time=when(audit.report_signed_at),
                ),
                "",
            ]
    return "\n".join(lines)


FORMATS = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
    "md": "text/markdown; charset=utf-8",
}


def report_file(audit: Audit, fmt: str) -> tuple[bytes, str, str]:
    """Return (bytes, mimetype, filename) of the signed report, regenerated from what was signed.

    :raises Conflict: the report is not signed yet, or its stored text no longer matches
        the signed hash.
    """
    if fmt not in FORMATS:
        raise NotFound(_("Unknown format %(fmt)s.", fmt=fmt))
    if not audit.report_body or not audit.report_sha256:
        raise Conflict(_("The report of %(ref)s is not signed yet.", ref=audit.ref))
    if hashlib.sha256(audit.report_body.encode("utf-8")).hexdigest() != audit.report_sha256:
        raise Conflict(
            _("The stored report of %(ref)s does not match its signature.", ref=audit.ref)
        )
    name = f"{audit.ref}-report.{fmt}"
    if fmt == "md":
        return audit.report_body.encode("utf-8"), FORMATS[fmt], name
    lang = audit.report_lang or "en"
    with force_locale(lang):
        signer = audit.report_signed_by
        copy = render.ControlledCopy(
            code=audit.ref,
            title=audit.title,
            revision="1",
            status=_("Signed audit report"),
            effective_date=clock.local(audit.report_signed_at).date().isoformat(),
            signatures=(
                (
                    _("Lead auditor"),
                    signer.display_name,
                    when(audit.report_signed_at),
                ),
            ),
            labels={
                "revision": _("Revision"),
                "effective_date": _("Date"),
                "status": _("Status"),
                "page": _("Page"),
                "controlled_copy": _("Audit record"),
                "signatures": _("Signatures"),
                "meaning": _("Meaning"),
                "signer": _("Signed by"),
                "time": _("Time"),
                "code": _("Reference"),
                "title": _("Title"),
            },
            lang=lang,
        )
    cache = Path(current_app.config["QMS_CACHE_DIR"]) / "render"
    return render.render(audit.report_body, fmt, copy, cache), FORMATS[fmt], name
