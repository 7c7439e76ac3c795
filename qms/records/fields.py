"""A record form's field definitions: the schema, checking values against it, and WTForms.

A form's revision carries its fields in the YAML front matter under ``fields:``. This
module turns that list into :class:`FieldDef` objects (refusing bad definitions with a
message naming the field), checks submitted values against them (one function for the
browser and the API), and builds the WTForms form staff fill in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms import widgets as w

from qms.forms import options as choice_list

FIELD_TYPES = (
    "text",
    "textarea",
    "number",
    "integer",
    "date",
    "datetime",
    "time",
    "select",
    "multiselect",
    "radio",
    "checkbox",
    "email",
    "phone",
    "user",
    "department",
    "attachment",
    "table",
)
CHOICE_TYPES = ("select", "multiselect", "radio")
NUMERIC_TYPES = ("number", "integer")
# A table's columns are simple values: no nested tables or file uploads in a cell.
COLUMN_TYPES = tuple(t for t in FIELD_TYPES if t not in ("table", "attachment"))
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()\-]{3,28}[0-9]$")
DEFAULT_MAX_LENGTH = {"text": 500, "textarea": 20000, "email": 254, "phone": 32}
KNOWN_KEYS = {
    "key",
    "label",
    "type",
    "required",
    "options",
    "min",
    "max",
    "unit",
    "max_length",
    "pattern",
    "help",
    "default",
    "columns",
    "min_rows",
    "max_rows",
}
MAX_ROWS = 200
# Numbers beyond this lose precision as JSON floats; no record form needs them.
LARGEST = 10**15


class DefinitionError(ValueError):
    """A form definition is not valid; ``message`` is localised and names the field."""

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.message = message
        self.key = key


@dataclass(frozen=True)
class Option:
    value: str
    labels: dict[str, str]

    def label(self) -> str:
        return localised(self.labels) or self.value.replace("_", " ")


@dataclass(frozen=True)
class FieldDef:
    key: str
    type: str
    labels: dict[str, str]
    required: bool = False
    options: tuple[Option, ...] = ()
    min: float | None = None
    max: float | None = None
    unit: str | None = None
    max_length: int | None = None
    pattern: str | None = None
    help: dict[str, str] = field(default_factory=dict)
    default: object = None
    columns: tuple[FieldDef, ...] = ()
    min_rows: int = 0
    max_rows: int = MAX_ROWS

    @property
    def label(self) -> str:
        """The label in the user's language, falling back to the form's own."""
        return localised(self.labels) or self.key

    @property
    def hint(self) -> str:
        text = localised(self.help) or ""
        if self.unit:
            text = f"{text} ({self.unit})".strip() if text else f"{_('Unit')}: {self.unit}"
        return text

    def option_label(self, value: str) -> str:
        for option in self.options:
            if option.value == value:
                return option.label()
        return value

    @property
    def limit(self) -> int | None:
        return self.max_length or DEFAULT_MAX_LENGTH.get(self.type)


def localised(labels: dict[str, str]) -> str | None:
    """Pick the text for the current locale from ``{"": own, "en": …, "zh_Hans": …}``."""
    locale = str(get_locale() or "en")
    for key in (locale, "zh_Hans" if locale == "zh_Hant" else None, ""):
        if key is not None and labels.get(key):
            return labels[key]
    return next((v for v in labels.values() if v), None)


def _texts(item: dict, name: str) -> dict[str, str]:
    """Collect ``name`` and its translations ``name_<lang>`` into one dict."""
    texts = {}
    for key, value in item.items():
        if key == name:
            texts[""] = str(value)
        elif isinstance(key, str) and key.startswith(f"{name}_") and value is not None:
            texts[key[len(name) + 1 :]] = str(value)
    return texts


# -- parsing a definition ----------------------------------------------------------------


def parse_fields(raw, *, columns_of: str | None = None) -> tuple[FieldDef, ...]:
    """Turn the front matter's ``fields:`` list into field definitions.

    :raises DefinitionError: the list, or one field in it, is not a valid definition.
    """
    where = columns_of
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        if where:
            raise DefinitionError(
                _("Field %(key)s: columns must be a list of fields.", key=where), where
            )
        raise DefinitionError(_("The fields of a record form must be a list."))
    defs: list[FieldDef] = []
    seen: set[str] = set()
    for index, item in enumerate(raw, start=1):
        fd = _parse_field(item, index, columns_of)
        if fd.key in seen:
            name = f"{columns_of}.{fd.key}" if columns_of else fd.key
            raise DefinitionError(
                _("Field %(key)s: the key is used twice; keys must be unique.", key=name), name
            )
        seen.add(fd.key)
        defs.append(fd)
    return tuple(defs)


def _parse_field(item, index: int, columns_of: str | None) -> FieldDef:
    if not isinstance(item, dict):
        raise DefinitionError(
            _("Field number %(n)s is not a mapping of key, label and type.", n=index)
        )
    key = item.get("key")
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise DefinitionError(
            _(
                "Field number %(n)s: the key %(key)s is not valid; use lower-case letters, "
                "digits and underscores, starting with a letter.",
                n=index,
                key=repr(key),
            )
        )
    name = f"{columns_of}.{key}" if columns_of else key

    def fail(message: str):
        raise DefinitionError(_("Field %(key)s: %(problem)s", key=name, problem=message), name)

    unknown = sorted(
        str(k) for k in item if k not in KNOWN_KEYS and not str(k).startswith(("label_", "help_"))
    )
    if unknown:
        fail(_("unknown setting %(name)s.", name=", ".join(map(str, unknown))))
    ftype = item.get("type")
    allowed = COLUMN_TYPES if columns_of else FIELD_TYPES
    if ftype not in allowed:
        fail(
            _(
                "unknown type %(type)s; use one of %(types)s.",
                type=repr(ftype),
                types=", ".join(allowed),
            )
        )
    labels = _texts(item, "label")
    if not labels.get(""):
        fail(_("a label is required."))
    required = item.get("required", False)
    if not isinstance(required, bool):
        fail(_("required must be true or false."))
    opts: list[Option] = []
    if ftype in CHOICE_TYPES:
        raw_options = item.get("options")
        if not isinstance(raw_options, list) or not raw_options:
            fail(_("a %(type)s needs a list of options.", type=ftype))
        for option in raw_options:
            if isinstance(option, dict):
                value = option.get("value")
                option_labels = _texts(option, "label")
            else:
                value, option_labels = option, {}
            if not isinstance(value, (str, int)) or isinstance(value, bool) or str(value) == "":
                fail(_("option %(option)s is not valid.", option=repr(option)))
            if any(o.value == str(value) for o in opts):
                fail(_("option %(option)s appears twice.", option=str(value)))
            opts.append(Option(str(value), option_labels))
    elif "options" in item:
        fail(_("options are only for select, multiselect and radio fields."))
    low, high = item.get("min"), item.get("max")
    for bound_name, bound in (("min", low), ("max", high)):
        if bound is None:
            continue
        if ftype not in NUMERIC_TYPES and ftype != "table":
            fail(_("%(name)s is only for number, integer and table fields.", name=bound_name))
        if isinstance(bound, bool) or not isinstance(bound, (int, float)):
            fail(_("%(name)s must be a number.", name=bound_name))
    if low is not None and high is not None and low > high:
        fail(_("min (%(min)s) is over max (%(max)s).", min=low, max=high))
    max_length = item.get("max_length")
    if max_length is not None:
        if ftype not in DEFAULT_MAX_LENGTH:
            fail(_("max_length is only for text, textarea, email and phone fields."))
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
            fail(_("max_length must be a whole number of at least 1."))
    pattern = item.get("pattern")
    if pattern is not None:
        if ftype not in ("text", "phone", "email"):
            fail(_("a pattern is only for text, email and phone fields."))
        try:
            re.compile(str(pattern))
        except re.error as exc:
            fail(_("the pattern is not a valid regular expression: %(error)s", error=str(exc)))
    columns: tuple[FieldDef, ...] = ()
    min_rows, max_rows = 0, MAX_ROWS
    if ftype == "table":
        if not item.get("columns"):
            fail(_("a table needs a list of columns."))
        columns = parse_fields(item.get("columns"), columns_of=name)
        min_rows = int(low) if low is not None else (1 if required else 0)
        max_rows = int(high) if high is not None else MAX_ROWS
    elif "columns" in item:
        fail(_("columns are only for table fields."))
    fd = FieldDef(
        key=key,
        type=ftype,
        labels=labels,
        required=required,
        options=tuple(opts),
        min=None if ftype == "table" else low,
        max=None if ftype == "table" else high,
        unit=str(item["unit"]) if item.get("unit") is not None else None,
        max_length=max_length,
        pattern=str(pattern) if pattern is not None else None,
        help=_texts(item, "help"),
        default=item.get("default"),
        columns=columns,
        min_rows=min_rows,
        max_rows=max_rows,
    )
    if fd.default is not None:
        if ftype in ("table", "attachment", "user", "department"):
            fail(_("a %(type)s field cannot have a default.", type=ftype))
        _value, problem = check_value(fd, fd.default, Lookups.none())
        if problem:
            fail(_("the default is not valid: %(problem)s", problem=problem))
    return fd


# -- checking values ---------------------------------------------------------------------


@dataclass
class Lookups:
    """How values that name things in the system are checked (users, departments, files)."""

    users: object  # callable(username) -> bool
    departments: object  # callable(name) -> bool
    attachments: object  # callable(id) -> bool

    @classmethod
    def none(cls) -> Lookups:
        return cls(lambda _u: False, lambda _d: False, lambda _a: False)


def is_blank(value) -> bool:
    return (
        value is None
        or value == ""
        or value == []
        or (isinstance(value, str) and not value.strip())
    )


def check_value(fd: FieldDef, value, lookups: Lookups) -> tuple[object, str | None]:
    """Return ``(clean value, None)`` or ``(None, localised problem)`` for one non-blank value."""
    t = fd.type
    if t in ("text", "textarea", "email", "phone"):
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            return None, _("Enter text.")
        text = str(value).replace("\r\n", "\n")
        if t != "textarea":
            text = text.strip()
        if fd.limit and len(text) > fd.limit:
            return None, _("Use at most %(n)s characters.", n=fd.limit)
        if t == "email" and not EMAIL_RE.match(text):
            return None, _("Enter an e-mail address such as name@example.org.")
        if t == "phone" and not PHONE_RE.match(text):
            return None, _("Enter a telephone number: digits, spaces, dashes and an optional +.")
        if fd.pattern and not re.fullmatch(fd.pattern, text):
            return None, _("The value does not have the expected format.")
        return text, None
    if t in NUMERIC_TYPES:
        not_a_number = _("Enter a number.") if t == "number" else _("Enter a whole number.")
        try:
            number = (
                None if isinstance(value, bool) else Decimal(str(value).strip().replace(",", ""))
            )
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or abs(number) >= LARGEST:
            return None, not_a_number
        if t == "integer":
            if number != number.to_integral_value():
                return None, not_a_number
            clean: object = int(number)
        else:
            clean = int(number) if number == number.to_integral_value() else float(number)
        if fd.min is not None and number < Decimal(str(fd.min)):
            return None, _("Enter at least %(min)s.", min=fd.min)
        if fd.max is not None and number > Decimal(str(fd.max)):
            return None, _("Enter at most %(max)s.", max=fd.max)
        return clean, None
    if t in ("date", "datetime", "time"):
        text = str(value).strip() if isinstance(value, (str, date, time)) else ""
        try:
            if t == "date":
                return date.fromisoformat(text).isoformat(), None
            if t == "datetime":
                moment = datetime.fromisoformat(text.replace(" ", "T"))
                return moment.replace(second=0, microsecond=0, tzinfo=None).isoformat(
                    timespec="minutes"
                ), None
            return time.fromisoformat(text).replace(second=0, microsecond=0).isoformat(
                timespec="minutes"
            ), None
        except ValueError:
            return None, {
                "date": _("Enter a date as YYYY-MM-DD."),
                "datetime": _("Enter a date and time as YYYY-MM-DD HH:MM."),
                "time": _("Enter a time as HH:MM."),
            }[t]
    if t in ("select", "radio"):
        if not isinstance(value, (str, int)) or str(value) not in {o.value for o in fd.options}:
            return None, _("Choose one of the options.")
        return str(value), None
    if t == "multiselect":
        values = value if isinstance(value, list) else [value]
        allowed = [o.value for o in fd.options]
        chosen = {str(v) for v in values if not is_blank(v)}
        if not chosen <= set(allowed) or any(not isinstance(v, (str, int)) for v in values):
            return None, _("Choose among the options only.")
        return [v for v in allowed if v in chosen], None
    if t == "checkbox":
        if isinstance(value, bool):
            return value, None
        text = str(value).strip().lower()
        if text in ("y", "yes", "true", "on", "1"):
            return True, None
        if text in ("n", "no", "false", "off", "0"):
            return False, None
        return None, _("Tick the box or leave it empty.")
    if t == "user":
        if not isinstance(value, str) or not lookups.users(value.strip()):
            return None, _("Choose a person who has an account in the system.")
        return value.strip(), None
    if t == "department":
        if not isinstance(value, str) or not lookups.departments(value.strip()):
            return None, _("Choose a department of the organisation.")
        return value.strip(), None
    if t == "attachment":
        try:
            ident = int(value)
        except (TypeError, ValueError):
            ident = None
        if ident is None or isinstance(value, bool) or not lookups.attachments(ident):
            return None, _("The attached file was not found; attach it again.")
        return ident, None
    return None, _("This field cannot be filled.")


def validate_values(
    defs: tuple[FieldDef, ...], raw: dict, lookups: Lookups, partial: bool = False
) -> tuple[dict, dict[str, list[str]]]:
    """Check ``raw`` values against the definition; return (clean values, errors by key).

    With ``partial`` (a draft), missing required values are not errors. Keys the form
    does not define are refused so that nothing is stored that no one can see.
    """
    raw = raw if isinstance(raw, dict) else {}
    values: dict = {}
    errors: dict[str, list[str]] = {}
    known = {fd.key for fd in defs}
    for key in raw:
        if key not in known:
            errors.setdefault(str(key), []).append(_("This form has no field %(key)s.", key=key))
    for fd in defs:
        value = raw.get(fd.key)
        if fd.type == "table":
            rows, problems = _check_table(fd, value, lookups, partial)
            if problems:
                errors[fd.key] = problems
            else:
                values[fd.key] = rows
            continue
        if fd.type == "checkbox" and value is None:
            value = False
        if is_blank(value) or (fd.type == "checkbox" and value is False and fd.required):
            if fd.required and not partial:
                errors[fd.key] = [
                    _("Tick this box.") if fd.type == "checkbox" else _("This field is required.")
                ]
            elif fd.type == "checkbox":
                values[fd.key] = False
            continue
        clean, problem = check_value(fd, value, lookups)
        if problem:
            errors[fd.key] = [problem]
        else:
            values[fd.key] = clean
    return values, errors


def _check_table(fd: FieldDef, value, lookups: Lookups, partial: bool):
    if value is None or value == "":
        value = []
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        return [], [_("Give the rows as a list of objects keyed by column.")]
    rows = [r for r in value if any(not is_blank(v) and v is not False for v in r.values())]
    problems: list[str] = []
    if len(rows) > fd.max_rows:
        problems.append(_("At most %(n)s rows are allowed.", n=fd.max_rows))
    if not partial and len(rows) < fd.min_rows:
        problems.append(_("Fill in at least %(n)s row(s).", n=fd.min_rows))
    clean_rows = []
    for number, row in enumerate(rows, start=1):
        clean, errors = validate_values(fd.columns, row, lookups, partial)
        for key, messages in errors.items():
            column = next((c for c in fd.columns if c.key == key), None)
            label = column.label if column else key
            for message in messages:
                problems.append(
                    _(
                        "Row %(row)s, %(column)s: %(problem)s",
                        row=number,
                        column=label,
                        problem=message,
                    )
                )
        clean_rows.append(clean)
    return clean_rows, problems


# -- showing values ----------------------------------------------------------------------


def display(fd: FieldDef, value, names: dict | None = None) -> str:
    """Return a value as plain text for pages and exports (the caller escapes it)."""
    names = names or {}
    if value is None or value == "" or value == []:
        return ""
    t = fd.type
    if t in ("select", "radio"):
        return fd.option_label(str(value))
    if t == "multiselect":
        return ", ".join(fd.option_label(str(v)) for v in value)
    if t == "checkbox":
        return _("yes") if value else _("no")
    if t == "user":
        return names.get(("user", value), value)
    if t == "attachment":
        return names.get(("attachment", value), f"#{value}")
    if t == "datetime":
        return str(value).replace("T", " ")
    if t in NUMERIC_TYPES and fd.unit:
        return f"{value} {fd.unit}"
    if t == "table":
        return "; ".join(
            ", ".join(
                f"{c.label}: {display(c, row.get(c.key), names)}"
                for c in fd.columns
                if not is_blank(row.get(c.key))
            )
            for row in value
        )
    return str(value)


# -- the WTForms form ----------------------------------------------------------------------


class RecordForm(FlaskForm):
    """The base of every generated record form; fields are added per form revision.

    Values are checked by :func:`validate_values` (the same rules as the API), not by
    WTForms validators, so every field reads what was typed as it is.
    """


def _render_kw(fd: FieldDef, **extra) -> dict:
    kw = {"required": False}  # drafts may be saved partly filled
    if fd.limit and fd.type in DEFAULT_MAX_LENGTH:
        kw["maxlength"] = fd.limit
    kw.update(extra)
    return kw


def _wtf_field(fd: FieldDef, choices: dict, in_table: bool = False):
    """Return an unbound WTForms field for one definition."""
    label = fd.label
    desc = fd.hint
    flags = [Marker()] if fd.required else []
    common = {"label": label, "description": desc, "validators": flags}
    t = fd.type
    if t == "textarea":
        return TextAreaField(render_kw=_render_kw(fd, rows=2 if in_table else 4), **common)
    if t in NUMERIC_TYPES:
        kw = {"step": "1" if t == "integer" else "any", "inputmode": "decimal"}
        if fd.min is not None:
            kw["min"] = fd.min
        if fd.max is not None:
            kw["max"] = fd.max
        return StringField(widget=w.NumberInput(), render_kw=_render_kw(fd, **kw), **common)
    if t == "date":
        return StringField(widget=w.DateInput(), render_kw=_render_kw(fd), **common)
    if t == "datetime":
        return StringField(widget=w.DateTimeLocalInput(), render_kw=_render_kw(fd), **common)
    if t == "time":
        return StringField(widget=w.TimeInput(), render_kw=_render_kw(fd), **common)
    if t == "email":
        return StringField(widget=w.EmailInput(), render_kw=_render_kw(fd), **common)
    if t == "phone":
        return StringField(widget=w.TelInput(), render_kw=_render_kw(fd), **common)
    if t in ("select", "user", "department"):
        pairs = [(o.value, o.label()) for o in fd.options] if t == "select" else choices.get(t, [])
        return SelectField(
            choices=choice_list([("", "—")] + list(pairs)),
            validate_choice=False,
            render_kw=_render_kw(fd),
            **common,
        )
    if t == "radio":
        return RadioField(
            choices=choice_list([(o.value, o.label()) for o in fd.options]),
            validate_choice=False,
            render_kw=_render_kw(fd),
            **common,
        )
    if t == "multiselect":
        return SelectMultipleField(
            choices=choice_list([(o.value, o.label()) for o in fd.options]),
            validate_choice=False,
            widget=w.ListWidget(prefix_label=False),
            option_widget=w.CheckboxInput(),
            render_kw=_render_kw(fd),
            **common,
        )
    if t == "checkbox":
        return BooleanField(render_kw=_render_kw(fd), **common)
    if t == "attachment":
        return FileField(render_kw=_render_kw(fd), **common)
    return StringField(render_kw=_render_kw(fd), **common)


class Marker:
    """Marks a field as required for the label's asterisk; the service does the checking."""

    field_flags = {"required": True}

    def __call__(self, form, field):
        return None


