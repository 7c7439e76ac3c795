"""Data builders for records: record forms in force, made through the real services."""

import yaml

from qms.documents import services as documents
from qms.records import services
from tests.builders import effective, new_document

# One field of every type, with the settings each type takes.
ALL_FIELDS = [
    {"key": "title", "label": "Title", "type": "text", "required": True, "max_length": 20},
    {"key": "notes", "label": "Notes", "type": "textarea", "max_length": 100},
    {"key": "weight", "label": "Weight", "type": "number", "min": 0, "max": 10.5, "unit": "kg"},
    {"key": "score", "label": "Score", "type": "integer", "min": 0, "max": 100},
    {"key": "day", "label": "Day", "type": "date"},
    {"key": "moment", "label": "Moment", "type": "datetime"},
    {"key": "clock", "label": "Clock", "type": "time"},
    {"key": "channel", "label": "Channel", "type": "select", "options": ["window", "phone"]},
    {"key": "checks", "label": "Checks", "type": "multiselect", "options": ["a", "b", "c"]},
    {"key": "result", "label": "Result", "type": "radio", "options": ["pass", "fail"]},
    {"key": "signed", "label": "Signed", "type": "checkbox"},
    {"key": "mail", "label": "Mail", "type": "email"},
    {"key": "tel", "label": "Phone", "type": "phone"},
    {"key": "person", "label": "Person", "type": "user"},
    {"key": "dept", "label": "Department", "type": "department"},
    {"key": "provider", "label": "Provider", "type": "supplier"},
    {"key": "file", "label": "File", "type": "attachment"},
    {"key": "instrument", "label": "Instrument", "type": "equipment", "measurement": "mass"},
    {
        "key": "rows",
        "label": "Rows",
        "type": "table",
        "columns": [
            {"key": "item", "label": "Item", "type": "text", "required": True},
            {"key": "qty", "label": "Quantity", "type": "integer", "min": 1},
        ],
    },
]


def form_content(code: str, fields, title: str = "Test form", **extra) -> str:
    meta = {"code": code, "title": title, "type": "record_form", "clauses": ["7.5"]}
    meta.update(extra)
    meta["fields"] = fields
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    return f"---\n{front}---\n\n# {title}\n\nFill in every field.\n"


def form_in_force(users, code: str = "RF-01", fields=None, **extra):
    """Put a record form in force (effective) with ``fields``; return the document."""
    if not documents_exists(code):
        new_document(
            users, code, title="Test form", doc_type="record_form", distribution=["Service Hall"]
        )
    return effective(users, code, text=form_content(code, fields or ALL_FIELDS, **extra))


def documents_exists(code: str) -> bool:
    try:
        documents.get_document(code)
    except Exception:  # NotFound
        return False
    return True


def submit(users, code="RF-01", username="staff", **values):
    values.setdefault("title", "A title")
    return services.submit_record(users[username], code, values)
