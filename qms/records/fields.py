"""A record form's field definitions: one class per field type, and the WTForms form.

A form's revision carries its fields in the YAML front matter under ``fields:``. This
module turns that list into :class:`FieldDef` objects (refusing bad definitions with a
message naming the field), checks submitted values against them (one function for the
browser and the API), and builds the WTForms form staff fill in.

What a type means lives in one :class:`FieldType` subclass, registered by its name the
way WTForms keeps one class per field: the settings it takes (:meth:`~FieldType.parse`),
how a value is checked (:meth:`~FieldType.check`), the form field staff fill in
(:meth:`~FieldType.form_field`) and how a value is shown (:meth:`~FieldType.display`).
A new type is one new class; nothing else branches on type names.

The rules between fields (``required_when``, ``differs_from``, ``computed``) live in
:mod:`qms.records.rules`: checked when the list is parsed, enforced by
:func:`validate_values` after each value is cleaned.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import ClassVar, NoReturn

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
from qms.records import rules
from qms.records.rules import Condition, Expression

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()\-]{3,28}[0-9]$")
#: What every type takes; a type's own settings are in :attr:`FieldType.settings`.
COMMON_KEYS = {"key", "label", "type", "required", "unit", "help", "default"} | rules.RULE_KEYS
MAX_ROWS = 200
# Numbers beyond this lose precision as JSON floats; no record form needs them.
LARGEST = 10**15
#: A value that is not stored at all (an empty optional field), as opposed to ``None``.
MISSING = object()

Fail = Callable[[str], NoReturn]


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
    measurement: str | None = None
    #: The rules between fields (see :mod:`qms.records.rules`).
    required_when: Condition | None = None
    differs_from: str | None = None
    differs_from_label: dict[str, str] = field(default_factory=dict)
    computed: Expression | None = None
    computed_labels: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def kind(self) -> FieldType:
        """The class of this field's type, which knows how to check, fill in and show it."""
        return FIELD_TYPES[self.type]

    @property
    def label(self) -> str:
        """The label in the user's language, falling back to the form's own."""
        return localised(self.labels) or self.key

    @property
    def hint(self) -> str:
        """The help text, the unit and the field's rules, as shown beside the field."""
        text = localised(self.help) or ""
        if self.unit:
            text = f"{text} ({self.unit})".strip() if text else f"{_('Unit')}{_(': ')}{self.unit}"
        return " ".join([text, *rules.rule_hints(self)]).strip()

    def option_label(self, value: str) -> str:
        for option in self.options:
            if option.value == value:
                return option.label()
        return value

    @property
    def limit(self) -> int | None:
        return self.max_length or self.kind.max_length


def localised(labels: dict[str, str]) -> str | None:
    """Pick the text for the current locale from ``{"": own, "en": …, "zh_Hans": …}``.

    The rule for labels, help and option labels: ``label`` is in the document's own
    language; ``label_<lang>`` (``label_en``, ``label_zh_Hans``, ``label_zh_Hant``) gives
    it in a UI language, and wins in that language. Traditional Chinese falls back to
    ``label_zh_Hans``, then to the document's own text (a Traditional installation's
    starter set is converted as a whole when loaded).
    """
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


def is_blank(value) -> bool:
    return (
        value is None
        or value == ""
        or value == []
        or (isinstance(value, str) and not value.strip())
    )


@dataclass
class Lookups:
    """How values that name things in the system are checked (users, departments, files).

    ``suppliers`` returns a provider's approval status (None when there is none);
    ``kept`` holds the values a record already has, which an amendment may keep though
    they could no longer be chosen anew (a provider suspended since).
    """

    users: Callable[[str], bool]
    departments: Callable[[str], bool]
    attachments: Callable[[int], bool]
    suppliers: Callable[[str], str | None] = lambda _s: None
    #: Why a new record may not name an instrument (its number), or None when it may.
    equipment: Callable[[str], str | None] = lambda _number: _(
        "Choose an instrument from the equipment register."
    )
    kept: frozenset = frozenset()

    @classmethod
    def none(cls) -> Lookups:
        return cls(lambda _u: False, lambda _d: False, lambda _a: False)