def build_form(
    defs: tuple[FieldDef, ...],
    choices: dict,
    rows: dict[str, int],
    posted: bool,
    data=None,
    extra: dict | None = None,
    prefix: str = "",
) -> RecordForm:
    """Build the WTForms form for a definition, with ``rows[key]`` rows for each table.

    ``choices`` gives ``{"user": [(username, name)], "department": [(name, name)]}``.
    """

    class Generated(RecordForm):
        pass

    for fd in defs:
        if fd.type == "table":

            class Row(Form):
                pass

            for column in fd.columns:
                setattr(Row, column.key, _wtf_field(column, choices, in_table=True))
            count = max(rows.get(fd.key, 0), fd.min_rows, 1)
            setattr(
                Generated,
                fd.key,
                FieldList(
                    FormField(Row),
                    label=fd.label,
                    description=fd.hint,
                    min_entries=count,
                    max_entries=fd.max_rows,
                ),
            )
        else:
            setattr(Generated, fd.key, _wtf_field(fd, choices))
            if fd.type == "attachment":
                # The file already attached to a draft, kept when no new file is chosen.
                setattr(Generated, f"{fd.key}__kept", HiddenField())
    for name, unbound in (extra or {}).items():
        setattr(Generated, name, unbound)
    if posted:
        return Generated()  # Flask-WTF reads request.form and request.files
    return Generated(formdata=None, data=data, prefix=prefix)


