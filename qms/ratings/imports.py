"""Reading a file of ratings (CSV or XLSX, header row in Chinese or English).

The file's rows are numbered as a spreadsheet shows them (the header is row 1), so each
refusal names the row to mend. The rules themselves are :func:`services.receive`'s.
"""

from __future__ import annotations

import csv
import io
import zipfile

from flask_babel import gettext as _
from openpyxl import load_workbook

from qms import clock
from qms.errors import ValidationFailed
from qms.ratings import services
from qms.ratings.models import INDICATORS
from qms.ratings.services import Receipt
from qms.text import clean

#: Each column's names, English and Chinese, by the key a rating is read with.
HEADERS = {
    "case_number": ("case_number", "case number", "case", "案件编号", "办件编号", "办件号"),
    "item": ("item", "service item", "item code", "事项", "事项编码", "事项代码"),
    "window": ("window", "window code", "窗口", "窗口编码", "窗口编号"),
    "staff": ("staff", "staff member", "工作人员", "经办人"),
    "channel": ("channel", "评价渠道", "渠道"),
    "level": ("level", "rating", "评价等级", "评价", "等级"),
    "attitude": ("attitude", "service attitude", "服务态度"),
    "efficiency": ("efficiency", "办事效率"),
    "quality": ("quality", "service quality", "服务质量"),
    "convenience": ("convenience", "办事便利度", "便利度"),
    "fairness": ("fairness", "公平公正"),
    "comment": ("comment", "评价内容", "评价意见", "意见"),
    "rated_at": ("rated_at", "rated at", "time", "评价时间", "时间"),
}
REQUIRED = ("case_number", "item", "window", "channel", "level", "rated_at")
_BY_NAME = {name.lower(): key for key, names in HEADERS.items() for name in names}
MAX_BYTES = 10 * 1024 * 1024


def _columns(header: list) -> list[str | None]:
    keys = [_BY_NAME.get(str(h or "").strip().lower()) for h in header]
    missing = [k for k in REQUIRED if k not in keys]
    if missing:
        raise ValidationFailed(
            _("The header row lacks the columns %(names)s.", names=", ".join(missing)),
            field="file",
        )
    return keys


def _csv_rows(data: bytes) -> list[list]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationFailed(_("The file is not UTF-8 or GB 18030 text."), field="file")
    return [row for row in csv.reader(io.StringIO(text))]


def _xlsx_rows(data: bytes) -> list[list]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise ValidationFailed(_("The file is not an XLSX workbook."), field="file") from None
    try:
        return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def read_file(data: bytes, filename: str) -> list[tuple[int, dict]]:
    """Return ``(row number, values)`` for each filled row of a CSV or XLSX file."""
    if len(data) > MAX_BYTES:
        raise ValidationFailed(_("The file is larger than 10 MB."), field="file")
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        table = _xlsx_rows(data)
    elif name.endswith(".csv"):
        table = _csv_rows(data)
    else:
        raise ValidationFailed(_("Choose a CSV or XLSX file."), field="file")
    if not table:
        raise ValidationFailed(_("The file is empty."), field="file")
    keys = _columns(table[0])
    rows = []
    for n, cells in enumerate(table[1:], start=2):
        if all(c is None or str(c).strip() == "" for c in cells):
            continue
        values = {k: v for k, v in zip(keys, cells, strict=False) if k}
        # NUL characters and lone surrogates: what PostgreSQL would refuse (qms.text).
        rows.append((n, {k: clean("" if v is None else v) for k, v in values.items()}))
    if not rows:
        raise ValidationFailed(_("The file has no rows to import."), field="file")
    return rows


def import_file(actor, data: bytes, filename: str) -> Receipt:
    """Receive the ratings of a file, all or none."""
    return services.receive(actor, read_file(data, filename), origin="import")


#: The columns of an export, in order: the import reads them back unchanged.
EXPORT_COLUMNS = (
    "case_number",
    "item",
    "window",
    "staff",
    "channel",
    "level",
    *INDICATORS,
    "comment",
    "rated_at",
)


def export_rows(ratings) -> tuple[list[str], list[list]]:
    """Return the header and rows of ``ratings`` as the import reads them (office time)."""
    rows = []
    for rating in ratings:
        values = services.snapshot(rating)
        values["rated_at"] = clock.local(rating.rated_at).isoformat()
        rows.append(["" if values[k] is None else values[k] for k in EXPORT_COLUMNS])
    return list(EXPORT_COLUMNS), rows
