"""Form helpers shared by every domain."""

import re
from collections.abc import Iterable

from flask import flash
from wtforms.fields.choices import SelectChoice

from qms.errors import ServiceError


def codes(text: str | None) -> list[str]:
    """Split a typed list of document codes at commas or semicolons, Chinese ones too."""
    return [c.strip() for c in re.split(r"[,;，；、]", text or "") if c.strip()]


def options(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """Turn ``(value, label)`` pairs into the choices WTForms expects."""
    return [SelectChoice(value, label) for value, label in pairs]


def show_error(form, exc: ServiceError) -> None:
    """Put a service's refusal beside the field it concerns, or on top of the form."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None and not isinstance(field.errors, tuple):
        field.errors.append(exc.message)
    else:
        flash(exc.message, "error")