# -- the types ---------------------------------------------------------------------------

#: Every field type by name, in the order the definition help lists them.
FIELD_TYPES: dict[str, FieldType] = {}


def register(cls: type[FieldType]) -> type[FieldType]:
    """Make a :class:`FieldType` subclass usable in definitions under its ``name``."""
    FIELD_TYPES[cls.name] = cls()
    return cls


def _only_for(setting: str) -> str:
    """Say which types take ``setting``, for a definition that gives it to another type."""
    return {
        "options": _("options are only for select, multiselect and radio fields."),
        "min": _("%(name)s is only for number, integer and table fields.", name="min"),
        "max": _("%(name)s is only for number, integer and table fields.", name="max"),
        "max_length": _("max_length is only for text, textarea, email and phone fields."),
        "pattern": _("a pattern is only for text, email and phone fields."),
        "columns": _("columns are only for table fields."),
        "measurement": _("measurement is only for equipment fields."),
    }[setting]


#: Settings some types take; any other key (but ``label_*``/``help_*``) is unknown.
TYPE_SETTINGS = ("options", "min", "max", "max_length", "pattern", "columns", "measurement")


class Marker:
    """Marks a field as required for the label's asterisk; the service does the checking."""

    field_flags = {"required": True}

    def __call__(self, form, field):
        return None


class FieldType:
    """How one type of field is defined, checked, filled in and shown.

    A subclass sets :attr:`name` and overrides what differs; :func:`register` keeps one
    instance of it. Methods take the :class:`FieldDef` they work on.
    """

    name: ClassVar[str]
    #: The settings (of :data:`TYPE_SETTINGS`) this type takes.
    settings: ClassVar[frozenset[str]] = frozenset()
    #: Whether a table's column may be of this type.
    in_tables: ClassVar[bool] = True
    #: Whether a definition may give a default value.
    takes_default: ClassVar[bool] = True
    #: The longest text taken when the definition sets no ``max_length`` (text types).
    max_length: ClassVar[int | None] = None

    # -- the definition

    def parse(self, item: dict, fail: Fail, name: str) -> dict:
        """Return this type's own settings of a definition, as :class:`FieldDef` arguments."""
        return {}

    # -- values

    def validate(self, fd: FieldDef, value, lookups: Lookups, partial: bool):
        """Return ``(clean value or MISSING, problems)`` for what was given for the field.

        With ``partial`` (a draft), a missing required value is not a problem.
        """
        if is_blank(value):
            missing = fd.required and not partial
            return MISSING, [_("This field is required.")] if missing else []
        clean, problem = self.check(fd, value, lookups)
        return (MISSING, [problem]) if problem else (clean, [])

    def check(self, fd: FieldDef, value, lookups: Lookups) -> tuple[object, str | None]:
        """Return ``(clean value, None)`` or ``(None, localised problem)`` for a given value."""
        return None, _("This field cannot be filled.")

    def indexed(self, fd: FieldDef, value) -> list[tuple[str, object]]:
        """Return the ``(key, value)`` pairs by which lists find a stored value."""
        return [(fd.key, value)]

    def filters(self, fd: FieldDef) -> list[tuple[str, str]]:
        """Return ``(key, label)`` of what a list of records may be filtered by."""
        return [(fd.key, fd.label)]

    # -- the form

    def render_kw(self, fd: FieldDef, **extra) -> dict:
        kw: dict = {"required": False}  # drafts may be saved partly filled
        if self.max_length and fd.limit:
            kw["maxlength"] = fd.limit
        kw.update(extra)
        if fd.computed is not None:
            # Shown, never typed: the server computes it on submit and amend.
            kw.update(readonly=True, tabindex="-1", **{"class": "computed"})
        return kw

    def common(self, fd: FieldDef, **render_kw) -> dict:
        """Return the arguments every WTForms field of this definition takes."""
        return {
            "label": fd.label,
            "description": fd.hint,
            "validators": [Marker()] if fd.required else [],
            "render_kw": self.render_kw(fd, **render_kw),
        }

    def form_field(self, fd: FieldDef, choices: dict, in_table: bool = False):
        """Return the unbound WTForms field staff fill in.

        ``choices`` gives ``{"user": [(username, name)], "department": [(name, name)]}``.
        """
        return StringField(**self.common(fd))

    def form_fields(self, fd: FieldDef, choices: dict) -> dict:
        """Return every unbound WTForms field the definition adds to a form, by name."""
        return {fd.key: self.form_field(fd, choices)}

    def form_value(self, fd: FieldDef, value):
        """Turn a stored value into what the form field shows."""
        return value

    def form_data(self, fd: FieldDef, value) -> dict:
        """Return the form data, by field name, that shows a stored value."""
        return {fd.key: self.form_value(fd, value)}

    def read(self, fd: FieldDef, form):
        """Return what was typed into the form for the field, as a raw value."""
        return self.raw(fd, form[fd.key].data)

    def raw(self, fd: FieldDef, data):
        return data if data is not None else ""

    # -- showing

    def display(self, fd: FieldDef, value, names: dict) -> str:
        """Return a non-empty stored value as plain text (the caller escapes it)."""
        return str(value)

    def cells(self, fd: FieldDef, value, names: dict) -> list[list[str]]:
        """Return a value's table cells as text: none, but for tables."""
        return []


