"""The localised names of record states and link types, for pages, exports and the API."""

from flask_babel import gettext as _


def status_label(status: str) -> str:
    return {
        "submitted": _("submitted"),
        "amended": _("amended"),
        "void": _("void"),
    }.get(status, status)


def link_label(target_type: str) -> str:
    return {
        "nonconformity": _("Nonconformity"),
        "audit": _("Audit"),
        "action": _("Action"),
        "complaint": _("Complaint"),
        "record": _("Record"),
    }.get(target_type, target_type)


def field_type_label(name: str) -> str:
    """Return the name of a field type (``text``, ``radio`` …) as authors read it."""
    return {
        "text": _("Text"),
        "textarea": _("Long text"),
        "number": _("Number"),
        "integer": _("Whole number"),
        "date": _("Date"),
        "datetime": _("Date and time"),
        "time": _("Time of day"),
        "select": _("Drop-down list"),
        "multiselect": _("Tick boxes (several)"),
        "radio": _("Radio buttons (one)"),
        "checkbox": _("Tick box"),
        "email": _("E-mail address"),
        "phone": _("Telephone number"),
        "user": _("Person"),
        "department": _("Department"),
        "supplier": _("External provider"),
        "attachment": _("File"),
        "equipment": _("Instrument"),
        "table": _("Table"),
    }.get(name, name)
