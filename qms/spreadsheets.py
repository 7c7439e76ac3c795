"""Tables for spreadsheet programs: CSV and XLSX in which no cell can run as a formula.

Every domain's exports come through here, so that a title typed as ``=HYPERLINK(…)`` is
shown as text wherever it is opened, and Chinese text opens as UTF-8.
"""

import csv
import io
import re

from flask import Response, abort, request
from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING

from qms import clock

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise(value) -> str:
    """Return a cell as text that no spreadsheet will run as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


def to_csv(header: list[str], rows: list[list]) -> bytes:
    """Return CSV with a UTF-8 BOM (so spreadsheet programs read Chinese correctly)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(header: list[str], rows: list[list], title: str) -> bytes:
    """Return an XLSX workbook in which every cell is text."""
    book = Workbook()
    sheet = book.active
    sheet.title = re.sub(r"[\[\]:*?/\\]", "-", title)[:31] or "Sheet"
    for row in [header, *rows]:
        sheet.append([neutralise(value) for value in row])
    for row in sheet.iter_rows():
        for cell in row:
            # openpyxl would store a string starting with "=" as a formula; force text.
            cell.data_type = TYPE_STRING
            cell.number_format = "@"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_download(header: list[str], rows: list[list], name: str) -> Response:
    """Return a CSV attachment named ``<name>-<today>.csv``."""
    return Response(
        to_csv(header, rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={name}-{clock.today()}.csv"},
    )


#: What a list page exports, by ``?format=``.
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def requested_format(allowed=tuple(MIMETYPES)) -> str | None:
    """Return the export a list page's ``?format=`` asks for, or None for the page itself.

    Any other format answers 404: there is no such representation of the list.
    """
    fmt = request.args.get("format")
    if not fmt:
        return None
    if fmt not in allowed:
        abort(404)
    return fmt


def download(
    fmt: str, header: list[str], rows: list[list], name: str, title: str | None = None
) -> Response:
    """Return the list as a CSV or XLSX attachment named ``<name>-<today>.<fmt>``.

    ``title`` names the XLSX sheet (the user's language); ``name`` by default.
    """
    data = to_xlsx(header, rows, str(title or name)) if fmt == "xlsx" else to_csv(header, rows)
    return Response(
        data,
        mimetype=MIMETYPES[fmt],
        headers={"Content-Disposition": f"attachment; filename={name}-{clock.today()}.{fmt}"},
    )
