"""The record-form builder: a record form's ``fields:`` edited as a list, saved to its draft.

The builder edits what a hand-written definition says, one row per field (key, type,
labels per language, help, unit, limits, options with their labels, and the rules of
:mod:`qms.records.rules`). Saving writes the front matter's ``fields:`` of the draft and
nothing else, through the documents' own draft save: one new commit on the draft
branch, refused by the same validation as a draft edited by hand.
"""

from __future__ import annotations

import re

import yaml
from flask_babel import gettext as _

from qms.auth.models import User
from qms.documents import services as documents
from qms.documents.models import Document, Revision
from qms.errors import PermissionDenied, ValidationFailed
from qms.records.fields import FIELD_TYPES
from qms.uow import transactional

FORM_TYPE = "record_form"
#: The UI languages a label may be given in, besides the document's own.
LANGUAGES = ("en", "zh_Hans", "zh_Hant")
LABEL_KEYS = ("label", *(f"label_{lang}" for lang in LANGUAGES))
#: Settings a row edits as text; what it does not edit travels in the row's ``extra``.
TEXT_KEYS = ("key", "type", *LABEL_KEYS, "help", "unit", "min", "max", "max_length")
RULE_KEYS = ("differs_from", "computed")
EDITED = {*TEXT_KEYS, "required", "options", "required_when", *RULE_KEYS}
#: The ways a row's "required when" compares, as the builder offers them.
CONDITIONS = ("in", "not_in", "equals", "filled", "empty")
TOP_LEVEL_KEY = re.compile(r"^[^\s#\-]")
FIELDS_KEY = re.compile(r"^fields\s*:")


def can_build(user: User, doc: Document) -> bool:
    """Return whether ``user`` may edit ``doc``'s fields with the builder: an author of a
    record form in force or in drafting, whose draft (if any) is still being drafted."""
    if doc.doc_type != FORM_TYPE or doc.status == "obsolete":
        return False
    if not documents.can_author(user, doc):
        return False
    rev = documents.open_revision(doc)
    return rev is None or rev.status == "draft"


def draft_content(doc: Document) -> tuple[str, Revision | None]:
    """Return the Markdown the builder starts from (the draft's, else what a draft would
    start from) and the open draft, if any."""
    rev = documents.open_revision(doc)
    if rev is not None:
        return documents.revision_content(rev), rev
    current = documents.effective_revision(doc)
    return (documents.revision_content(current) if current else documents.blank_content(doc)), None


# -- rows: what the builder page edits -----------------------------------------------------


def blank_row() -> dict:
    """Return the row of a new field."""
    return {"type": "text", "required": False, "options": [], "extra": ""}


def to_rows(fields) -> list[dict]:
    """Turn a definition's ``fields:`` list into the builder's rows (all text)."""
    rows = []
    for item in fields if isinstance(fields, list) else []:
        if not isinstance(item, dict):
            continue
        row = {k: "" if item.get(k) is None else str(item[k]) for k in TEXT_KEYS}
        row["required"] = item.get("required") is True
        row["options"] = [_option_row(o) for o in item.get("options") or []]
        condition = item.get("required_when")
        if isinstance(condition, dict):
            row["rw_field"] = str(condition.get("field") or "")
            for op in ("in", "not_in", "equals", "filled"):
                if op in condition:
                    value = condition[op]
                    if op == "filled":
                        row["rw_op"] = "filled" if value else "empty"
                    else:
                        row["rw_op"] = op
                        values = value if isinstance(value, list) else [value]
                        row["rw_values"] = ", ".join(str(v) for v in values)
        for key in RULE_KEYS:
            row[key] = "" if item.get(key) is None else str(item[key])
        extra = {k: v for k, v in item.items() if k not in EDITED}
        row["extra"] = yaml.safe_dump(extra, allow_unicode=True, sort_keys=False) if extra else ""
        rows.append(row)
    return rows


def _option_row(option) -> dict:
    if isinstance(option, dict):
        return {k: "" if option.get(k) is None else str(option[k]) for k in ("value", *LABEL_KEYS)}
    return {"value": str(option)}


def from_rows(rows: list[dict]) -> list[dict]:
    """Turn the builder's rows back into the ``fields:`` list, leaving out blank rows.

    What the author typed is kept as it is (a limit that is not a number stays text), so
    that the definition's own validation names the problem.
    """
    fields = []
    for row in rows:
        if not any(_text(row.get(k)) for k in ("key", *LABEL_KEYS)) and not row.get("options"):
            continue
        item: dict = {"key": _text(row.get("key"))}
        for key in LABEL_KEYS:
            if _text(row.get(key)):
                item[key] = _text(row.get(key))
        item["type"] = _text(row.get("type")) or "text"
        if row.get("required"):
            item["required"] = True
        for key in ("help", "unit"):
            if _text(row.get(key)):
                item[key] = _text(row.get(key))
        for key in ("min", "max", "max_length"):
            if _text(row.get(key)):
                item[key] = _number(_text(row.get(key)))
        options = [_option(o) for o in row.get("options") or []]
        options = [o for o in options if o is not None]
        if options:
            item["options"] = options
        condition = _condition(row)
        if condition:
            item["required_when"] = condition
        for key in RULE_KEYS:
            if _text(row.get(key)):
                item[key] = _text(row.get(key))
        item.update(_extra(row.get("extra")))
        fields.append(item)
    return fields


