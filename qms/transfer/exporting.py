"""Take everything out: a zip of controlled copies, the register and the records.

The zip holds a DOCX and a PDF controlled copy of every effective document, the register
as CSV and XLSX, and, when the records domain is installed, the records of each form as
CSV. It is meant to be read without this application.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from pathlib import Path

from qms.documents import rendering
from qms.documents import services as documents
from qms.extensions import db
from qms.spreadsheets import neutralise, to_csv, to_xlsx


def register_rows() -> list[list[str]]:
    """Return the register, one row per document in code order, as the export writes it."""
    docs = db.session.scalars(documents.list_documents())
    return [[neutralise(cell) for cell in row] for row in documents.register_rows(docs)]


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
        form: to_csv(*record_exports.table(found, form)) for form, found in sorted(by_form.items())
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
        archive.writestr("register.csv", to_csv(documents.REGISTER_COLUMNS, rows))
        archive.writestr("register.xlsx", to_xlsx(documents.REGISTER_COLUMNS, rows, "Register"))
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
