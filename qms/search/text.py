"""Text for the index: Markdown to plain words, normalisation, and highlighted snippets."""

import re
import unicodedata
from collections.abc import Sequence

from markupsafe import Markup, escape

MAX_TERMS = 8

_FENCE = re.compile(r"^\s*(```|~~~).*$", re.M)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_HTML = re.compile(r"<[^>]+>")
_LINE_MARK = re.compile(r"^\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+(?:\[[ xX]\]\s+)?|\d+[.)]\s+)", re.M)
# The rules of pipe, simple and grid tables (what a Word file's tables are read as), and
# horizontal rules: lines of nothing but dashes, equals, plus, colons, bars and spaces.
_TABLE_RULE = re.compile(r"^[ \t]*[-=+:| \t]*[-=]{3,}[-=+:| \t]*$", re.M)
_EMPHASIS = re.compile(r"(\*{1,3}|_{2,3}|~~|`+)")
_PIPE = re.compile(r"\s*\|\s*")


def markdown_to_text(body: str) -> str:
    """Return the words of a Markdown body as one line, without markup, for the index."""
    text = _FENCE.sub(" ", body)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _HTML.sub(" ", text)
    text = _TABLE_RULE.sub(" ", text)
    text = _LINE_MARK.sub("", text)
    text = _EMPHASIS.sub("", text)
    text = _PIPE.sub(" ", text)
    return " ".join(text.split())


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def normalise(text: str) -> str:
    """Fold width and case and collapse spaces, the same way for the index and a query."""
    return " ".join(_fold(text or "").split())


def terms(query: str) -> list[str]:
    """Split a query into the terms every hit must contain (a run of Chinese is one term)."""
    return list(dict.fromkeys(normalise(query).split()))[:MAX_TERMS]


def _folded_with_origin(text: str) -> tuple[str, Sequence[int]]:
    """Fold ``text`` character by character, remembering where each folded one came from."""
    folded = _fold(text)
    if len(folded) == len(text):
        # Nearly always: folding kept every character in place, so positions map 1:1.
        return folded, range(len(text))
    chars, origin = [], []
    for i, ch in enumerate(text):
        folded = _fold(ch)
        chars.append(folded)
        origin.extend([i] * len(folded))
    return "".join(chars), origin


def snippet(text: str, query_terms: list[str], width: int = 160) -> Markup:
    """Return the passage around the first match, escaped, with every term in ``<mark>``."""
    folded, origin = _folded_with_origin(text)
    spans = []
    for term in query_terms:
        start = folded.find(term)
        while start != -1:
            spans.append((origin[start], origin[start + len(term) - 1] + 1))
            start = folded.find(term, start + len(term))
    if not spans:
        cut = text[:width]
        return escape(cut) + (Markup("…") if len(text) > width else "")
    spans.sort()
    first = spans[0][0]
    begin = max(0, first - width // 3)
    if begin:
        # Start at a word boundary when there is one near (Latin text), not mid-word.
        space = text.rfind(" ", begin - 15, first)
        begin = space + 1 if space >= begin - 15 and space != -1 else begin
    end = min(len(text), begin + width)
    out = [Markup("…")] if begin else []
    pos = begin
    for s, e in spans:
        if s < pos or s >= end:
            continue
        e = min(e, end)
        out.append(escape(text[pos:s]))
        out.append(Markup("<mark>%s</mark>") % text[s:e])
        pos = e
    out.append(escape(text[pos:end]))
    if end < len(text):
        out.append(Markup("…"))
    return Markup("").join(out)
