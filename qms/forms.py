"""Form helpers shared by every domain."""

from collections.abc import Iterable

from wtforms.fields.choices import SelectChoice


def options(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """Turn ``(value, label)`` pairs into the choices WTForms expects."""
    return [SelectChoice(value, label) for value, label in pairs]