@register
class TextType(FieldType):
    name = "text"
    settings = frozenset({"max_length", "pattern"})
    max_length = 500
    #: Whether leading and trailing space is dropped (a textarea keeps its indentation).
    strip: ClassVar[bool] = True

    def parse(self, item, fail, name):
        max_length = item.get("max_length")
        if max_length is not None and (
            isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1
        ):
            fail(_("max_length must be a whole number of at least 1."))
        pattern = item.get("pattern")
        if pattern is not None:
            try:
                re.compile(str(pattern))
            except re.error as exc:
                fail(_("the pattern is not a valid regular expression: %(error)s", error=str(exc)))
        return {
            "max_length": max_length,
            "pattern": str(pattern) if pattern is not None else None,
        }

    def check(self, fd, value, lookups):
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            return None, _("Enter text.")
        text = str(value).replace("\r\n", "\n")
        if self.strip:
            text = text.strip()
        if fd.limit and len(text) > fd.limit:
            return None, _("Use at most %(n)s characters.", n=fd.limit)
        problem = self.format_problem(text)
        if problem:
            return None, problem
        if fd.pattern and not re.fullmatch(fd.pattern, text):
            return None, _("The value does not have the expected format.")
        return text, None

    def format_problem(self, text: str) -> str | None:
        """Return what is wrong with the text's form (an e-mail address's, say), if anything."""
        return None


@register
class TextareaType(TextType):
    name = "textarea"
    settings = frozenset({"max_length"})
    max_length = 20000
    strip = False

    def form_field(self, fd, choices, in_table=False):
        return TextAreaField(**self.common(fd, rows=2 if in_table else 4))


class NumberType(FieldType):
    settings = frozenset({"min", "max"})
    not_a_number: ClassVar[Callable[[], str]]
    step: ClassVar[str]

    def parse(self, item, fail, name):
        low, high = _bounds(item, fail)
        return {"min": low, "max": high}

    def check(self, fd, value, lookups):
        try:
            number = (
                None if isinstance(value, bool) else Decimal(str(value).strip().replace(",", ""))
            )
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or abs(number) >= LARGEST:
            return None, self.not_a_number()
        clean = self.clean(number)
        if clean is None:
            return None, self.not_a_number()
        if fd.min is not None and number < Decimal(str(fd.min)):
            return None, _("Enter at least %(min)s.", min=fd.min)
        if fd.max is not None and number > Decimal(str(fd.max)):
            return None, _("Enter at most %(max)s.", max=fd.max)
        return clean, None

    def clean(self, number: Decimal) -> int | float | None:
        """Return the number as stored, or None when this type does not take it."""
        return int(number) if number == number.to_integral_value() else float(number)

    def form_field(self, fd, choices, in_table=False):
        kw: dict = {"step": self.step, "inputmode": "decimal"}
        if fd.min is not None:
            kw["min"] = fd.min
        if fd.max is not None:
            kw["max"] = fd.max
        return StringField(widget=w.NumberInput(), **self.common(fd, **kw))

    def form_value(self, fd, value):
        return None if value is None else str(value)

    def display(self, fd, value, names):
        return f"{value} {fd.unit}" if fd.unit else str(value)