def form_data(defs: tuple[FieldDef, ...], values: dict) -> dict:
    """Turn stored values into the data a generated form shows."""
    data: dict = {}
    for fd in defs:
        value = values.get(fd.key, fd.default)
        if fd.type == "table":
            data[fd.key] = [
                {c.key: _field_value(c, row.get(c.key, c.default)) for c in fd.columns}
                for row in (value or [])
            ]
        elif fd.type == "attachment":
            data[f"{fd.key}__kept"] = "" if value is None else str(value)
        else:
            data[fd.key] = _field_value(fd, value)
    return data


def _field_value(fd: FieldDef, value):
    if value is None:
        return [] if fd.type == "multiselect" else (False if fd.type == "checkbox" else None)
    if fd.type in NUMERIC_TYPES:
        return str(value)
    return value


def raw_values(defs: tuple[FieldDef, ...], form: RecordForm) -> dict:
    """Read what was typed into a generated form as raw values for :func:`validate_values`."""
    raw: dict = {}
    for fd in defs:
        if fd.type == "attachment":
            continue  # the view stores the upload first and puts the attachment id here
        field_ = form[fd.key]
        if fd.type == "table":
            raw[fd.key] = [
                {c.key: _raw(c, entry.form[c.key].data) for c in fd.columns}
                for entry in field_.entries
            ]
        else:
            raw[fd.key] = _raw(fd, field_.data)
    return raw


def _raw(fd: FieldDef, value):
    if fd.type == "checkbox":
        return bool(value)
    if fd.type == "multiselect":
        return list(value or [])
    return value if value is not None else ""
