"""Objective values computed by a query over a record form's fields (issue 19).

A query names a record form, the conditions its records must meet (field, operator,
value, or another field for date comparisons), optionally the conditions of the base
records a ratio is taken of, and which date places a record in a period: a date or
date-and-time field of the form, or the submission time. Its value over a period is the
count of matching records, or matching ÷ base × factor (100 for %, 1000 for ‰), and it
carries the numbers of the records it came from.

The records a ratio counts are base records that also meet its conditions. "Does not
equal" and "is none of" take an empty value too (a record without a result is not a
"pass"); greater and less than never do.

Only the current version of each record counts (the record row holds it), void records
never do, and a record is read by the keys of its own revision: a field its revision
does not have is empty.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from qms.auth import visibility
from qms.errors import ServiceError, ValidationFailed
from qms.extensions import db
from qms.records import services as records
from qms.records.fields import FieldDef, is_blank
from qms.reviews.labels import operator_label

MEASURES = ("count", "ratio")
FACTORS = (1, 100, 1000)
#: The submission time, as the date that places a record in a period.
SUBMITTED = "submitted_at"
OPERATORS = ("eq", "ne", "in", "not_in", "empty", "not_empty", "gt", "ge", "lt", "le")
ORDER_OPERATORS = ("gt", "ge", "lt", "le")
#: Operators that take no value.
UNARY = ("empty", "not_empty")
MAX_CONDITIONS = 20

# What each field type may be asked; types not listed (tables, attachments) cannot be.
_EQUALITY = ("eq", "ne", "in", "not_in", "empty", "not_empty")
TYPE_OPERATORS = {
    "number": OPERATORS,
    "integer": OPERATORS,
    "date": OPERATORS,
    "datetime": OPERATORS,
    "time": OPERATORS,
    "select": _EQUALITY,
    "radio": _EQUALITY,
    "multiselect": _EQUALITY,
    "checkbox": ("eq", "ne"),
    **{
        name: _EQUALITY
        for name in (
            "text",
            "textarea",
            "email",
            "phone",
            "user",
            "department",
            "supplier",
            "equipment",
        )
    },
}
#: Field types that can be compared with another field of the same family.
COMPARABLE = {"date": "moment", "datetime": "moment", "number": "number", "integer": "number"}
DATE_TYPES = ("date", "datetime")


def _fail(message: str) -> ValidationFailed:
    return ValidationFailed(message, field="query")


# -- reading and checking a definition -----------------------------------------------------


def _typed(fd: FieldDef, value):
    """Return ``value`` as the comparable Python value of the field's type, or raise ValueError."""
    if fd.type in ("number", "integer"):
        if isinstance(value, bool):
            raise ValueError(value)
        return float(str(value).strip().replace(",", ""))
    if fd.type == "date":
        return date.fromisoformat(str(value).strip()[:10])
    if fd.type == "datetime":
        text = str(value).strip().replace(" ", "T")
        return datetime.fromisoformat(text if "T" in text else f"{text}T00:00").replace(tzinfo=None)
    if fd.type == "checkbox":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1", "on"):
            return True
        if text in ("false", "no", "0", "off"):
            return False
        raise ValueError(value)
    if fd.type in ("select", "radio", "multiselect"):
        text = str(value).strip()
        if text not in {o.value for o in fd.options}:
            raise ValueError(value)
        return text
    if isinstance(value, (dict, list)):
        raise ValueError(value)
    return str(value).strip()