@register
class DecimalType(NumberType):
    name = "number"
    step = "any"
    not_a_number = staticmethod(lambda: _("Enter a number."))


@register
class IntegerType(NumberType):
    name = "integer"
    step = "1"
    not_a_number = staticmethod(lambda: _("Enter a whole number."))

    def clean(self, number):
        return int(number) if number == number.to_integral_value() else None


class MomentType(FieldType, ABC):
    """A date, a date and time, or a time of day, stored in ISO form."""

    widget: ClassVar[type]
    wrong: ClassVar[Callable[[], str]]

    def check(self, fd, value, lookups):
        text = str(value).strip() if isinstance(value, (str, date, time)) else ""
        try:
            return self.iso(text), None
        except ValueError:
            return None, self.wrong()

    @abstractmethod
    def iso(self, text: str) -> str:
        """Return the value in the form it is stored; :raises ValueError: it is not one."""

    def form_field(self, fd, choices, in_table=False):
        return StringField(widget=self.widget(), **self.common(fd))


@register
class DateType(MomentType):
    name = "date"
    widget = w.DateInput
    wrong = staticmethod(lambda: _("Enter a date as YYYY-MM-DD."))

    def iso(self, text):
        return date.fromisoformat(text).isoformat()


@register
class DateTimeType(MomentType):
    name = "datetime"
    widget = w.DateTimeLocalInput
    wrong = staticmethod(lambda: _("Enter a date and time as YYYY-MM-DD HH:MM."))

    def iso(self, text):
        moment = datetime.fromisoformat(text.replace(" ", "T"))
        return moment.replace(second=0, microsecond=0, tzinfo=None).isoformat(timespec="minutes")

    def display(self, fd, value, names):
        return str(value).replace("T", " ")


@register
class TimeType(MomentType):
    name = "time"
    widget = w.TimeInput
    wrong = staticmethod(lambda: _("Enter a time as HH:MM."))

    def iso(self, text):
        return (
            time.fromisoformat(text).replace(second=0, microsecond=0).isoformat(timespec="minutes")
        )


class ChoiceType(FieldType):
    """A field whose values are the options its definition lists."""

    settings = frozenset({"options"})

    def parse(self, item, fail, name):
        raw_options = item.get("options")
        if not isinstance(raw_options, list) or not raw_options:
            fail(_("a %(type)s needs a list of options.", type=self.name))
        opts: list[Option] = []
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
        return {"options": tuple(opts)}

    def check(self, fd, value, lookups):
        if not isinstance(value, (str, int)) or str(value) not in {o.value for o in fd.options}:
            return None, _("Choose one of the options.")
        return str(value), None

    def pairs(self, fd: FieldDef) -> list[tuple[str, str]]:
        return [(o.value, o.label()) for o in fd.options]

    def display(self, fd, value, names):
        return fd.option_label(str(value))


@register
class SelectType(ChoiceType):
    name = "select"

    def form_field(self, fd, choices, in_table=False):
        return _select(self, fd, self.pairs(fd))


@register
class MultiselectType(ChoiceType):
    name = "multiselect"

    def check(self, fd, value, lookups):
        values = value if isinstance(value, list) else [value]
        allowed = [o.value for o in fd.options]
        chosen = {str(v) for v in values if not is_blank(v)}
        if not chosen <= set(allowed) or any(not isinstance(v, (str, int)) for v in values):
            return None, _("Choose among the options only.")
        return [v for v in allowed if v in chosen], None

    def indexed(self, fd, value):
        return [(fd.key, v) for v in value]

    def form_field(self, fd, choices, in_table=False):
        return SelectMultipleField(
            choices=choice_list(self.pairs(fd)),
            validate_choice=False,
            widget=w.ListWidget(prefix_label=False),
            option_widget=w.CheckboxInput(),
            **self.common(fd),
        )

    def form_value(self, fd, value):
        return [] if value is None else value

    def raw(self, fd, data):
        return list(data or [])

    def display(self, fd, value, names):
        return ", ".join(fd.option_label(str(v)) for v in value)


