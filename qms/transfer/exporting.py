"""Take everything out: a zip of controlled copies, the register and the records.

The zip holds a DOCX and a PDF controlled copy of every effective document, the register
as CSV and XLSX, and, when the records domain is installed, the records of each form as
CSV. It is meant to be read without this application.
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING

from qms.documents import rendering
from qms.documents import services as documents
from qms.extensions import db

REGISTER_COLUMNS = [
    "code",
    "title",
    "type",
    "parent",
    "department",
    "clauses",
    "status",
    "revision",
    "effective_date",
    "review_interval_months",
    "next_review_due",
]
# A cell starting like a formula is made text, so a spreadsheet never runs it.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def register_rows() -> list[list[str]]:
    """Return the register, one row per document, in code order."""
    return [
        [
            _cell(v)
            for v in (
                d.code,
                d.title,
                d.doc_type,
                d.parent.code if d.parent else "",
                d.department.name if d.department else "",
                " ".join(d.clauses),
                d.status,
                d.current_revision or "",
                d.effective_date or "",
                d.review_interval_months,
                d.next_review_due or "",
            )
        ]
        for d in db.session.scalars(documents.list_documents())
    ]


def to_csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    # A BOM so that spreadsheet programs read the Chinese titles as UTF-8.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(header: list[str], rows: list[list[str]], title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    for row in [header, *rows]:
        sheet.append(row)
    for row in sheet.iter_rows():
        for cell in row:
            cell.data_type = TYPE_STRING
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def record_tables() -> dict[str, bytes] | None:
    """Return {form code: CSV of its records}, or None when records are not installed."""
    try:
        from qms.records import exports as record_exports
        from qms.records import services as records
    except ImportError:
        return None
    by_form: dict[str, list] = {}
    for record in db.session.scalars(records.list_records(sort="submitted_at")):
        by_form.setdefault(record.form_code, []).append(record)
    return {
        form: record_exports.to_csv(*record_exports.table(found, form))
        for form, found in sorted(by_form.items())
    }


def export(path: str | os.PathLike, progress: Callable[[int, int], None] | None = None) -> dict:
    """Write the export zip to ``path``; return what it holds by kind."""
    report = progress or (lambda done, total: None)
    effective = [
        doc
        for doc in db.session.scalars(documents.list_documents(status="effective"))
        if documents.effective_revision(doc) is not None
    ]
    counts = {"documents": 0, "record_forms": 0}
    partial = Path(f"{path}.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        rows = register_rows()
        archive.writestr("register.csv", to_csv(REGISTER_COLUMNS, rows))
        archive.writestr("register.xlsx", to_xlsx(REGISTER_COLUMNS, rows, "Register"))
        for done, doc in enumerate(effective, start=1):
            rev = documents.effective_revision(doc)
            for fmt in ("docx", "pdf"):
                data, _mimetype, name = rendering.download(rev, fmt)
                archive.writestr(f"documents/{name}", data)
            counts["documents"] += 1
            report(done, len(effective))
        tables = record_tables()
        if tables is not None:
            for form, data in tables.items():
                archive.writestr(f"records/{form}.csv", data)
            counts["record_forms"] = len(tables)
    os.replace(partial, path)
    return counts
