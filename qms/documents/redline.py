"""Word-by-word redlines between two revisions, readable without knowing git."""

import difflib
import re
from dataclasses import dataclass

# Words, runs of spaces, single CJK characters (Chinese has no spaces between words) and
# single punctuation marks are the units a reader sees change.
TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]|\w+|\s+|[^\w\s]")


@dataclass(frozen=True)
class Piece:
    kind: str  # "same", "ins" or "del"
    text: str


@dataclass(frozen=True)
class Block:
    """One paragraph of the redline: unchanged, added, removed or changed within."""

    kind: str  # "same", "ins", "del" or "changed"
    pieces: tuple[Piece, ...]


@dataclass(frozen=True)
class Redline:
    blocks: tuple[Block, ...]
    words_added: int
    words_removed: int
    # Front matter fields that differ: (key, old value, new value), shown as a table.
    properties: tuple[tuple[str, str, str], ...] = ()

    @property
    def unchanged(self) -> bool:
        return self.words_added == 0 and self.words_removed == 0 and not self.properties


def _paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()) if p.strip()]


def _words(pieces) -> int:
    return sum(len(TOKEN.findall(p)) - len(re.findall(r"\s+", p)) for p in pieces)


def _split(text: str) -> tuple[dict, str]:
    from qms.render import FrontMatterError, split_front_matter

    try:
        return split_front_matter(text)
    except FrontMatterError:
        return {}, text


def _show(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_show(v) for v in value)
    return str(value)


def redline(old: str, new: str) -> Redline:
    """Compare two documents: front matter field by field, then the body word by word."""
    old_meta, old_body = _split(old)
    new_meta, new_body = _split(new)
    properties = tuple(
        (key, _show(old_meta.get(key)), _show(new_meta.get(key)))
        for key in dict.fromkeys([*old_meta, *new_meta])
        if old_meta.get(key) != new_meta.get(key)
    )
    body = _redline_body(old_body, new_body)
    return Redline(body.blocks, body.words_added, body.words_removed, properties)


def _redline_body(old: str, new: str) -> Redline:
    """Compare two Markdown texts paragraph by paragraph, then word by word within."""
    a, b = _paragraphs(old), _paragraphs(new)
    blocks: list[Block] = []
    added = removed = 0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            blocks += [Block("same", (Piece("same", p),)) for p in a[i1:i2]]
            continue
        olds, news = a[i1:i2], b[j1:j2]
        # Pair changed paragraphs one to one; the surplus is wholly added or removed.
        for k in range(max(len(olds), len(news))):
            o = olds[k] if k < len(olds) else None
            n = news[k] if k < len(news) else None
            if o is None:
                blocks.append(Block("ins", (Piece("ins", n),)))
                added += _words([n])
            elif n is None:
                blocks.append(Block("del", (Piece("del", o),)))
                removed += _words([o])
            else:
                pieces, plus, minus = _inline(o, n)
                blocks.append(Block("changed", pieces))
                added += plus
                removed += minus
    return Redline(tuple(blocks), added, removed)


def _inline(old: str, new: str) -> tuple[tuple[Piece, ...], int, int]:
    a, b = TOKEN.findall(old), TOKEN.findall(new)
    pieces: list[Piece] = []
    plus = minus = 0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            pieces.append(Piece("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(Piece("del", "".join(a[i1:i2])))
            minus += _words(a[i1:i2])
        if j2 > j1:
            pieces.append(Piece("ins", "".join(b[j1:j2])))
            plus += _words(b[j1:j2])
    return tuple(pieces), plus, minus