@register
class RadioType(ChoiceType):
    name = "radio"

    def form_field(self, fd, choices, in_table=False):
        return RadioField(
            choices=choice_list(self.pairs(fd)), validate_choice=False, **self.common(fd)
        )


@register
class CheckboxType(FieldType):
    name = "checkbox"
    TRUE = ("y", "yes", "true", "on", "1")
    FALSE = ("n", "no", "false", "off", "0")

    def validate(self, fd, value, lookups, partial):
        # An unticked box is an answer ("no"), unless the box must be ticked.
        if value is None:
            value = False
        if is_blank(value) or (value is False and fd.required):
            if fd.required:
                return MISSING, [] if partial else [_("Tick this box.")]
            return False, []
        return super().validate(fd, value, lookups, partial)

    def check(self, fd, value, lookups):
        if isinstance(value, bool):
            return value, None
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True, None
        if text in self.FALSE:
            return False, None
        return None, _("Tick the box or leave it empty.")

    def form_field(self, fd, choices, in_table=False):
        return BooleanField(**self.common(fd))

    def form_value(self, fd, value):
        return False if value is None else value

    def raw(self, fd, data):
        return bool(data)

    def display(self, fd, value, names):
        return _("yes") if value else _("no")


@register
class EmailType(TextType):
    name = "email"
    max_length = 254

    def format_problem(self, text):
        if not EMAIL_RE.match(text):
            return _("Enter an e-mail address such as name@example.org.")
        return None

    def form_field(self, fd, choices, in_table=False):
        return StringField(widget=w.EmailInput(), **self.common(fd))


@register
class PhoneType(TextType):
    name = "phone"
    max_length = 32

    def format_problem(self, text):
        if not PHONE_RE.match(text):
            return _("Enter a telephone number: digits, spaces, dashes and an optional +.")
        return None

    def form_field(self, fd, choices, in_table=False):
        return StringField(widget=w.TelInput(), **self.common(fd))


class NamedType(FieldType, ABC):
    """A field naming something the system knows (a person, a department) by its name."""

    takes_default = False
    unknown: ClassVar[Callable[[], str]]

    @abstractmethod
    def exists(self, lookups: Lookups, name: str) -> bool:
        """Return whether ``name`` is one the system knows."""

    def check(self, fd, value, lookups):
        if not isinstance(value, str) or not self.exists(lookups, value.strip()):
            return None, self.unknown()
        return value.strip(), None

    def form_field(self, fd, choices, in_table=False):
        return _select(self, fd, choices.get(self.name, []))


@register
class UserType(NamedType):
    name = "user"
    unknown = staticmethod(lambda: _("Choose a person who has an account in the system."))

    def exists(self, lookups, name):
        return lookups.users(name)

    def display(self, fd, value, names):
        return names.get(("user", value), value)


@register
class DepartmentType(NamedType):
    name = "department"
    unknown = staticmethod(lambda: _("Choose a department of the organisation."))

    def exists(self, lookups, name):
        return lookups.departments(name)


@register
class SupplierType(NamedType):
    """An external provider, by number: a suspended one cannot be chosen on a new record
    (ISO 9001 §8.4.1), though a record already naming it keeps it when amended."""

    name = "supplier"
    unknown = staticmethod(lambda: _("Choose a provider from the register."))

    def exists(self, lookups, name):
        return lookups.suppliers(name) is not None

    def check(self, fd, value, lookups):
        clean, problem = super().check(fd, value, lookups)
        if (
            problem is None
            and lookups.suppliers(clean) == "suspended"
            and clean not in lookups.kept
        ):
            return None, _(
                "Provider %(number)s is suspended: it cannot be chosen on a new record.",
                number=clean,
            )
        return clean, problem

    def display(self, fd, value, names):
        return names.get(("supplier", value), value)