def _text(value) -> str:
    return str(value).strip() if value is not None else ""


def _number(text: str):
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _option(row: dict):
    value = _text(row.get("value"))
    labels = {k: _text(row.get(k)) for k in LABEL_KEYS if _text(row.get(k))}
    if not value and not labels:
        return None
    return {"value": value, **labels} if labels else value


def _condition(row: dict) -> dict | None:
    subject, op = _text(row.get("rw_field")), _text(row.get("rw_op"))
    if not subject and not op:
        return None
    if op in ("filled", "empty"):
        return {"field": subject, "filled": op == "filled"}
    values = [v.strip() for v in _text(row.get("rw_values")).split(",") if v.strip()]
    if op == "equals":
        return {"field": subject, "equals": values[0] if values else ""}
    return {"field": subject, op or "in": values}


def _extra(text) -> dict:
    """Read back the settings the builder carries without editing them (table columns…)."""
    if not _text(text):
        return {}
    try:
        extra = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationFailed(
            _("The other settings are not valid YAML: %(error)s", error=str(exc)), field="extra"
        ) from exc
    if not isinstance(extra, dict):
        raise ValidationFailed(_("The other settings must be a mapping."), field="extra")
    return {k: v for k, v in extra.items() if k not in EDITED}


def field_types() -> list[str]:
    """Return the names of the registered field types, as a definition may use them."""
    return list(FIELD_TYPES)


# -- writing the draft ---------------------------------------------------------------------


def _flow(value) -> str:
    return yaml.safe_dump(
        value, default_flow_style=True, width=100_000, allow_unicode=True, sort_keys=False
    ).strip()


def fields_yaml(fields: list[dict], indent: str = "  ") -> list[str]:
    """Return ``fields:`` items as the starter forms write them: one line per field, a
    table's settings one per line with its columns one line each."""
    lines = []
    for item in fields:
        if "columns" not in item:
            lines.append(f"{indent}- {_flow(item)}")
            continue
        for number, (key, value) in enumerate(item.items()):
            lead = "- " if number == 0 else "  "
            if key == "columns" and isinstance(value, list):
                lines.append(f"{indent}  columns:")
                lines += fields_yaml(value, indent + "    ")
            else:
                lines.append(f"{indent}{lead}{_flow({key: value})[1:-1]}")
    return lines


def with_fields(content: str, fields: list[dict]) -> str:
    """Return the Markdown with its front matter's ``fields:`` replaced, all else kept."""
    block = ["fields:", *fields_yaml(fields)] if fields else ["fields: []"]
    lines = content.split("\n")
    if not lines or lines[0].rstrip("\r") != "---":
        return "\n".join(["---", *block, "---", "", content])
    closing = next(
        (n for n, line in enumerate(lines[1:], start=1) if line.rstrip("\r") in ("---", "...")),
        len(lines),
    )
    start = next((n for n in range(1, closing) if FIELDS_KEY.match(lines[n])), None)
    if start is None:
        return "\n".join(lines[:closing] + block + lines[closing:])
    end = next((n for n in range(start + 1, closing) if TOP_LEVEL_KEY.match(lines[n])), closing)
    # Comments at the margin just before the next key are that key's, and stay.
    while end - 1 > start and lines[end - 1].startswith("#"):
        end -= 1
    return "\n".join(lines[:start] + block + lines[end:])


def without_keys(content: str, keys: tuple[str, ...]) -> str:
    """Return the Markdown with the front matter's top-level ``keys`` (and what they hold)
    taken out, all else as written."""
    lines = content.split("\n")
    if not lines or lines[0].rstrip("\r") != "---":
        return content
    closing = next(
        (n for n, line in enumerate(lines[1:], start=1) if line.rstrip("\r") in ("---", "...")),
        len(lines),
    )
    wanted = re.compile(rf"^(?:{'|'.join(map(re.escape, keys))})\s*:")
    kept, dropping = [], False
    for n, line in enumerate(lines):
        if 0 < n < closing and TOP_LEVEL_KEY.match(line):
            dropping = bool(wanted.match(line))
        if not (dropping and 0 < n < closing):
            kept.append(line)
    return "\n".join(kept)


@transactional
def save_fields(
    actor: User, doc: Document, fields: list[dict], base_commit: str | None = None
) -> Revision:
    """Write ``fields`` into the draft's front matter: one commit on the draft branch.

    :raises PermissionDenied: the actor may not build this form.
    :raises ValidationFailed: the definition is not valid (the message names the field).
    :raises Conflict: someone saved the draft since ``base_commit``.
    """
    if not can_build(actor, doc):
        raise PermissionDenied(
            _("Only an author may change the fields of a record form that is being drafted.")
        )
    content, _rev = draft_content(doc)
    content = with_fields(content, fields)
    if fields:
        # Confirmed: the form is filled online now, no longer only printed.
        content = without_keys(content, ("printable", "proposed_fields"))
    return documents.save_draft(
        actor,
        doc,
        content,
        base_commit=base_commit,
        trailers=[("Edited-with", "form builder")],
    )
