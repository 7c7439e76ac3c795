"""Records out of the system: CSV and XLSX lists, PDF and DOCX copies of one record.

Every value a person typed is data, never markup or a formula: the lists are written by
:mod:`qms.spreadsheets`, which neutralises formulas, and the Markdown given to pandoc
escapes each value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _

from qms import clock, render
from qms.i18n import when
from qms.records import services
from qms.records.fields import FieldDef, display
from qms.records.models import Record

MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}


def table(records: Iterable[Record], form: str | None) -> tuple[list[str], list[list[str]]]:
    """Return (header, rows) for a list of records.

    For one form, each field is a column, labelled as in the newest revision that has it;
    each record's cells are shown with its own revision's fields. Across forms, the values
    are one column of "label: value" lines.
    """
    records = list(records)
    header = [
        _("Number"),
        _("Form"),
        _("Form revision"),
        _("Status"),
        _("Version"),
        _("Submitted by"),
        _("Department"),
        _("Submitted at"),
    ]
    definitions: dict[str, services.FormDefinition] = {}

    def defn_of(record: Record) -> services.FormDefinition:
        key = f"{record.form_code}@{record.form_revision}"
        if key not in definitions:
            definitions[key] = services.record_definition(record)
        return definitions[key]

    columns: list[tuple[str, str]] = []
    if form:
        # Newest revision first, so a renamed field shows its current label.
        for record in sorted(records, key=lambda r: _rev_order(r.form_revision), reverse=True):
            for fd in defn_of(record).fields:
                if all(key != fd.key for key, _label in columns):
                    columns.append((fd.key, fd.label))
        header += [label for _key, label in columns]
    else:
        header.append(_("Values"))
    rows = []
    for record in records:
        defn = defn_of(record)
        found = services.names(record.values)
        row = [
            record.number,
            record.form_code,
            record.form_revision,
            services.status_label(record.status),
            str(record.version),
            record.submitted_by.display_name,
            record.department.name,
            when(record.submitted_at),
        ]
        if form:
            for key, _label in columns:
                fd = defn.field(key)
                row.append(display(fd, record.values.get(key), found) if fd else "")
        else:
            row.append(
                "\n".join(
                    f"{fd.label}{_(': ')}{display(fd, record.values.get(fd.key), found)}"
                    for fd in defn.fields
                    if record.values.get(fd.key) not in (None, "", [])
                )
            )
        rows.append(row)
    return header, rows


def _rev_order(label: str) -> tuple[int, str]:
    return (len(label), label)


# -- one record as a printed copy ---------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~^$&\"'=:@%;/])")


def md_escape(text) -> str:
    """Escape a value so that pandoc reads it as literal text, never markup or HTML."""
    text = "" if text is None else str(text)
    lines = [_MD_SPECIAL.sub(r"\\\1", line) for line in text.replace("\r\n", "\n").split("\n")]
    # A hard line break keeps a textarea's lines; empty lines would start new paragraphs.
    return "\\\n".join(line if line.strip() else "\u00a0" for line in lines)


def _cell(text: str) -> str:
    return md_escape(text.replace("\n", " ")) if text else " "


def record_markdown(record: Record, version: int | None = None) -> str:
    """Return the Markdown of one record (a version of it): title, facts, then each field."""
    defn = services.record_definition(record)
    values = record.values
    if version is not None:
        values = next((v.values for v in record.versions if v.version == version), values)
    found = services.names(values)
    out = [f"# {md_escape(record.number)}", ""]
    facts = [
        (_("Form"), f"{record.form_code} {defn.title}"),
        (_("Form revision"), record.form_revision),
        (_("Status"), services.status_label(record.status)),
        (_("Version"), str(version or record.version)),
        (_("Submitted by"), record.submitted_by.display_name),
        (_("Department"), record.department.name),
        (_("Submitted at"), when(record.submitted_at)),
    ]
    if record.status == "void":
        facts.append((_("Void because"), record.void_reason or ""))
    out += [f"| {_cell(_('Item'))} | {_cell(_('Value'))} |", "|---|---|"]
    out += [f"| {_cell(k)} | {_cell(v)} |" for k, v in facts]
    out.append("")
    for fd in defn.fields:
        out += _field_markdown(fd, values.get(fd.key), found)
    return "\n".join(out) + "\n"


def _field_markdown(fd: FieldDef, value, found: dict) -> list[str]:
    lines = [f"## {md_escape(fd.label)}", ""]
    if fd.columns:
        cells = fd.kind.cells(fd, value, found)
        if not cells:
            return [*lines, "—", ""]
        lines.append("| " + " | ".join(_cell(c.label) for c in fd.columns) + " |")
        lines.append("|" + "---|" * len(fd.columns))
        lines += ["| " + " | ".join(_cell(text) for text in row) + " |" for row in cells]
        return [*lines, ""]
    text = display(fd, value, found)
    return [*lines, md_escape(text) if text else "—", ""]


def controlled_copy(record: Record) -> render.ControlledCopy:
    defn = services.record_definition(record)
    return render.ControlledCopy(
        code=record.form_code,
        title=defn.title,
        revision=record.form_revision,
        status=services.status_label(record.status),
        effective_date=clock.local(record.submitted_at).date().isoformat(),
        labels={
            "revision": _("Form revision"),
            "effective_date": _("Submitted"),
            "status": _("Status"),
            "page": _("Page"),
            "approved_by": _("Approved by"),
            "controlled_copy": _("Record"),
            "signatures": _("Signatures"),
            "meaning": _("Meaning"),
            "signer": _("Signed by"),
            "time": _("Time"),
            "code": _("Form"),
            "title": _("Title"),
        },
        lang=str(get_locale() or "en"),
    )


def record_copy(record: Record, fmt: str) -> tuple[bytes, str, str]:
    """Return (bytes, mimetype, filename) of one record as PDF or DOCX."""
    cache = Path(current_app.config["QMS_CACHE_DIR"]) / "render"
    data = render.render(record_markdown(record), fmt, controlled_copy(record), cache)
    name = record.number.replace("/", "-") + f".{fmt}"
    return data, MIMETYPES[fmt], name