@register
class AttachmentType(FieldType):
    """A file, stored once by :mod:`qms.attachments`; the value is its attachment's id."""

    name = "attachment"
    in_tables = False
    takes_default = False

    def check(self, fd, value, lookups):
        try:
            ident = int(value)
        except (TypeError, ValueError):
            ident = None
        if ident is None or isinstance(value, bool) or not lookups.attachments(ident):
            return None, _("The attached file was not found; attach it again.")
        return ident, None

    def filters(self, fd):
        return []

    def form_fields(self, fd, choices):
        # The file already attached (to a draft, a record), kept when no new file is chosen.
        return {fd.key: FileField(**self.common(fd)), kept_name(fd): HiddenField()}

    def form_data(self, fd, value):
        return {kept_name(fd): "" if value is None else str(value)}

    def read(self, fd, form):
        kept = form[kept_name(fd)].data or ""
        return int(kept) if kept.isdigit() else ""

    def display(self, fd, value, names):
        return names.get(("attachment", value), f"#{value}")


@register
class EquipmentType(FieldType):
    """An instrument of the equipment register, by its number; only a usable one is taken.

    ``measurement`` limits the choice to the instruments serving that measurement. The
    record is indexed under ``@equipment`` too, so the records made with an instrument
    are found whatever the field is called.
    """

    name = "equipment"
    settings = frozenset({"measurement"})
    in_tables = False
    takes_default = False
    INDEX_KEY = "@equipment"

    def parse(self, item, fail, name):
        measurement = item.get("measurement")
        if measurement is not None and (not isinstance(measurement, str) or not measurement):
            fail(_("measurement must be the name of a measurement, such as mass."))
        return {"measurement": measurement}

    def check(self, fd, value, lookups):
        if not isinstance(value, str) or not value.strip():
            return None, _("Choose an instrument from the equipment register.")
        number = value.strip()
        problem = lookups.equipment(number)
        return (None, problem) if problem else (number, None)

    def indexed(self, fd, value):
        return [(fd.key, value), (self.INDEX_KEY, value)]

    def form_field(self, fd, choices, in_table=False):
        pairs = [
            (number, label)
            for number, label, measurement in choices.get(self.name, [])
            if not fd.measurement or measurement == fd.measurement
        ]
        return _select(self, fd, pairs)


def kept_name(fd: FieldDef) -> str:
    """Return the name of the hidden field that keeps an attachment field's file id."""
    return f"{fd.key}__kept"


@register
class TableType(FieldType):
    """Rows of simple values, one column per field definition."""

    name = "table"
    settings = frozenset({"min", "max", "columns"})
    in_tables = False
    takes_default = False

    def parse(self, item, fail, name):
        low, high = _bounds(item, fail)
        if not item.get("columns"):
            fail(_("a table needs a list of columns."))
        return {
            "columns": parse_fields(item.get("columns"), columns_of=name),
            "min_rows": int(low) if low is not None else (1 if item.get("required") else 0),
            "max_rows": int(high) if high is not None else MAX_ROWS,
        }

    def validate(self, fd, value, lookups, partial):
        if value is None or value == "":
            value = []
        if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
            return MISSING, [_("Give the rows as a list of objects keyed by column.")]
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
                problems += [
                    _("Row %(row)s, %(column)s: %(problem)s", row=number, column=label, problem=m)
                    for m in messages
                ]
            clean_rows.append(clean)
        return (MISSING, problems) if problems else (clean_rows, [])

    def indexed(self, fd, value):
        return [
            (f"{fd.key}.{key}", cell)
            for row in value
            for column in fd.columns
            if not is_blank(row.get(column.key))
            for key, cell in column.kind.indexed(column, row[column.key])
        ]

    def filters(self, fd):
        return [(f"{fd.key}.{c.key}", f"{fd.label} · {c.label}") for c in fd.columns]

    def form_fields(self, fd, choices):
        class Row(Form):
            pass

        for column in fd.columns:
            setattr(Row, column.key, column.kind.form_field(column, choices, in_table=True))
        return {
            fd.key: FieldList(
                FormField(Row),
                label=fd.label,
                description=fd.hint,
                min_entries=max(fd.min_rows, 1),
                max_entries=fd.max_rows,
            )
        }

    def form_data(self, fd, value):
        return {
            fd.key: [
                {c.key: c.kind.form_value(c, row.get(c.key, c.default)) for c in fd.columns}
                for row in (value or [])
            ]
        }

    def read(self, fd, form):
        return [
            {c.key: c.kind.raw(c, entry.form[c.key].data) for c in fd.columns}
            for entry in form[fd.key].entries
        ]

    def display(self, fd, value, names):
        return "; ".join(
            ", ".join(
                f"{c.label}{_(': ')}{display(c, row.get(c.key), names)}"
                for c in fd.columns
                if not is_blank(row.get(c.key))
            )
            for row in value
        )

    def cells(self, fd, value, names):
        return [[display(c, row.get(c.key), names) for c in fd.columns] for row in value or []]


