"""Import of the service catalogue from an XLSX or CSV file: every row, or none.

A header row names the columns (事项编码/code, 事项名称/name, 法定时限, 承诺时限, 部门,
窗口…, in Chinese or English); each further row is one item, matched by code. Every row
is checked with the catalogue's own rules (:mod:`qms.standards.catalogue`): if any is bad
nothing is stored and the refusal lists each bad row by number; a row that matches what
is stored changes nothing and leaves no trail event, so importing a file twice is harmless.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from flask_babel import gettext as _

from qms import text, trail
from qms.auth.models import User
from qms.errors import ValidationFailed
from qms.extensions import db
from qms.standards.catalogue import (
    add_item,
    apply_item_changes,
    check_code,
    item_by_code,
    item_snapshot,
    require_office,
)
from qms.uow import transactional

#: The headers a catalogue file may use for each field, Chinese and English (lower case).
HEADERS = {
    "code": ("事项编码", "编码", "code", "item code"),
    "name": ("事项名称", "名称", "name", "item name"),
    "legal_basis": ("设定依据", "法律依据", "legal basis", "legal_basis"),
    "statutory_days": ("法定时限", "法定办结时限", "statutory days", "statutory_days"),
    "promised_days": ("承诺时限", "承诺办结时限", "promised days", "promised_days"),
    "department": ("部门", "实施部门", "department"),
    "windows": ("窗口", "办理窗口", "windows", "window"),
    "documents": ("文件", "规范", "工作规范", "documents"),
    "standards": ("标准", "standards"),
}
_DAYS = re.compile(r"^\s*(\d+)\s*(个?工作日|日|天|working days?|days?)?\s*$", re.IGNORECASE)
_LIST = re.compile(r"[,;，；、\n]")


@dataclass
class RowError:
    """What is wrong with one row of an import; ``row`` is its number in the file."""

    row: int
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "message": self.message}


@dataclass
class ImportResult:
    added: list[str]
    changed: list[str]
    unchanged: list[str]


def read_table(filename: str, data: bytes) -> list[list[str]]:
    """Return the rows of an uploaded ``.xlsx`` or ``.csv`` file, header first, as text."""
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # openpyxl raises many kinds on a file that is not a workbook
            raise ValidationFailed(
                _("The file is not an XLSX workbook that can be read."), field="file"
            ) from None
        sheet = book.worksheets[0]
        rows = [
            ["" if v is None else _cell(v) for v in row]
            for row in sheet.iter_rows(values_only=True)
        ]
        book.close()
        return rows
    if name.endswith(".csv"):
        try:
            content = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationFailed(_("A CSV file must be UTF-8 text."), field="file") from None
        # A NUL cannot be stored (PostgreSQL refuses it): take it out, as forms do.
        try:
            return [[text.clean(c) for c in row] for row in csv.reader(io.StringIO(content))]
        except csv.Error as exc:
            raise ValidationFailed(
                _("The CSV file cannot be read: %(error)s", error=str(exc)), field="file"
            ) from None
    raise ValidationFailed(_("Upload an .xlsx or .csv file."), field="file")


def _cell(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return text.clean(str(value))


def _columns(header: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        title = str(title or "").strip().lower()
        for field, names in HEADERS.items():
            if title in names and field not in columns:
                columns[field] = index
    missing = [HEADERS[f][0] for f in ("code", "name") if f not in columns]
    if missing:
        raise ValidationFailed(
            _("The header row must name the columns %(names)s.", names="、".join(missing)),
            field="file",
            detail={"rows": [{"row": 1, "message": _("No code or name column.")}]},
        )
    return columns


def _row_days(value: str, label: str) -> int | None:
    if not value.strip():
        return None
    match = _DAYS.match(value)
    if not match:
        raise ValidationFailed(
            _(
                "%(label)s must be a whole number of working days, not “%(value)s”.",
                label=label,
                value=value.strip()[:40],
            ),
        )
    return int(match.group(1))


def _row_values(row: list[str], columns: dict[str, int]) -> dict:
    def cell(field: str) -> str:
        index = columns.get(field)
        return str(row[index]).strip() if index is not None and index < len(row) else ""

    values: dict = {"code": cell("code"), "name": cell("name")}
    for field in ("legal_basis", "department"):
        if field in columns:
            values[field] = cell(field)
    if "statutory_days" in columns:
        values["statutory_days"] = _row_days(cell("statutory_days"), _("The statutory limit"))
    if "promised_days" in columns:
        values["promised_days"] = _row_days(cell("promised_days"), _("The promised limit"))
    for field in ("windows", "documents", "standards"):
        if field in columns:
            values[field] = [v.strip() for v in _LIST.split(cell(field)) if v.strip()]
    return values


@transactional
def import_catalogue(actor: User, rows: list[list[str]]) -> ImportResult:
    """Add or change the items of ``rows`` (a header row, then one item a row), by code.

    Every row is checked; if any is bad nothing is stored and :class:`ValidationFailed`
    carries ``detail={"rows": [{row, message}, …]}``, rows counted from 1 at the header.
    A row that matches what is stored is left alone, with no trail event.
    """
    require_office(actor)
    # Numbered as the spreadsheet shows them, blank rows included, so that a row the
    # refusal names is the row the user finds.
    numbered = [
        (n, r) for n, r in enumerate(rows or [], start=1) if any(str(c or "").strip() for c in r)
    ]
    if not numbered:
        raise ValidationFailed(_("The file is empty."), field="file")
    columns = _columns(numbered[0][1])
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    result = ImportResult([], [], [])
    for number, row in numbered[1:]:
        # A bad row's half-applied changes are harmless: the unit of work rolls all back.
        try:
            values = _row_values(row, columns)
            code = check_code(values.pop("code"))
            if code in seen:
                raise ValidationFailed(
                    _("The code %(code)s is also on row %(row)s.", code=code, row=seen[code])
                )
            seen[code] = number
            item = item_by_code(code)
            if item is None:
                add_item(actor, code, **values)
                result.added.append(code)
                continue
            before = item_snapshot(item)
            apply_item_changes(item, {"active": True, **values})
            after = item_snapshot(item)
            if after == before:
                result.unchanged.append(code)
                continue
            db.session.flush()
            trail.record("service_item.changed", "service_item", code, before, after, user=actor)
            result.changed.append(code)
        except ValidationFailed as exc:
            errors.append(RowError(number, exc.message))
    if errors:
        lines = [_("Row %(row)s: %(message)s", row=e.row, message=e.message) for e in errors]
        raise ValidationFailed(
            _("Nothing was imported: %(count)s rows are wrong.", count=len(errors))
            if len(errors) > 1
            else _("Nothing was imported: %(error)s", error=lines[0]),
            field="file",
            detail={"rows": [e.as_dict() for e in errors]},
        )
    return result
