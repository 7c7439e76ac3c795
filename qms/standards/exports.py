"""The standard-system table (体系表) and the list of standards (明细表) as XLSX and DOCX.

Both in the layout service centres file them: a title row, a header row, then one row
per standard; the table grouped by category, each category's row giving its counts.
XLSX cells are all text that no spreadsheet runs as a formula (:mod:`qms.spreadsheets`);
DOCX comes from pandoc through :mod:`qms.render`, as every other download does.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from flask import Response, current_app
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING
from openpyxl.styles import Alignment, Font

from qms import clock, render
from qms.spreadsheets import neutralise
from qms.standards import labels
from qms.standards.models import ExternalStandard
from qms.standards.services import TableNode

MIMETYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~^$@&:\"'=])")


def list_header() -> list[str]:
    return [
        _("No."),
        _("Standard number"),
        _("Standard title"),
        _("Edition / year"),
        _("Issuing body"),
        _("Status"),
        _("Effective on"),
        _("Category"),
        _("Replaced by"),
    ]


def list_rows(standards: list[ExternalStandard]) -> list[list[str]]:
    """One row per standard, numbered from 1, in the columns of :func:`list_header`."""
    return [
        [
            str(n),
            s.number,
            s.title,
            s.edition,
            s.issuing_body,
            labels.status_label(s.status),
            s.effective_on.isoformat() if s.effective_on else "",
            str(s.category) if s.category else "",
            s.replaced_by.number if s.replaced_by else "",
        ]
        for n, s in enumerate(standards, start=1)
    ]


def table_header() -> list[str]:
    return [_("No."), _("Code / number"), _("Title"), _("Kind"), _("Status"), _("Count")]


def table_rows(nodes: list[TableNode]) -> list[tuple[bool, list[str]]]:
    """Return ``(is_category, cells)``: each category's row, then its documents and standards."""
    rows: list[tuple[bool, list[str]]] = []
    n = 0
    for node in nodes:
        c = node.category
        rows.append(
            (
                True,
                [
                    "",
                    c.code,
                    "\u3000" * node.depth + c.name,
                    _("Category"),
                    "",
                    _(
                        "%(docs)d documents, %(stds)d standards",
                        docs=node.total_documents,
                        stds=node.total_standards,
                    ),
                ],
            )
        )
        for doc in node.documents:
            n += 1
            rows.append((False, [str(n), doc.code, doc.title, _("Document"), "", ""]))
        for std in node.standards:
            n += 1
            rows.append(
                (
                    False,
                    [
                        str(n),
                        std.number,
                        std.title,
                        _("External standard"),
                        labels.status_label(std.status),
                        "",
                    ],
                )
            )
    return rows


# -- XLSX ---------------------------------------------------------------------------------


def _xlsx(title: str, header: list[str], rows: list[tuple[bool, list[str]]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = re.sub(r"[\[\]:*?/\\]", "-", title)[:31] or "Sheet"
    sheet.append([neutralise(title)])
    sheet.cell(1, 1).font = Font(bold=True, size=14)
    sheet.cell(1, 1).alignment = Alignment(horizontal="center")
    sheet.append([neutralise(h) for h in header])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for bold, cells in rows:
        sheet.append([neutralise(v) for v in cells])
        if bold:
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
    for row in sheet.iter_rows():
        for cell in row:
            # openpyxl would store a string starting with "=" as a formula; force text.
            cell.data_type = TYPE_STRING
            cell.number_format = "@"
    # Merged last: the merged cells beside the title take no value or type.
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    widths = [6, 22, 48, 12, 24, 10, 12, 24, 22]
    for i, width in enumerate(widths[: len(header)]):
        sheet.column_dimensions[chr(ord("A") + i)].width = width
    sheet.freeze_panes = "A3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- DOCX ---------------------------------------------------------------------------------


def _escape(text) -> str:
    return _SPECIAL.sub(r"\\\1", str(text or "").replace("\n", " ")) or " "


def _pipe_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(_escape(h) for h in header) + " |"]
    lines.append("|" + "|".join("---" for _h in header) + "|")
    lines += ["| " + " | ".join(_escape(c) for c in row) + " |" for row in rows]
    return lines


def _copy(code: str, title: str) -> render.ControlledCopy:
    from flask_babel import get_locale

    locale = str(get_locale() or "en")
    return render.ControlledCopy(
        code=code,
        title=title,
        revision=clock.today().isoformat(),
        status=_("Uncontrolled copy"),
        effective_date=None,
        labels={
            "revision": _("As of"),
            "effective_date": _("Effective on"),
            "status": _("Status"),
            "page": _("Page"),
            "approved_by": _("Approved by"),
            "controlled_copy": _("Register"),
            "code": _("Number"),
            "title": _("Title"),
        },
        lang=locale if locale in ("en", "zh_Hans", "zh_Hant") else "en",
    )


def _docx(code: str, title: str, body: str) -> bytes:
    cache = Path(current_app.config["QMS_CACHE_DIR"]) / "render"
    return render.render(body, "docx", _copy(code, title), cache)


def list_docx(title: str, standards: list[ExternalStandard]) -> bytes:
    lines = [f"# {_escape(title)}", "", *_pipe_table(list_header(), list_rows(standards)), ""]
    return _docx("STD-LIST", title, "\n".join(lines))


def table_docx(title: str, nodes: list[TableNode]) -> bytes:
    """Each category a heading with its counts, then a table of what it holds itself."""
    lines = [f"# {_escape(title)}", ""]
    header = [_("No."), _("Code / number"), _("Title"), _("Kind"), _("Status")]
    n = 0
    for node in nodes:
        c = node.category
        level = "#" * min(node.depth + 2, 6)
        lines += [f"{level} {_escape(c.code)} {_escape(c.name)}", ""]
        lines += [
            _escape(
                _(
                    "%(docs)d documents, %(stds)d standards",
                    docs=node.total_documents,
                    stds=node.total_standards,
                )
            ),
            "",
        ]
        rows = []
        for doc in node.documents:
            n += 1
            rows.append([str(n), doc.code, doc.title, _("Document"), ""])
        for std in node.standards:
            n += 1
            rows.append(
                [
                    str(n),
                    std.number,
                    std.title,
                    _("External standard"),
                    labels.status_label(std.status),
                ]
            )
        if rows:
            lines += [*_pipe_table(header, rows), ""]
    return _docx("STD-TABLE", title, "\n".join(lines))


# -- downloads ------------------------------------------------------------------------------


def _response(data: bytes, fmt: str, name: str) -> Response:
    return Response(
        data,
        mimetype=MIMETYPES[fmt],
        headers={"Content-Disposition": f"attachment; filename={name}-{clock.today()}.{fmt}"},
    )


def download_list(fmt: str, standards: list[ExternalStandard]) -> Response:
    """Return the list of standards (明细表) as an XLSX or DOCX attachment."""
    title = _("List of standards")
    if fmt == "xlsx":
        rows = [(False, r) for r in list_rows(standards)]
        return _response(_xlsx(title, list_header(), rows), fmt, "standards")
    return _response(list_docx(title, standards), fmt, "standards")


def download_table(fmt: str, scheme: str, nodes: list[TableNode]) -> Response:
    """Return the standard-system table (体系表) of ``scheme`` as an XLSX or DOCX attachment."""
    title = _("Standard system table: %(scheme)s", scheme=labels.scheme_label(scheme))
    if fmt == "xlsx":
        return _response(_xlsx(title, table_header(), table_rows(nodes)), fmt, "standard-system")
    return _response(table_docx(title, nodes), fmt, "standard-system")