def _bounds(item: dict, fail: Fail) -> tuple[float | None, float | None]:
    low, high = item.get("min"), item.get("max")
    for bound_name, bound in (("min", low), ("max", high)):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, (int, float))):
            fail(_("%(name)s must be a number.", name=bound_name))
    if low is not None and high is not None and low > high:
        fail(_("min (%(min)s) is over max (%(max)s).", min=low, max=high))
    return low, high


def _select(kind: FieldType, fd: FieldDef, pairs) -> SelectField:
    return SelectField(
        choices=choice_list([("", "—")] + list(pairs)), validate_choice=False, **kind.common(fd)
    )


# -- parsing a definition ----------------------------------------------------------------


def parse_fields(raw, *, columns_of: str | None = None) -> tuple[FieldDef, ...]:
    """Turn the front matter's ``fields:`` list into field definitions.

    :raises DefinitionError: the list, or one field in it, is not a valid definition.
    """
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        if columns_of:
            raise DefinitionError(
                _("Field %(key)s: columns must be a list of fields.", key=columns_of), columns_of
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

    def fail_for(key: str, message: str) -> NoReturn:
        name = f"{columns_of}.{key}" if columns_of else key
        raise DefinitionError(_("Field %(key)s: %(problem)s", key=name, problem=message), name)

    resolved, _order = rules.resolve(tuple(defs), fail_for)
    return resolved


def _parse_field(item, index: int, columns_of: str | None) -> FieldDef:
    key = _key_of(item, index)
    name = f"{columns_of}.{key}" if columns_of else key

    def fail(message: str) -> NoReturn:
        raise DefinitionError(_("Field %(key)s: %(problem)s", key=name, problem=message), name)

    unknown = sorted(
        str(k)
        for k in item
        if k not in COMMON_KEYS
        and k not in TYPE_SETTINGS
        and not str(k).startswith(("label_", "help_"))
    )
    if unknown:
        fail(_("unknown setting %(name)s.", name=", ".join(map(str, unknown))))
    kind = _kind_of(item, columns_of, fail)
    labels = _texts(item, "label")
    if not labels.get(""):
        fail(_("a label is required."))
    required = item.get("required", False)
    if not isinstance(required, bool):
        fail(_("required must be true or false."))
    for setting in TYPE_SETTINGS:
        if setting in item and setting not in kind.settings:
            fail(_only_for(setting))
    computed = rules.parse_expression(item.get("computed"), fail)
    condition = rules.parse_condition(item.get("required_when"), fail)
    differs_from = item.get("differs_from")
    if differs_from is not None and not isinstance(differs_from, str):
        fail(_("differs_from must be the key of another field."))
    if computed is not None and (required or condition is not None or "default" in item):
        fail(_("a computed field is never typed: it takes no required, required_when or default."))
    fd = FieldDef(
        key=key,
        type=kind.name,
        labels=labels,
        required=required,
        unit=str(item["unit"]) if item.get("unit") is not None else None,
        help=_texts(item, "help"),
        default=item.get("default"),
        required_when=condition,
        differs_from=differs_from,
        computed=computed,
        **kind.parse(item, fail, name),
    )
    if fd.default is not None:
        if not kind.takes_default:
            fail(_("a %(type)s field cannot have a default.", type=kind.name))
        _value, problem = kind.check(fd, fd.default, Lookups.none())
        if problem:
            fail(_("the default is not valid: %(problem)s", problem=problem))
    return fd


def _key_of(item, index: int) -> str:
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
    return key


def _kind_of(item: dict, columns_of: str | None, fail: Fail) -> FieldType:
    """Return the class of the field's type, among those a table's column may have."""
    allowed = [t for t, kind in FIELD_TYPES.items() if kind.in_tables or not columns_of]
    ftype = item.get("type")
    if not isinstance(ftype, str) or ftype not in allowed:
        fail(
            _(
                "unknown type %(type)s; use one of %(types)s.",
                type=repr(ftype),
                types=", ".join(allowed),
            )
        )
    return FIELD_TYPES[ftype]


# -- checking and showing values ---------------------------------------------------------


def check_value(fd: FieldDef, value, lookups: Lookups) -> tuple[object, str | None]:
    """Return ``(clean value, None)`` or ``(None, localised problem)`` for one non-blank value."""
    return fd.kind.check(fd, value, lookups)


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
        if fd.computed is not None:
            continue  # never typed: computed below from the other values
        clean, problems = fd.kind.validate(fd, raw.get(fd.key), lookups, partial)
        if problems:
            errors[fd.key] = problems
        elif clean is not MISSING:
            values[fd.key] = clean
    rules.apply(defs, values, errors, lambda fd, value: fd.kind.check(fd, value, lookups), partial)
    return values, errors


def display(fd: FieldDef, value, names: dict | None = None) -> str:
    """Return a value as plain text for pages and exports (the caller escapes it)."""
    if value is None or value == "" or value == []:
        return ""
    return fd.kind.display(fd, value, names or {})


# -- the WTForms form ----------------------------------------------------------------------


class RecordForm(FlaskForm):
    """The base of every generated record form; fields are added per form revision.

    Values are checked by :func:`validate_values` (the same rules as the API), not by
    WTForms validators, so every field reads what was typed as it is.
    """


def build_form(
    defs: tuple[FieldDef, ...],
    choices: dict,
    posted: bool,
    data=None,
    extra: dict | None = None,
    prefix: str = "",
) -> RecordForm:
    """Build the WTForms form for a definition; read the request when ``posted``.

    ``choices`` gives ``{"user": [(username, name)], "department": [(name, name)]}``.
    """

    class Generated(RecordForm):
        pass

    for fd in defs:
        for name, unbound in fd.kind.form_fields(fd, choices).items():
            setattr(Generated, name, unbound)
    for name, unbound in (extra or {}).items():
        setattr(Generated, name, unbound)
    if posted:
        return Generated()  # Flask-WTF reads request.form and request.files
    return Generated(formdata=None, data=data, prefix=prefix)


def form_data(defs: tuple[FieldDef, ...], values: dict) -> dict:
    """Turn stored values into the data a generated form shows."""
    data: dict = {}
    for fd in defs:
        data.update(fd.kind.form_data(fd, values.get(fd.key, fd.default)))
    return data


def raw_values(defs: tuple[FieldDef, ...], form: RecordForm) -> dict:
    """Read what was typed into a generated form as raw values for :func:`validate_values`.

    An attachment field gives the id of the file already kept; a newly chosen file is in
    :func:`uploads`, stored only with the record that names it.
    """
    return {fd.key: fd.kind.read(fd, form) for fd in defs}


def uploads(defs: tuple[FieldDef, ...], form: RecordForm) -> dict:
    """Return the files newly chosen in a posted form's attachment fields, by field key."""
    out = {}
    for fd in defs:
        if isinstance(fd.kind, AttachmentType):
            upload = form[fd.key].data
            if upload and getattr(upload, "filename", ""):
                out[fd.key] = upload
    return out


def kept_attachments(defs: tuple[FieldDef, ...], form: RecordForm) -> dict[str, int]:
    """Return the ids of the files already kept in a form's attachment fields, by field key."""
    out = {}
    for fd in defs:
        if isinstance(fd.kind, AttachmentType):
            ident = fd.kind.read(fd, form)
            if ident != "":
                out[fd.key] = ident
    return out


def add_row(defs: tuple[FieldDef, ...], form: RecordForm, key: str) -> None:
    """Give the table field ``key`` of a posted form one more row, up to its limit."""
    fd = next((f for f in defs if f.key == key), None)
    if fd is not None and isinstance(fd.kind, TableType) and len(form[key].entries) < fd.max_rows:
        form[key].append_entry()
