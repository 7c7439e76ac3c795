"""The redline on the formatted document: insertions and deletions where they are.

Both revisions are rendered to HTML (the same sanitised HTML a reader sees); their
top-level blocks (headings, paragraphs, lists, tables) are aligned, and each pair of
changed blocks of the same kind is compared word by word by lxml's ``htmldiff``, which
keeps the structure: a changed table cell shows its change inside that cell, a changed
list item inside that item. The same redline goes to Word as tracked changes: pandoc
reads ``<ins>``/``<del>`` as underline/strikeout, which become its ``insertion`` and
``deletion`` spans, written by its DOCX writer as Word's own revisions.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime

from lxml import html as lxml_html
from lxml.html.diff import htmldiff
from markupsafe import Markup

from qms import render
from qms.documents.models import Revision
from qms.documents.rendering import controlled_copy, html_for

#: Blocks a section starts with, for "changed sections only".
SECTION_TAGS = ("h1", "h2", "h3")


@dataclass(frozen=True)
class FormattedRedline:
    html: Markup
    changes: int


def _blocks(html: str) -> list[str]:
    if not html.strip():
        return []
    fragments = lxml_html.fragments_fromstring(html)
    out = []
    for node in fragments:
        if isinstance(node, str):
            if node.strip():
                out.append(f"<p>{Markup.escape(node)}</p>")
        else:
            out.append(lxml_html.tostring(node, encoding="unicode").strip())
    return out


def _tag(block: str) -> str:
    return block[1:].split(">", 1)[0].split()[0].lower() if block.startswith("<") else ""


def _changed(old: str, new: str) -> list[str]:
    """The redline of one pair of blocks: inside the block when they are of one kind."""
    if _tag(old) == _tag(new):
        return [htmldiff(old, new)]
    return [htmldiff(old, ""), htmldiff("", new)]


def compare(old_html: str, new_html: str) -> FormattedRedline:
    """Return the formatted redline between two revisions' HTML."""
    old, new = _blocks(old_html), _blocks(new_html)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    out: list[str] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.extend(old[i1:i2])
        elif op == "delete":
            out.extend(htmldiff(b, "") for b in old[i1:i2])
        elif op == "insert":
            out.extend(htmldiff("", b) for b in new[j1:j2])
        else:
            pairs = max(i2 - i1, j2 - j1)
            for k in range(pairs):
                a = old[i1 + k] if i1 + k < i2 else None
                b = new[j1 + k] if j1 + k < j2 else None
                if a is not None and b is not None:
                    out.extend(_changed(a, b))
                elif a is not None:
                    out.append(htmldiff(a, ""))
                else:
                    out.append(htmldiff("", b))
    text = "\n".join(out)
    return FormattedRedline(Markup(text), text.count("<ins>") + text.count("<del>"))


def between(old: Revision, new: Revision) -> FormattedRedline:
    return compare(str(html_for(old)), str(html_for(new)))


def tracked_docx(result: FormattedRedline, author: str, when: datetime) -> bytes:
    """The redline as a Word document whose changes are Word's tracked changes."""
    return render.redline_to_docx(str(result.html), author, when)


def redline_pdf(result: FormattedRedline, new: Revision) -> bytes:
    """The redline as a PDF copy for those who sign on paper: insertions underlined,
    deletions struck through, under the new revision's header and footer."""
    return render.redline_to_pdf(str(result.html), controlled_copy(new))