def _check_value(fd: FieldDef, op: str, value):
    """Return a condition's value cleaned for storing, naming the field when it is bad."""
    if op in ("in", "not_in"):
        items = value if isinstance(value, list) else str(value or "").split(",")
        items = [i for i in items if not is_blank(i)]
        if not items:
            raise _fail(_("%(field)s: give at least one value.", field=fd.label))
        return [_check_value(fd, "eq", item) for item in items]
    if is_blank(value) and not isinstance(value, bool):
        raise _fail(_("%(field)s: give the value to compare with.", field=fd.label))
    try:
        typed = _typed(fd, value)
    except (TypeError, ValueError):
        if fd.type in ("select", "radio", "multiselect"):
            allowed = ", ".join(o.value for o in fd.options)
            raise _fail(
                _(
                    "%(field)s: %(value)s is not one of its options (%(allowed)s).",
                    field=fd.label,
                    value=value,
                    allowed=allowed,
                )
            ) from None
        raise _fail(
            _("%(field)s: %(value)s is not a valid value.", field=fd.label, value=value)
        ) from None
    if isinstance(typed, datetime):
        return typed.isoformat(timespec="minutes")
    if isinstance(typed, date):
        return typed.isoformat()
    return typed


def _check_condition(defn, raw) -> dict:
    if not isinstance(raw, dict):
        raise _fail(_("Each condition names a field, an operator and a value."))
    key = str(raw.get("field") or "").strip()
    fd = defn.field(key)
    if fd is None:
        raise _fail(
            _("The form %(form)s has no field %(field)s.", form=defn.code, field=key or "—")
        )
    op = str(raw.get("op") or "").strip()
    allowed = TYPE_OPERATORS.get(fd.type, ())
    if not allowed:
        raise _fail(_("%(field)s cannot be used in a condition.", field=fd.label))
    if op not in allowed:
        raise _fail(
            _(
                "%(field)s: the operator %(op)s does not apply to it; use one of: %(allowed)s.",
                field=fd.label,
                op=op or "—",
                allowed=", ".join(operator_label(o) for o in allowed),
            )
        )
    condition = {"field": key, "op": op}
    other = str(raw.get("other") or "").strip()
    if other:
        other_fd = defn.field(other)
        if other_fd is None:
            raise _fail(_("The form %(form)s has no field %(field)s.", form=defn.code, field=other))
        family = COMPARABLE.get(fd.type)
        if op not in ORDER_OPERATORS or family is None or COMPARABLE.get(other_fd.type) != family:
            raise _fail(
                _(
                    "%(field)s can be compared with %(other)s only when both are dates or both "
                    "are numbers, by greater or less than.",
                    field=fd.label,
                    other=other_fd.label,
                )
            )
        condition["other"] = other
    elif op not in UNARY:
        condition["value"] = _check_value(fd, op, raw.get("value"))
    return condition


def _conditions(defn, raw, name: str) -> list[dict]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise _fail(_("The %(name)s must be a list of conditions.", name=name))
    if len(raw) > MAX_CONDITIONS:
        raise _fail(_("At most %(n)d conditions.", n=MAX_CONDITIONS))
    return [_check_condition(defn, item) for item in raw]


def check_query(raw) -> dict:
    """Return a query definition checked against its form's current fields, cleaned.

    ``raw`` is a dict or its JSON text.

    :raises ValidationFailed: (field "query") naming the form field that is wrong.
    """
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else None
        except ValueError:
            raise _fail(_("The query cannot be read.")) from None
    if not isinstance(raw, dict):
        raise _fail(_("Define the query: the record form and the records to count."))
    code = str(raw.get("form") or "").strip()
    if code not in set(records.form_codes()):
        raise _fail(_("Choose the record form in force whose records are counted."))
    try:
        defn = records.definition(code)
    except ServiceError as exc:
        raise _fail(exc.message) from None
    measure = str(raw.get("measure") or "count")
    if measure not in MEASURES:
        raise _fail(_("Count the records, or take a ratio of them."))
    try:
        factor = int(raw.get("factor") or 1) if measure == "ratio" else 1
    except (TypeError, ValueError):
        factor = 0
    if factor not in FACTORS:
        raise _fail(
            _(
                "The factor is 1, 100 (%(percent)s) or 1000 (%(permille)s).",
                percent="%",
                permille="‰",
            )
        )
    moment = str(raw.get("date") or SUBMITTED).strip()
    if moment != SUBMITTED:
        fd = defn.field(moment)
        if fd is None or fd.type not in DATE_TYPES:
            raise _fail(
                _(
                    "%(field)s is no date field of %(form)s: choose a date field or the "
                    "submission time.",
                    field=fd.label if fd else moment,
                    form=code,
                )
            )
    conditions = _conditions(defn, raw.get("conditions"), _("conditions"))
    base = _conditions(defn, raw.get("base"), _("base conditions"))
    if measure == "count" and base:
        raise _fail(_("Base conditions belong to a ratio only."))
    return {
        "form": code,
        "measure": measure,
        "factor": factor,
        "date": moment,
        "conditions": conditions,
        "base": base,
    }


