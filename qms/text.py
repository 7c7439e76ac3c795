"""Text hygiene at the boundary: what SQLite would keep but PostgreSQL (or git) refuses.

A NUL character is stored by SQLite and refused by PostgreSQL and by git commit messages;
a lone surrogate (``"\\ud800"`` in JSON) cannot be encoded as UTF-8 by either driver.
Text that comes in is therefore cleaned (form fields, query strings, imported files) or
refused with a message naming the field (API bodies), so that both databases hold the
same data and a backup of one restores on the other.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Request as FlaskRequest
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from werkzeug.formparser import FormDataParser
from werkzeug.utils import cached_property

_SURROGATE = re.compile("[\ud800-\udfff]")


# The longest free text one field takes (a description, evidence, a response): pages of
# facts, not a book; longer text is refused with the count, never cut.
LONG_TEXT = 10_000


def within(value: str, limit: int, field: str | None) -> str:
    """Return ``value``, or refuse it beside ``field`` when longer than ``limit`` characters.

    :raises ValidationFailed: too long (the message gives the limit and the length).
    """
    from qms.errors import ValidationFailed

    if len(value) > limit:
        raise ValidationFailed(
            _(
                "At most %(limit)d characters, please; this has %(count)d.",
                limit=limit,
                count=len(value),
            ),
            field=field,
        )
    return value


def clean(value: Any) -> Any:
    """Remove NUL characters and replace lone surrogates with U+FFFD.

    Strings inside lists and dicts (keys too) are cleaned as well; other values are
    returned as they are.
    """
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "")
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {clean(key): clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(clean(item) for item in value)
    return value


def problem(value: str) -> str | None:
    """Return why ``value`` cannot be stored, in the user's language, or None."""
    if _SURROGATE.search(value):
        return _("This text contains a lone surrogate (\\ud800–\\udfff), which is not a character.")
    if "\x00" in value:
        return _("This text contains a NUL character (\\u0000), which cannot be stored.")
    return None


def has_surrogate(value: str) -> bool:
    return _SURROGATE.search(value) is not None


def _clean_multidict(data: MultiDict) -> MultiDict:
    if not any("\x00" in key or "\x00" in value for key, value in data.items(multi=True)):
        return data
    cleaned = [(clean(key), clean(value)) for key, value in data.items(multi=True)]
    return type(data)(cleaned)


class _CleanFormDataParser(FormDataParser):
    def parse(self, *args, **kwargs):
        stream, form, files = super().parse(*args, **kwargs)
        for _name, upload in files.items(multi=True):
            if upload.filename and "\x00" in upload.filename:
                upload.filename = clean(upload.filename)
        return stream, _clean_multidict(form), files


class Request(FlaskRequest):
    """A request whose form fields, file names and query string hold no NUL characters.

    A NUL in typed or pasted text is never meant; dropping it keeps everything else the
    user typed, where refusing would make them hunt for an invisible character. (Lone
    surrogates cannot arrive this way: Werkzeug does not decode invalid UTF-8 into them.)
    """

    form_data_parser_class = _CleanFormDataParser

    @cached_property
    def args(self) -> MultiDict:
        return _clean_multidict(super().args)