# -- evaluating ------------------------------------------------------------------------------


def _read(fd: FieldDef | None, value):
    """Return a stored value as the comparable value of the (current) field's type, or None."""
    if fd is None or is_blank(value):
        return None
    if fd.type == "multiselect":
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]
    try:
        return _typed(fd, value) if fd.type not in ("select", "radio") else str(value)
    except (TypeError, ValueError):
        # A value an old revision allowed but the current field cannot read: text.
        return str(value)


def _same_family(left, right):
    """Make a date and a date-and-time comparable (by their day)."""
    if isinstance(left, datetime) and not isinstance(right, datetime):
        return left.date(), right
    if isinstance(right, datetime) and not isinstance(left, datetime):
        return left, right.date()
    return left, right


def _order(op: str, left, right) -> bool:
    if left is None or right is None:
        return False
    left, right = _same_family(left, right)
    try:
        return {
            "gt": left > right,
            "ge": left >= right,
            "lt": left < right,
            "le": left <= right,
        }[op]
    except TypeError:
        return False


def _wanted(fd: FieldDef, value):
    """Return a condition's value as comparable with what :func:`_read` makes of a record's."""
    if fd.type == "checkbox":
        return bool(value)
    if fd.type == "multiselect":
        return str(value)  # one option, looked for among the record's
    return _read(fd, value)


def _equals(fd: FieldDef, value, wanted) -> bool:
    if fd.type == "checkbox":
        return bool(value) == wanted
    if value is None:
        return False
    if isinstance(value, list):
        return wanted in value
    return value == wanted


def _matches(condition: dict, fields: dict, values: dict) -> bool:
    # A field a later revision of the form dropped is empty on every record.
    fd = fields.get(condition["field"])
    value = _read(fd, values.get(condition["field"]))
    op = condition["op"]
    if op == "empty":
        return value is None
    if op == "not_empty":
        return value is not None
    if "other" in condition:
        other = fields.get(condition["other"])
        return _order(op, value, _read(other, values.get(condition["other"])))
    wanted = condition["value"]
    if fd is None:
        return op in ("ne", "not_in")
    if op in ("in", "not_in"):
        found = any(_equals(fd, value, _wanted(fd, item)) for item in wanted)
        return found if op == "in" else not found
    wanted = _wanted(fd, wanted)
    if op == "eq":
        return _equals(fd, value, wanted)
    if op == "ne":
        return not _equals(fd, value, wanted)
    return _order(op, value, wanted)


@dataclass
class Outcome:
    """A query's value over a period and the records it came from."""

    value: float | None
    #: Numbers of the matching records (the numerator of a ratio).
    matched: list[str]
    #: Numbers of the base records of a ratio (empty for a count).
    base: list[str]
    detail: str

    @property
    def evidence(self) -> dict:
        return {"matched": self.matched, "base": self.base}


def _rows(query: dict, start: date, end: date) -> list[tuple[str, dict]]:
    """Load the number and current values of the form's records placed in [start, end].

    One statement, whatever the number of records: the period is chosen in SQL (by the
    submission time, or by the date field read from the values' JSON), the conditions in
    Python on the rows loaded.
    """
    by_submission = query["date"] == SUBMITTED
    listed = records.list_records(
        form=query["form"],
        date_from=start if by_submission else None,
        date_to=end if by_submission else None,
    ).subquery()
    stmt = select(listed.c.number, listed.c["values"]).where(listed.c.status != "void")
    if not by_submission:
        # Dates are stored as YYYY-MM-DD and moments as YYYY-MM-DDTHH:MM (local time), so
        # the text order is the time order and the next day's date bounds the period.
        moment = listed.c["values"][query["date"]].as_string()
        stmt = stmt.where(
            moment >= start.isoformat(), moment < (end + timedelta(days=1)).isoformat()
        )
    return [(number, values or {}) for number, values in db.session.execute(stmt)]


def evaluate(query: dict, start: date, end: date) -> Outcome:
    """Compute a (checked) query over [start, end]."""
    defn = records.definition(query["form"])
    fields = {fd.key: fd for fd in defn.fields}
    known, base_conditions = query["conditions"], query["base"]
    rows = _rows(query, start, end)
    base = [n for n, values in rows if all(_matches(c, fields, values) for c in base_conditions)]
    in_base = set(base)
    matched = sorted(
        n for n, values in rows if n in in_base and all(_matches(c, fields, values) for c in known)
    )
    base.sort()
    if query["measure"] == "count":
        return Outcome(
            float(len(matched)),
            matched,
            [],
            _("%(n)d records of %(form)s", n=len(matched), form=query["form"]),
        )
    value = round(len(matched) * query["factor"] / len(base), 2) if base else None
    return Outcome(
        value,
        matched,
        base,
        _(
            "%(matched)d of %(base)d records of %(form)s",
            matched=len(matched),
            base=len(base),
            form=query["form"],
        ),
    )


@dataclass
class Description:
    """A query in words, with the field labels of the form's current revision."""

    conditions: list[str]
    base: list[str]
    date: str


def describe(query: dict) -> Description:
    """Put a stored query in words for its objective's page."""
    try:
        fields = {fd.key: fd for fd in records.definition(query["form"]).fields}
    except ServiceError:
        fields = {}

    def label(key: str) -> str:
        return fields[key].label if key in fields else key

    def shown(fd: FieldDef | None, value) -> str:
        if isinstance(value, list):
            return ", ".join(shown(fd, v) for v in value)
        if fd is not None and fd.options:
            return fd.option_label(str(value))
        return f"{value:g}" if isinstance(value, float) else str(value)

    def words(condition: dict) -> str:
        text = f"{label(condition['field'])} {operator_label(condition['op'])}"
        if "other" in condition:
            return f"{text} {label(condition['other'])}"
        if "value" in condition:
            return f"{text} {shown(fields.get(condition['field']), condition['value'])}"
        return text

    moment = query.get("date", SUBMITTED)
    return Description(
        [words(c) for c in query.get("conditions", [])],
        [words(c) for c in query.get("base", [])],
        _("submission time") if moment == SUBMITTED else label(moment),
    )


def visible_numbers(form: str, numbers: list[str], viewer) -> set[str]:
    """Return which of a value's record ``numbers`` the ``viewer`` may open, in one query.

    The value counts every department's records; the list of them links only those the
    viewer's record pages would show (:mod:`qms.auth.visibility`).
    """
    if not numbers:
        return set()
    if visibility.sees_all(viewer, "record"):
        return set(numbers)
    listed = records.list_records(form=form, viewer=viewer).subquery()
    return set(db.session.scalars(select(listed.c.number).where(listed.c.number.in_(numbers))))


def unit_of(query: dict) -> str:
    """The unit a query's value is in."""
    if query["measure"] == "count":
        return ""
    return {100: "%", 1000: "‰"}.get(query["factor"], "")


def form_fields(code: str) -> list[dict]:
    """Describe a form's fields for the query builder: key, label, type, operators, options."""
    if code not in set(records.form_codes()):
        return []
    return [
        {
            "key": fd.key,
            "label": fd.label,
            "type": fd.type,
            "operators": [{"op": op, "label": operator_label(op)} for op in ops],
            "options": [{"value": o.value, "label": o.label()} for o in fd.options],
            "comparable": fd.type in COMPARABLE,
            "date": fd.type in DATE_TYPES,
        }
        for fd in records.definition(code).fields
        if (ops := TYPE_OPERATORS.get(fd.type))
    ]
