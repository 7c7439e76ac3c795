"""Turn controlled Markdown into safe HTML, DOCX and PDF controlled copies.

This is the only module that calls pandoc. Every conversion goes through
pandoc's JSON syntax tree, so safety rules are checked on what pandoc actually
parsed rather than guessed from the Markdown text with regular expressions.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import io
import json
import logging
import os
import re
import subprocess
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from unicodedata import east_asian_width
from urllib.parse import unquote
from xml.sax.saxutils import escape as xml_escape

import nh3
import pypandoc
import typst
import yaml

logger = logging.getLogger(__name__)

#: Bump when a change here alters output, so cached renders are not reused.
RENDER_VERSION = "4"

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "pandoc"

# Citations would turn "@someone" into a bibliography lookup, raw TeX would
# silently swallow "C:\Users", and a YAML block in the middle of a body would
# be read as metadata: the front matter was already split off by the caller.
_MARKDOWN = "markdown-citations-raw_tex-yaml_metadata_block"
# A pipe table with a line longer than --columns takes its column widths from
# the dashes under its header, which nobody draws to scale: a date column of
# "|:--:|" then overflows. Sized to their content, columns come out right.
_READ_MARKDOWN = ["--from", _MARKDOWN, "--columns=100000"]

# Pandoc reads untrusted documents: the sandbox stops it reading local files or
# fetching URLs, and the RTS heap cap and timeout stop a pathological input from
# taking a worker down with it.
_PANDOC_LIMITS = ["+RTS", "-M1024m", "-RTS", "--sandbox"]
_PANDOC_TIMEOUT = 60

_ID_PREFIX = "md-"

DEFAULT_LABELS: dict[str, str] = {
    "code": "Code",
    "title": "Title",
    "revision": "Revision",
    "effective_date": "Effective date",
    "status": "Status",
    "page": "Page",
    "controlled_copy": "Controlled copy",
    "signatures": "Signatures",
    "meaning": "Meaning",
    "signer": "Signer",
    "time": "Time (UTC)",
    "prepared_by": "Prepared by",
    "reviewed_by": "Reviewed by",
    "approved_by": "Approved by",
}
# The sign-off line names who prepared, reviewed and approved a revision, in this order.
SIGN_OFF_ROLES = ("prepared", "reviewed", "approved")

# (typst lang, typst region, Word's language for CJK runs) by interface language.
_LANGUAGES: dict[str, tuple[str, str | None, str]] = {
    "en": ("en", None, "zh-CN"),
    "zh_Hans": ("zh", "CN", "zh-CN"),
    "zh_Hant": ("zh", "TW", "zh-TW"),
}


class RenderError(Exception):
    """Pandoc or typst could not produce the requested output."""


class FrontMatterError(ValueError):
    """The YAML front matter of a document is broken or not a mapping."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        #: 1-based line in the whole file where the problem is, when known.
        self.line = line


@dataclass(frozen=True)
class ControlledCopy:
    """What a printed or downloaded copy says about itself on every page."""

    code: str
    title: str
    revision: str
    #: Already localised, e.g. "Effective" or "受控".
    status: str
    #: ISO date, or None when the revision is not released yet.
    effective_date: str | None
    #: (meaning, signer display name, UTC time) for each signature.
    signatures: tuple[tuple[str, str, str], ...] = ()
    #: Localised captions by key; see DEFAULT_LABELS for the keys.
    labels: dict[str, str] = field(default_factory=dict, hash=False)
    #: "en", "zh_Hans" or "zh_Hant".
    lang: str = "en"
    #: (role, names, ISO date) for the sign-off line; role is one of SIGN_OFF_ROLES.
    #: A role left out prints as "—": a copy says plainly that nobody reviewed it.
    sign_off: tuple[tuple[str, str, str], ...] = ()

    def label(self, key: str) -> str:
        """Return the caption for `key`, in English when none was given."""
        return self.labels.get(key) or DEFAULT_LABELS.get(key, key)


# -- front matter -------------------------------------------------------------


# libyaml's safe loader where PyYAML was built with it: the same documents, ten times faster.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split a Markdown file into its YAML front matter mapping and body.

    Front matter starts with a first line of exactly ``---`` and ends at the
    next ``---`` or ``...`` line. Without it the whole text is the body.

    :raises FrontMatterError: the YAML is invalid, unclosed or not a mapping.
    """
    lines = text.removeprefix("\ufeff").split("\n")
    if lines[0].rstrip("\r") != "---":
        return {}, text
    closing = next(
        (
            number
            for number, line in enumerate(lines[1:], start=1)
            if line.rstrip("\r") in ("---", "...")
        ),
        None,
    )
    if closing is None:
        raise FrontMatterError("The front matter opened on line 1 is never closed by '---'.", 1)

    source = "\n".join(lines[1:closing])
    body = "\n".join(lines[closing + 1 :])
    try:
        data = yaml.load(source, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        if mark is None:
            raise FrontMatterError(f"The front matter is not valid YAML: {problem}.") from exc
        # The mark counts from the line after the opening '---', from zero.
        line = mark.line + 2
        raise FrontMatterError(
            f"The front matter is not valid YAML at line {line}, column {mark.column + 1}:"
            f" {problem}.",
            line,
        ) from exc
    except ValueError as exc:  # a well-formed but impossible date such as 2024-13-01
        raise FrontMatterError(f"The front matter is not valid YAML: {exc}.") from exc

    if data is None:
        return {}, body
    if not isinstance(data, dict):
        raise FrontMatterError(
            f"The front matter must be a mapping of keys to values, not a {_yaml_kind(data)}.",
            2,
        )
    return data, body


def _yaml_kind(value: object) -> str:
    """Name a YAML value's kind the way an author would."""
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


# -- pandoc -------------------------------------------------------------------


@functools.cache
def _pandoc_path() -> str:
    """Locate pandoc once: the binary bundled with pypandoc_binary."""
    return pypandoc.get_pandoc_path()


def _pandoc(args: list[str], source: bytes) -> bytes:
    """Run pandoc on `source` and return its standard output.

    :raises RenderError: pandoc failed, or took longer than the timeout.
    """
    command = [_pandoc_path(), *_PANDOC_LIMITS, *args]
    try:
        result = subprocess.run(
            command, input=source, capture_output=True, timeout=_PANDOC_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise RenderError(f"pandoc took longer than {_PANDOC_TIMEOUT} seconds.") from exc
    except OSError as exc:
        raise RenderError(f"pandoc could not be started: {exc}") from exc
    stderr = result.stderr.decode("utf-8", "replace").strip()
    if result.returncode != 0:
        raise RenderError(f"pandoc failed: {stderr or f'exit status {result.returncode}'}")
    if stderr:
        logger.info("pandoc: %s", stderr)
    return result.stdout


def _parse(body: str) -> dict[str, Any]:
    """Parse Markdown into pandoc's JSON syntax tree."""
    return json.loads(_pandoc([*_READ_MARKDOWN, "--to", "json"], body.encode()))


def table_header(body: str) -> list[str]:
    """Return the texts of the first table's header row (its first row when it has no
    header), or an empty list when the body has no table."""
    for table in _tables(_parse(body)["blocks"]):
        _attr, _caption, _specs, head, bodies, _foot = table["c"]
        rows = head[1] or [row for b in bodies for row in b[3]]
        if rows:
            return [_plain_text(cell[4]).strip() for cell in rows[0][1]]
    return []


def _is_attr(node: Any) -> bool:
    """Tell whether `node` has the shape of a pandoc Attr: [id, classes, pairs]."""
    return (
        isinstance(node, list)
        and len(node) == 3
        and isinstance(node[0], str)
        and isinstance(node[1], list)
        and isinstance(node[2], list)
        and all(isinstance(pair, list) and len(pair) == 2 for pair in node[2])
    )


def _attrs(node: Any) -> Iterator[list[Any]]:
    """Yield every Attr under `node`: headers, divs, spans, links, table cells…"""
    if _is_attr(node):
        yield node
    elif isinstance(node, dict):
        yield from _attrs(node.get("c"))
    elif isinstance(node, list):
        for item in node:
            yield from _attrs(item)


def _rewrite(node: Any, rule: Callable[[dict[str, Any]], list[Any] | None]) -> Any:
    """Return `node` with each element `rule` answers for replaced by its answer.

    `rule` returns None to keep an element or a list of elements to put in its
    place, which may be empty; the children of either are visited in turn.
    """
    if isinstance(node, list):
        result: list[Any] = []
        for item in node:
            replacement = rule(item) if isinstance(item, dict) and "t" in item else None
            if replacement is None:
                result.append(_rewrite(item, rule))
            else:
                # Visit inside the replacements, not the replacements themselves,
                # which `rule` made and would otherwise be asked about again.
                result.extend(_rewrite(element, rule) for element in replacement)
        return result
    if isinstance(node, dict) and "c" in node:
        return {**node, "c": _rewrite(node["c"], rule)}
    return node


def _text(text: str) -> list[dict[str, Any]]:
    """Build pandoc inlines for plain text: no Markdown is read, nothing escaped."""
    inlines: list[dict[str, Any]] = []
    for word in text.split():
        if inlines:
            inlines.append({"t": "Space"})
        inlines.append({"t": "Str", "c": word})
    return inlines


# -- checking -----------------------------------------------------------------

_SCRIPT_TAGS = {"script"}
_EMBEDDING_TAGS = {
    "iframe", "frame", "frameset", "object", "embed", "applet",
    "style", "form", "link", "meta", "base",
}  # fmt: skip
_URL_ATTRIBUTES = {
    "href", "src", "xlink:href", "action", "formaction", "data",
    "poster", "background", "cite", "srcset", "lowsrc", "dynsrc",
}  # fmt: skip
_UNSAFE_SCHEMES = {"javascript", "vbscript", "data"}
# Raster images only: an SVG data URL can carry its own script.
_DATA_IMAGE = re.compile(
    r"data:image/(?P<type>png|jpe?g|gif);base64,(?P<data>[A-Za-z0-9+/=\s]*)\Z", re.IGNORECASE
)
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*):")


def _scheme(url: str) -> str | None:
    """Return a URL's scheme as a browser would see it, or None when relative."""
    # Browsers ignore whitespace and control characters inside "java\tscript:".
    squeezed = re.sub(r"[\x00-\x20\x7f]+", "", url).lower()
    match = _SCHEME.match(squeezed)
    return match.group(1) if match else None


def _is_unsafe_url(url: str, image: bool = False) -> bool:
    """Tell whether following or loading `url` could run code."""
    if _scheme(url) not in _UNSAFE_SCHEMES:
        return False
    return not (image and _DATA_IMAGE.match(re.sub(r"[\x00-\x20\x7f]+", "", url)))


def _short(text: str, limit: int = 80) -> str:
    """Shorten `text` for a message that names it."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_attribute(tag: str, name: str, value: str) -> tuple[str, str] | None:
    """Return the problem with one HTML attribute, if it has one."""
    name = name.lower()
    if name.startswith("on"):
        return ("event_handler", _short(f'{name}="{value}"'))
    if name in _URL_ATTRIBUTES and _is_unsafe_url(value, image=(tag == "img" and name == "src")):
        return ("unsafe_link", _short(value))
    return None


class _HtmlAudit(HTMLParser):
    """Collect the problems in a fragment of raw HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SCRIPT_TAGS:
            self.problems.append(("script", f"<{tag}>"))
        elif tag in _EMBEDDING_TAGS:
            self.problems.append(("embedded_content", f"<{tag}>"))
        for name, value in attrs:
            problem = _check_attribute(tag, name, value or "")
            if problem:
                self.problems.append(problem)


def _check_raw(raw_format: str, raw: str) -> list[tuple[str, str]]:
    """Return the problems in a raw block: any at all unless it is HTML."""
    if raw_format.lower() not in ("html", "html5", "html4"):
        return [("embedded_content", _short(f"{{={raw_format}}} {raw}"))]
    audit = _HtmlAudit()
    audit.feed(raw)
    audit.close()
    return audit.problems


def check_markdown(body: str) -> list[tuple[str, str]]:
    """Return the problems that make Markdown unsafe to publish (empty when clean).

    Each problem is a ``(message_id, detail)`` pair; the caller turns the id
    into a translated sentence and shows the detail, the offending text, as is.
    The ids are:

    ``"script"``
        a ``<script>`` tag.
    ``"event_handler"``
        an ``on…=`` attribute, in raw HTML or a ``{onclick=…}`` attribute.
    ``"unsafe_link"``
        a link or image to a ``javascript:``, ``vbscript:`` or ``data:`` URL
        (a base64 PNG, JPEG or GIF ``data:`` image is fine).
    ``"embedded_content"``
        ``<iframe>``, ``<object>``, ``<embed>``, ``<style>``, ``<form>``,
        ``<link>``, ``<meta>`` and the like, or a raw block for another output
        format (```` ```{=typst} ````, ```` ```{=openxml} ````…).

    :raises RenderError: pandoc could not read the Markdown.
    """
    problems: list[tuple[str, str]] = []

    def visit(node: Any) -> None:
        if _is_attr(node):
            for name, value in node[2]:
                problem = _check_attribute("", name, value)
                if problem:
                    problems.append(problem)
        elif isinstance(node, list):
            for item in node:
                visit(item)
        elif isinstance(node, dict):
            kind, content = node.get("t"), node.get("c")
            if kind in ("RawBlock", "RawInline"):
                problems.extend(_check_raw(*content))
            elif kind in ("Link", "Image"):
                url = content[2][0]
                if _is_unsafe_url(url, image=(kind == "Image")):
                    problems.append(("unsafe_link", _short(url)))
            visit(content)

    visit(_parse(body)["blocks"])
    return list(dict.fromkeys(problems))


# -- HTML ---------------------------------------------------------------------

_HTML_TAGS = {
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr",
    "ul", "ol", "li", "dl", "dt", "dd",
    "table", "caption", "colgroup", "col", "thead", "tbody", "tfoot", "tr", "th", "td",
    "a", "img", "figure", "figcaption",
    "code", "pre", "kbd", "blockquote", "q",
    "em", "strong", "del", "ins", "s", "u", "mark", "small", "sup", "sub", "abbr",
    "span", "div", "section",
}  # fmt: skip
_HTML_ATTRIBUTES = {
    # Ids are kept for headings and footnotes but get the same prefix pandoc
    # gives its own, so a document can never clobber an id the page uses.
    "*": {"id"},
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "abbr": {"title"},
    "span": {"class"},
    "div": {"class"},
    "code": {"class"},
    "pre": {"class"},
    "ol": {"start", "type"},
    "th": {"colspan", "rowspan", "style"},
    "td": {"colspan", "rowspan", "style"},
    "col": {"span", "style"},
}


def _html_attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    """Keep a data: URL only as the source of a raster image."""
    # "data" is in the allowed schemes for the sake of images; everywhere else
    # (a link to data:text/html, an SVG that can script) it goes.
    if attribute in ("href", "src") and _scheme(value) == "data":
        if tag == "img" and attribute == "src" and _DATA_IMAGE.match(value.strip()):
            return value
        return None
    return value


_CLEANER = nh3.Cleaner(
    tags=_HTML_TAGS,
    clean_content_tags={"script", "style"},
    attributes=_HTML_ATTRIBUTES,
    attribute_filter=_html_attribute_filter,
    url_schemes={"http", "https", "mailto", "data"},
    link_rel="noopener noreferrer",
    # Table alignment and column widths are all the style pandoc writes.
    filter_style_properties={"text-align", "width"},
    id_prefix=_ID_PREFIX,
)


def to_html(body: str) -> str:
    """Render Markdown to sanitised HTML for display.

    The HTML is cleaned against an allow-list even though check_markdown()
    refuses unsafe Markdown on save: documents can reach here by other roads,
    such as an old revision or a repository edited outside the application.

    :raises RenderError: pandoc failed.
    """
    html = _pandoc(
        [
            *_READ_MARKDOWN,
            "--to", "html5",
            f"--id-prefix={_ID_PREFIX}",
            "--syntax-highlighting=none",
        ],
        body.encode(),
    )  # fmt: skip
    return _CLEANER.clean(html.decode())


# -- DOCX and PDF: the shared preparation -------------------------------------

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _language(lang: str) -> str:
    """Map a locale such as "zh_Hant" or "zh-TW" to a key of _LANGUAGES."""
    if lang.startswith("zh"):
        traditional = any(tag in lang for tag in ("Hant", "TW", "HK", "MO"))
        return "zh_Hant" if traditional else "zh_Hans"
    return "en"


def _clean_copy(copy: ControlledCopy) -> dict[str, Any]:
    """Return the copy's fields as plain data, with every caption filled in."""
    lang, region, _ = _LANGUAGES[_language(copy.lang)]

    # Control characters are not allowed in XML and mean nothing on paper.
    def clean(text: str) -> str:
        return _XML_INVALID.sub("", str(text))

    labels = {key: clean(copy.label(key)) for key in DEFAULT_LABELS}
    return {
        "code": clean(copy.code),
        "title": clean(copy.title),
        "revision": clean(copy.revision),
        "status": clean(copy.status),
        "effective_date": clean(copy.effective_date) if copy.effective_date else None,
        "signatures": [[clean(part) for part in signature] for signature in copy.signatures],
        "labels": labels,
        "sign_off": _sign_off_line(copy, labels, clean),
        "lang": lang,
        "region": region,
        "cjk_font": _PDF_CJK_FONTS[_language(copy.lang)],
    }


def _sign_off_line(
    copy: ControlledCopy, labels: dict[str, str], clean: Callable[[str], str]
) -> list[str]:
    """Return "Prepared by: name (date)" and its kin, one string per role, in order.

    Empty when the copy has no sign-off at all (a record export, a report).
    """
    if not copy.sign_off:
        return []
    chinese = _language(copy.lang) != "en"
    colon, opening, closing = ("：", "（", "）") if chinese else (": ", " (", ")")
    by_role: dict[str, list[tuple[str, str]]] = {}
    for role, names, day in copy.sign_off:
        by_role.setdefault(role, []).append((clean(names), clean(day)))
    parts = []
    for role in SIGN_OFF_ROLES:
        entries = by_role.get(role)
        join = "、".join if chinese else ", ".join
        who = (
            join(f"{names}{opening}{day}{closing}" if day else names for names, day in entries)
            if entries
            else "—"
        )
        parts.append(f"{labels[role + '_by']}{colon}{who}")
    return parts


def _drop_repeated_title(doc: dict[str, Any], title: str) -> None:
    """Drop a first-level heading that opens the body and repeats the title, in place.

    Documents open with ``# <title>`` so they read well in git; a copy already prints
    the title in its identification block, and saying it twice reads as a mistake.
    """
    blocks = doc["blocks"]
    if (
        blocks
        and blocks[0].get("t") == "Header"
        and blocks[0]["c"][0] == 1
        and " ".join(_plain_text(blocks[0]["c"][2]).split()) == " ".join(title.split())
    ):
        del blocks[0]


def _alt_text(alt: list[Any], url: str) -> dict[str, Any]:
    """Stand in for an image that cannot be shown: its alt text in brackets."""
    if not alt:
        alt = _text(unquote(url.rsplit("/", 1)[-1]) if not url.startswith("data:") else "image")
    return {"t": "Emph", "c": [{"t": "Str", "c": "["}, *alt, {"t": "Str", "c": "]"}]}


class StoredMedia(Mapping[str, bytes]):
    """Images by the URL a body uses, read only when a copy is actually made.

    ``ids`` gives each URL a content id (a git blob id): enough for the render cache key,
    so a cached copy is served without reading a single image.
    """

    def __init__(self, ids: Mapping[str, str], read: Callable[[str], bytes]) -> None:
        self.ids = dict(ids)
        self._read = read

    def __getitem__(self, url: str) -> bytes:
        return self._read(self.ids[url])

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)


def _image_type(data: bytes) -> str | None:
    """Name a raster image's format by its first bytes: "png", "jpeg", "gif" or None."""
    for magic, kind in ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"GIF8", "gif")):
        if data.startswith(magic):
            return kind
    return None


def _image_data(url: str, media: Mapping[str, bytes]) -> bytes | None:
    """Return the bytes of a ``data:`` image, or of a stored one that `media` names."""
    match = _DATA_IMAGE.match(url.strip())
    if match is not None:
        try:
            return base64.b64decode(re.sub(r"\s+", "", match["data"]), validate=True)
        except binascii.Error:
            return None
    return media.get(unquote(url.strip()))


def _prepare(
    doc: dict[str, Any], image_dir: Path | None, media: Mapping[str, bytes] | None = None
) -> None:
    """Make a parsed document self-contained and safe for DOCX or PDF, in place.

    Raw blocks go (an ``{=openxml}`` or ``{=typst}`` block would be pasted into
    the copy verbatim). An image is kept when it is a base64 ``data:`` raster or a
    stored file that `media` maps its URL to (``QP-07/media/image1.png``), and
    only when it is a PNG, JPEG or GIF; any other becomes its alt text, because the
    renderer must not read the server's files or fetch URLs. Without `image_dir`
    kept images become ``data:`` URLs that pandoc embeds in the DOCX; with it they
    are written there for typst, and those typst cannot decode become alt text
    too. Links to anchors that are missing or not unique become plain text,
    because typst refuses to compile them.
    """
    media = media or {}
    anchors = Counter(attr[0] for attr in _attrs(doc["blocks"]) if attr[0])
    written = 0

    def rule(element: dict[str, Any]) -> list[Any] | None:
        nonlocal written
        kind = element["t"]
        if kind in ("RawBlock", "RawInline"):
            return []
        if kind == "Image":
            attr, alt, (url, title) = element["c"]
            data = _image_data(url, media)
            image_type = _image_type(data) if data else None
            if image_type is None:
                return [_alt_text(alt, url)]
            if image_dir is None:
                encoded = base64.b64encode(data).decode()
                return [
                    {
                        "t": "Image",
                        "c": [attr, alt, [f"data:image/{image_type};base64,{encoded}", title]],
                    }
                ]
            written += 1
            name = f"image-{written}.{image_type}"
            if not _write_image(image_dir / name, data):
                return [_alt_text(alt, url)]
            return [{"t": "Image", "c": [attr, alt, [name, title]]}]
        if kind == "Link":
            attr, inlines, (url, _title) = element["c"]
            if url.startswith("#") and anchors[unquote(url[1:])] != 1:
                return [{"t": "Span", "c": [attr, inlines]}]
        return None

    doc["blocks"] = _rewrite(doc["blocks"], rule)


def _write_image(path: Path, data: bytes) -> bool:
    """Write an image to `path`; tell whether typst can show it."""
    path.write_bytes(data)
    try:
        # One broken picture should cost that picture, not the whole copy.
        typst.compile(f'#image("{path.name}")'.encode(), root=str(path.parent), font_paths=_fonts())
    except typst.TypstError:
        return False
    return True


# -- DOCX ---------------------------------------------------------------------

_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml"

# Word shows CJK in the w:eastAsia font and Latin in w:ascii/w:hAnsi. A copy names
# fonts that Windows itself installs (YaHei since Vista, JhengHei likewise, Calibri
# with every Office since 2007) rather than pandoc's Aptos, which only the newest
# Office has; the alternative name and charset let Word, or LibreOffice, fall back to
# the older serif cut of the same script (SimSun, PMingLiU) where the first is missing.
_LATIN_FONT = ("Calibri", "Arial", "020F0502020204030204")
_CJK_FONTS = {
    "zh_Hans": ("Microsoft YaHei", "SimSun", "86"),
    "zh_Hant": ("Microsoft JhengHei", "PMingLiU", "88"),
    "en": ("Microsoft YaHei", "SimSun", "86"),
}
# The PDF embeds its fonts, so it uses the Noto cut drawn for the copy's script: the
# Traditional cut gives Simplified text Taiwanese glyph shapes (of 者, 这, 门…). An
# English copy's odd Chinese word follows Word's zh-CN above.
_PDF_CJK_FONTS = {"zh_Hans": "Noto Sans SC", "zh_Hant": "Noto Sans CJK TC", "en": "Noto Sans SC"}


@functools.cache
def _default_reference_docx() -> bytes:
    """Return pandoc's own reference.docx, the base every copy's styles patch."""
    return _pandoc(["--print-default-data-file", "reference.docx"], b"")


def _table(rows: list[list[Any]], header: list[str] | None = None) -> dict[str, Any]:
    """Build a pandoc Table whose cells hold the given inlines."""
    no_attr: list[Any] = ["", [], []]

    def cell(inlines: list[dict[str, Any]]) -> list[Any]:
        return [no_attr, {"t": "AlignDefault"}, 1, 1, [{"t": "Plain", "c": inlines}]]

    def row(cells: list[list[dict[str, Any]]]) -> list[Any]:
        return [no_attr, [cell(inlines) for inlines in cells]]

    head = [row([[{"t": "Strong", "c": _text(text)}] for text in header])] if header else []
    return {
        "t": "Table",
        "c": [
            no_attr,
            [None, []],
            [[{"t": "AlignDefault"}, {"t": "ColWidthDefault"}] for _ in rows[0]],
            [no_attr, head],
            [[no_attr, 0, [], [row(cells) for cells in rows]]],
            [no_attr, []],
        ],
    }


def _identification_blocks(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Build the block above a DOCX body: what the document is and who signed it."""
    labels = data["labels"]

    def field_row(key: str, value: str | None) -> list[list[dict[str, Any]]]:
        return [[{"t": "Strong", "c": _text(labels[key])}], _text(value or "—")]

    blocks = [
        _table(
            [
                field_row("code", data["code"]),
                field_row("title", data["title"]),
                field_row("revision", data["revision"]),
                field_row("effective_date", data["effective_date"]),
                field_row("status", data["status"]),
            ]
        )
    ]
    if data["sign_off"]:
        blocks.append({"t": "Para", "c": _text("    ".join(data["sign_off"]))})
    if data["signatures"]:
        blocks.append({"t": "Para", "c": [{"t": "Strong", "c": _text(labels["signatures"])}]})
        blocks.append(
            _table(
                [[_text(part) for part in signature] for signature in data["signatures"]],
                header=[labels["meaning"], labels["signer"], labels["time"]],
            )
        )
    blocks.append({"t": "HorizontalRule"})
    return blocks


def _run(text: str) -> str:
    """Return a small-print WordprocessingML run holding `text`."""
    return (
        '<w:r><w:rPr><w:sz w:val="16"/><w:szCs w:val="16"/></w:rPr>'
        f'<w:t xml:space="preserve">{xml_escape(text)}</w:t></w:r>'
    )


def _field(instruction: str) -> str:
    """Return a Word field, such as PAGE, that Word fills in when it lays out."""
    small = '<w:rPr><w:sz w:val="16"/><w:szCs w:val="16"/></w:rPr>'
    return (
        f'<w:r>{small}<w:fldChar w:fldCharType="begin"/></w:r>'
        f'<w:r>{small}<w:instrText xml:space="preserve"> {instruction} </w:instrText></w:r>'
        f'<w:r>{small}<w:fldChar w:fldCharType="separate"/></w:r>'
        f"<w:r>{small}<w:t>1</w:t></w:r>"
        f'<w:r>{small}<w:fldChar w:fldCharType="end"/></w:r>'
    )


def _header_footer(tag: str, runs: str, border: str) -> bytes:
    """Return a header or footer part: one paragraph with a rule on one side."""
    rule = f'<w:pBdr><w:{border} w:val="single" w:sz="4" w:space="4" w:color="808080"/></w:pBdr>'
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<w:{tag} xmlns:w="{_W_NS}" xmlns:r="{_R_NS}">'
        f'<w:p><w:pPr>{rule}<w:jc w:val="{"left" if tag == "hdr" else "center"}"/></w:pPr>'
        f"{runs}</w:p></w:{tag}>"
    ).encode()


def _replace_once(
    text: str, pattern: str, replacement: str | Callable[[re.Match[str]], str], part: str
) -> str:
    """Replace the first match of `pattern`, failing loudly if pandoc's layout moved.

    A string `replacement` is taken literally, never as a template.
    """
    replace = replacement if callable(replacement) else lambda _: replacement
    result, count = re.subn(pattern, replace, text, count=1)
    if count != 1:
        raise RenderError(f"The reference document has an unexpected {part}; check pandoc.")
    return result


def _reference_docx(data: dict[str, Any], lang: str) -> bytes:
    """Return pandoc's reference.docx patched with this copy's header, footer and fonts.

    Pandoc takes styles, page setup, header and footer from the reference
    document, so this is how a real, editable Word header and footer with a
    PAGE field get into the copy. The header text differs per copy, so the
    reference is built per render; the rendered result is what gets cached.
    """
    labels = data["labels"]
    lang = _language(lang)
    cjk_font, cjk_alternative, charset = _CJK_FONTS[lang]
    latin_font, latin_alternative, latin_panose = _LATIN_FONT
    cjk_lang = _LANGUAGES[lang][2]

    with zipfile.ZipFile(io.BytesIO(_default_reference_docx())) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}

    header = f"{data['code']}  {data['title']} — {labels['revision']} {data['revision']}"
    footer = " · ".join(
        [
            labels["controlled_copy"],
            data["status"],
            f"{labels['effective_date']} {data['effective_date'] or '—'}",
            f"{labels['page']} ",
        ]
    )
    parts["word/header1.xml"] = _header_footer("hdr", _run(header), "bottom")
    parts["word/footer1.xml"] = _header_footer(
        "ftr", _run(footer) + _field("PAGE") + _run(" / ") + _field("NUMPAGES"), "top"
    )

    document = parts["word/document.xml"].decode()
    document = _replace_once(
        document,
        r"<w:sectPr>",
        '<w:sectPr><w:headerReference w:type="default" r:id="rIdQmsHeader"/>'
        '<w:footerReference w:type="default" r:id="rIdQmsFooter"/>',
        "section",
    )
    # A4 with 2 cm side margins: the paper these offices print on.
    document = _replace_once(
        document,
        r"</w:footnotePr>",
        '</w:footnotePr><w:pgSz w:w="11906" w:h="16838"/>'
        '<w:pgMar w:top="1418" w:right="1134" w:bottom="1418" w:left="1134"'
        ' w:header="709" w:footer="709" w:gutter="0"/>',
        "section",
    )
    parts["word/document.xml"] = document.encode()

    rels = parts["word/_rels/document.xml.rels"].decode()
    parts["word/_rels/document.xml.rels"] = _replace_once(
        rels,
        r"</Relationships>",
        f'<Relationship Id="rIdQmsHeader" Type="{_R_NS}/header" Target="header1.xml"/>'
        f'<Relationship Id="rIdQmsFooter" Type="{_R_NS}/footer" Target="footer1.xml"/>'
        "</Relationships>",
        "relationships part",
    ).encode()

    types = parts["[Content_Types].xml"].decode()
    parts["[Content_Types].xml"] = _replace_once(
        types,
        r"</Types>",
        f'<Override PartName="/word/header1.xml" ContentType="{_CONTENT_TYPE}.header+xml"/>'
        f'<Override PartName="/word/footer1.xml" ContentType="{_CONTENT_TYPE}.footer+xml"/>'
        "</Types>",
        "content types part",
    ).encode()

    styles = parts["word/styles.xml"].decode()
    # An explicit w:eastAsia font, because the theme's East Asian font is empty
    # and Word would otherwise guess one per machine.
    styles = re.sub(r'w:eastAsiaTheme="\w+"', f'w:eastAsia="{cjk_font}"', styles)
    # Explicit Latin fonts too: the theme's would be Aptos.
    styles = re.sub(r'w:(ascii|hAnsi)Theme="\w+"', rf'w:\1="{latin_font}"', styles)
    # 10.5 pt (五号), the body size of Chinese official documents, not 12 pt.
    styles = _replace_once(
        styles,
        r'<w:sz w:val="24" />\s*<w:szCs w:val="24" />',
        '<w:sz w:val="21"/><w:szCs w:val="21"/>',
        "default font size",
    )
    styles = _replace_once(
        styles,
        r'<w:lang w:val="[^"]*" w:eastAsia="[^"]*"',
        # w:val is the language of Latin runs, w:eastAsia that of CJK runs:
        # English marked as Chinese gets broken mid-word by LibreOffice.
        f'<w:lang w:val="en-US" w:eastAsia="{cjk_lang}"',
        "default language",
    )
    # Procedures are full of responsibility tables; without a grid they read
    # as loose columns of text.
    grid = "".join(
        f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="808080"/>'
        for side in ("top", "left", "bottom", "right", "insideH", "insideV")
    )
    styles = _replace_once(
        styles,
        r"<w:tblInd [^>]*/>",
        lambda match: f"{match.group()}<w:tblBorders>{grid}</w:tblBorders>",
        "table style",
    )
    parts["word/styles.xml"] = styles.encode()

    # The theme is what Word's font menu offers as "body" and "headings".
    theme = parts["word/theme/theme1.xml"].decode()
    theme = re.sub(
        r'<a:latin typeface="[^"]*"[^>]*/>', f'<a:latin typeface="{latin_font}"/>', theme
    )
    theme = re.sub(r'<a:ea typeface="[^"]*"\s*/>', f'<a:ea typeface="{cjk_font}"/>', theme)
    parts["word/theme/theme1.xml"] = theme.encode()

    fonts = parts["word/fontTable.xml"].decode()
    # Pandoc's table lists Aptos and Aptos Display; the copy names neither.
    fonts = re.sub(r'<w:font w:name="Aptos[^"]*">.*?</w:font>\s*', "", fonts, flags=re.DOTALL)
    parts["word/fontTable.xml"] = _replace_once(
        fonts,
        r"</w:fonts>",
        f'<w:font w:name="{latin_font}"><w:altName w:val="{latin_alternative}"/>'
        f'<w:panose1 w:val="{latin_panose}"/><w:charset w:val="00"/>'
        '<w:family w:val="swiss"/><w:pitch w:val="variable"/></w:font>'
        f'<w:font w:name="{cjk_font}"><w:altName w:val="{cjk_alternative}"/>'
        f'<w:charset w:val="{charset}"/><w:family w:val="swiss"/><w:pitch w:val="variable"/>'
        "</w:font></w:fonts>",
        "font table",
    ).encode()

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in parts.items():
            target.writestr(name, content)
    return buffer.getvalue()


def _plain_text(node: Any) -> str:
    """Return the text under `node`, with spaces and line breaks as spaces."""
    if isinstance(node, list):
        return "".join(_plain_text(item) for item in node)
    if not isinstance(node, dict):
        return ""
    if node.get("t") == "Str":
        return node["c"]
    if node.get("t") in ("Space", "SoftBreak", "LineBreak"):
        return " "
    return _plain_text(node.get("c"))


def _width(text: str) -> int:
    """Measure `text` in columns, a CJK character counting two."""
    return sum(2 if east_asian_width(char) in "WF" else 1 for char in text)


# Roughly how many columns of 10.5 pt body text fit across the A4 text block.
_LINE_WIDTH = 70


def _size_columns(blocks: list[Any]) -> None:
    """Give tables without column widths widths that fit their content.

    Word fits such a table to its content, but LibreOffice and WPS draw every
    column equally narrow, so a DOCX states the widths instead: each column
    first gets room for its longest word (a date, a record code), then the
    rest of the line is shared out by how much text each column holds.
    """
    for table in _tables(blocks):
        _attr, _caption, specs, head, bodies, foot = table["c"]
        widths = [spec[1].get("c", 0) for spec in specs]
        # The dashes of a simple or grid table give widths relative to the reader's
        # --columns=100000: a sliver of the line each, which would squeeze the table
        # into a column one character wide. Those tables are sized like unsized ones.
        if any(spec[1]["t"] != "ColWidthDefault" for spec in specs) and sum(widths) > 0.05:
            continue
        rows = head[1] + foot[1]
        for body in bodies:
            rows += body[2] + body[3]
        least, most = [3] * len(specs), [3] * len(specs)
        for row in rows:
            column = 0
            for cell in row[1]:
                colspan = cell[3]
                if colspan == 1 and column < len(specs):
                    text = _plain_text(cell[4])
                    # CJK text breaks between any two characters; words do not.
                    words = re.split(r"\s+|(?<=[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef])", text)
                    # The 3 extra columns are the cell's margins.
                    least[column] = max(least[column], *(_width(word) + 3 for word in words))
                    most[column] = max(most[column], _width(text) + 3)
                column += colspan
        most = [max(low, high) for low, high in zip(least, most, strict=True)]
        spare, wanted = _LINE_WIDTH - sum(least), sum(most) - sum(least)
        share = min(1.0, spare / wanted) if spare > 0 and wanted > 0 else 0.0
        widths = [low + (high - low) * share for low, high in zip(least, most, strict=True)]
        for spec, width in zip(specs, widths, strict=True):
            spec[1] = {"t": "ColWidth", "c": width / sum(widths)}


def _tables(node: Any) -> Iterator[dict[str, Any]]:
    """Yield every Table element under `node`, nested ones included."""
    if isinstance(node, list):
        for item in node:
            yield from _tables(item)
    elif isinstance(node, dict):
        if node.get("t") == "Table":
            yield node
        yield from _tables(node.get("c"))


def to_docx(body: str, copy: ControlledCopy, media: Mapping[str, bytes] | None = None) -> bytes:
    """Render a controlled copy as DOCX with header, footer and signature block.

    :raises RenderError: pandoc failed.
    """
    data = _clean_copy(copy)
    doc = _parse(body)
    _prepare(doc, image_dir=None, media=media)
    _drop_repeated_title(doc, data["title"])
    doc["blocks"] = _identification_blocks(data) + doc["blocks"]
    _size_columns(doc["blocks"])
    with tempfile.TemporaryDirectory(prefix="qms-docx-") as tmp:
        reference = Path(tmp) / "reference.docx"
        reference.write_bytes(_reference_docx(data, copy.lang))
        return _pandoc(
            ["--from", "json", "--to", "docx", f"--reference-doc={reference}", "--output", "-"],
            json.dumps(doc).encode(),
        )


def to_editable_docx(body: str, media: Mapping[str, bytes] | None = None) -> bytes:
    """Render a draft's body as DOCX to be revised in Word: the text and its images only.

    No header, footer or signature block, unlike :func:`to_docx`: the file comes back
    through :func:`convert_to_markdown`, and whatever is in it becomes the draft's text.

    :raises RenderError: pandoc failed.
    """
    doc = _parse(body)
    _prepare(doc, image_dir=None, media=media)
    with tempfile.TemporaryDirectory(prefix="qms-docx-") as tmp:
        reference = Path(tmp) / "reference.docx"
        reference.write_bytes(_default_reference_docx())
        return _pandoc(
            ["--from", "json", "--to", "docx", f"--reference-doc={reference}", "--output", "-"],
            json.dumps(doc).encode(),
        )


def redline_to_docx(html: str, author: str, when: datetime) -> bytes:
    """Write a redline's HTML (``<ins>``, ``<del>``) as DOCX with Word's tracked changes.

    Pandoc reads the two as underline and strikeout; as its ``insertion`` and ``deletion``
    spans, naming who and when, its DOCX writer makes them Word revisions to accept or
    reject.

    :raises RenderError: pandoc failed.
    """
    doc = json.loads(_pandoc(["--from", "html", "--to", "json"], _CLEANER.clean(html).encode()))
    attrs = [["author", author], ["date", when.strftime("%Y-%m-%dT%H:%M:%SZ")]]

    def rule(element: dict[str, Any]) -> list[Any] | None:
        kind = {"Underline": "insertion", "Strikeout": "deletion"}.get(element["t"])
        if kind is None:
            return None
        return [{"t": "Span", "c": [["", [kind], attrs], element["c"]]}]

    doc["blocks"] = _rewrite(doc["blocks"], rule)
    _prepare(doc, image_dir=None)
    with tempfile.TemporaryDirectory(prefix="qms-docx-") as tmp:
        reference = Path(tmp) / "reference.docx"
        reference.write_bytes(_default_reference_docx())
        return _pandoc(
            ["--from", "json", "--to", "docx", f"--reference-doc={reference}", "--output", "-"],
            json.dumps(doc).encode(),
        )


def redline_to_pdf(html: str, copy: ControlledCopy) -> bytes:
    """Typeset a redline's HTML as PDF: insertions underlined, deletions struck through.

    :raises RenderError: pandoc or the typesetter failed.
    """
    body = _pandoc(
        ["--from", "html", "--to", _MARKDOWN, "--wrap=none"], _CLEANER.clean(html).encode()
    )
    return to_pdf(body.decode(), copy)


# -- PDF ----------------------------------------------------------------------


@functools.cache
def _fonts() -> typst.Fonts:
    """Return the fonts typst may use: its embedded ones and Noto Sans in SC and TC cuts.

    System fonts are left out so a copy looks the same on every server. Both cuts come
    from wheels (Noto Sans CJK TC, Noto Sans SC), so no system package is needed.
    """
    import cvttf_NotoSansCJK_Regular
    import pylopdf_fonts_zh_cn

    return typst.Fonts(
        include_system_fonts=False,
        font_paths=[
            str(Path(cvttf_NotoSansCJK_Regular.__file__).resolve().parent),
            # typst takes folders; this one also holds Noto Serif SC, unused.
            str(pylopdf_fonts_zh_cn.sans_path().resolve().parent),
        ],
    )


@functools.cache
def _template(name: str) -> str:
    """Read a template from templates/pandoc once per process."""
    return (TEMPLATE_DIR / name).read_text(encoding="utf-8")


def _typeset(doc: dict[str, Any], data: dict[str, Any], root: Path) -> bytes:
    """Turn a prepared document into typst markup and compile it to PDF.

    :raises RenderError: pandoc or typst failed.
    """
    body = _pandoc(["--from", "json", "--to", "typst"], json.dumps(doc).encode()).decode()
    main = root / "main.typ"
    main.write_text(_template("controlled-copy.typ") + "\n" + body, encoding="utf-8")
    try:
        pdf, warnings = typst.compile_with_warnings(
            str(main),
            root=str(root),
            font_paths=_fonts(),
            # The copy's fields travel as data, out of band from the markup.
            sys_inputs={"copy": json.dumps(data, ensure_ascii=False)},
        )
    except typst.TypstError as exc:
        raise RenderError(f"typst could not typeset the document: {exc.message}") from exc
    for warning in warnings:
        logger.info("typst: %s", warning.message)
    return pdf


def to_pdf(body: str, copy: ControlledCopy, media: Mapping[str, bytes] | None = None) -> bytes:
    """Render a controlled copy as PDF, with real CJK glyphs.

    :raises RenderError: pandoc or typst failed.
    """
    data = _clean_copy(copy)
    doc = _parse(body)
    with tempfile.TemporaryDirectory(prefix="qms-pdf-") as tmp:
        root = Path(tmp)
        _prepare(doc, image_dir=root, media=media)
        _drop_repeated_title(doc, data["title"])
        _size_columns(doc["blocks"])
        return _typeset(doc, data, root)


# -- the cached entry point ---------------------------------------------------

FORMATS = ("html", "docx", "pdf")


@functools.cache
def _engine() -> str:
    """Describe everything besides the input that shapes the output."""
    template = hashlib.sha256(_template("controlled-copy.typ").encode()).hexdigest()
    return json.dumps([RENDER_VERSION, pypandoc.get_pandoc_version(), typst.__version__, template])


def _cache_key(fmt: str, body: str, copy: ControlledCopy | None, media: Mapping[str, bytes]) -> str:
    """Return the sha256 naming the output for this exact input."""
    fields = asdict(copy) if copy is not None else None
    if isinstance(media, StoredMedia):
        images = media.ids
    else:
        images = {url: hashlib.sha256(data).hexdigest() for url, data in media.items()}
    material = json.dumps(
        [_engine(), fmt, body, fields, images], ensure_ascii=False, sort_keys=True
    )
    return hashlib.sha256(material.encode()).hexdigest()


def _write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` so readers see either nothing or all of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def render(
    body: str,
    fmt: str,
    copy: ControlledCopy | None,
    cache_dir: Path | None,
    media: Mapping[str, bytes] | None = None,
) -> bytes:
    """Render in `fmt` ("html", "docx", "pdf"), reusing the cached result for the same input.

    HTML ignores `copy` and `media`; DOCX and PDF need a copy, and embed the
    stored images `media` maps the body's image URLs to (the browser fetches them
    for HTML). Results live under
    ``cache_dir/<fmt>/<key[:2]>/<key>.<fmt>``; with no `cache_dir` nothing is
    cached. HTML comes back as UTF-8 bytes.

    :raises ValueError: unknown `fmt`, or no `copy` for DOCX or PDF.
    :raises RenderError: pandoc or typst failed.
    """
    if fmt not in FORMATS:
        raise ValueError(f"Unknown render format {fmt!r}; expected one of {', '.join(FORMATS)}.")
    if fmt == "html":
        copy, media = None, None  # so every copy of a document shares one cached HTML
    elif copy is None:
        raise ValueError(f"A {fmt} copy needs a ControlledCopy for its header and footer.")

    path = None
    if cache_dir is not None:
        key = _cache_key(fmt, body, copy, media or {})
        path = Path(cache_dir) / fmt / key[:2] / f"{key}.{fmt}"
        try:
            return path.read_bytes()
        except FileNotFoundError:
            pass
        except OSError:
            logger.warning("Could not read cached render %s", path, exc_info=True)

    if copy is None:  # only HTML gets this far without one
        data = to_html(body).encode()
    elif fmt == "docx":
        data = to_docx(body, copy, media)
    else:
        data = to_pdf(body, copy, media)
    if path is not None:
        # The cache only saves time: a full disk must not fail the download.
        try:
            _write_atomically(path, data)
        except OSError:
            logger.warning("Could not cache render %s", path, exc_info=True)
    return data


# -- importing ----------------------------------------------------------------

#: What :func:`convert_to_markdown` reads, by file extension.
IMPORT_FORMATS = {
    ".docx": "docx",
    ".odt": "odt",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
}
# The Markdown the application stores: what _READ_MARKDOWN reads back. Paragraphs stay
# on one line so that a later edit changes one line in git, not a reflowed paragraph.
_WRITE_MARKDOWN = ["--to", _MARKDOWN, "--wrap=none", "--columns=100"]
# For a draft that goes back to the structured editor, which reads GitHub's Markdown:
# tables as pipe tables, or grid tables where a cell holds more than a line.
_WRITE_EDITABLE = ["--to", f"{_MARKDOWN}-simple_tables-multiline_tables", *_WRITE_MARKDOWN[2:]]


@dataclass(frozen=True)
class Converted:
    """A document read from a word processor's file, as the application stores it."""

    #: The Markdown body, its images referenced as ``<media_prefix>/<name>``.
    body: str
    #: Each image's bytes by the relative path the body references it by.
    images: dict[str, bytes]
    #: The title in the file's own properties, when it has one.
    title: str | None = None
    #: A Markdown file's own front matter (clauses, a record form's fields…).
    meta: dict[str, Any] = field(default_factory=dict)


def convert_to_markdown(
    data: bytes, filename: str, media_prefix: str = "media", pipe_tables: bool = False
) -> Converted:
    """Convert a DOCX, ODT, HTML or Markdown file to a Markdown body and its images.

    Pandoc extracts the images into a temporary folder (``--extract-media``); they come
    back as bytes, referenced in the body by ``media_prefix/<name>`` so the caller can
    store them beside the document. Images the file only links to (a URL, a path on the
    author's disk) become their alt text: an import must not fetch anything. Markdown is
    kept as written, without its front matter.

    :raises RenderError: the format is not supported, or pandoc could not read the file.
    """
    fmt = IMPORT_FORMATS.get(Path(filename).suffix.lower())
    if fmt is None:
        raise RenderError(
            f"{filename}: only {', '.join(sorted(IMPORT_FORMATS))} files can be imported."
        )
    if fmt == "markdown":
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise RenderError(f"{filename} is not UTF-8 text.") from exc
        try:
            meta, body = split_front_matter(text.replace("\r\n", "\n"))
        except FrontMatterError as exc:
            raise RenderError(str(exc)) from exc
        title = meta.get("title")
        return Converted(body.lstrip("\n"), {}, str(title) if title else None, meta)
    prefix = media_prefix.strip("/")
    with tempfile.TemporaryDirectory(prefix="qms-import-") as tmp:
        root = Path(tmp)
        source = root / f"source.{fmt}"
        source.write_bytes(data)
        media = root / "extracted"
        # The sandbox still lets pandoc read the file named on its command line and write
        # the extracted media; it cannot read anything else or fetch a URL.
        doc = json.loads(
            _pandoc(["--from", fmt, "--to", "json", f"--extract-media={media}", str(source)], b"")
        )
        images: dict[str, bytes] = {}

        def rule(element: dict[str, Any]) -> list[Any] | None:
            if element["t"] == "RawInline" or element["t"] == "RawBlock":
                return []  # Word's fields and HTML's scripts alike: not content
            if element["t"] == "Table" and pipe_tables:
                # Word's column widths would make it a grid table; sized to the content,
                # a table whose cells hold one line each is written as a pipe table.
                for spec in element["c"][2]:
                    spec[1] = {"t": "ColWidthDefault"}
                return None
            if element["t"] != "Image":
                return None
            attr, alt, (url, title) = element["c"]
            if pipe_tables:
                attr = [
                    attr[0],
                    attr[1],
                    [kv for kv in attr[2] if kv[0] not in ("width", "height")],
                ]
            embedded = _DATA_IMAGE.match(url.strip())
            if embedded is not None:
                # HTML carries its pictures inline; pandoc leaves those where they are.
                try:
                    data = base64.b64decode(re.sub(r"\s+", "", embedded["data"]), validate=True)
                except binascii.Error:
                    return [_alt_text(alt, url)]
                kind = embedded["type"].lower().replace("jpg", "jpeg")
                name = f"{hashlib.sha1(data).hexdigest()[:16]}.{kind}"
                images[f"{prefix}/{name}"] = data
                return [{"t": "Image", "c": [attr, alt, [f"{prefix}/{name}", title]]}]
            path = Path(unquote(url))
            try:
                relative = path.resolve().relative_to(media.resolve())
            except (ValueError, OSError):
                return [_alt_text(alt, url)]
            if not path.is_file():
                return [_alt_text(alt, url)]
            parts = relative.parts[1:] if relative.parts[:1] == ("media",) else relative.parts
            name = "/".join(parts)
            images[f"{prefix}/{name}"] = path.read_bytes()
            return [{"t": "Image", "c": [attr, alt, [f"{prefix}/{name}", title]]}]

        doc["blocks"] = _rewrite(doc["blocks"], rule)
        writer = _WRITE_EDITABLE if pipe_tables else _WRITE_MARKDOWN
        body = _pandoc(["--from", "json", *writer], json.dumps(doc).encode()).decode()
    title = _plain_text(doc.get("meta", {}).get("title", {}).get("c")).strip() or None
    return Converted(body, images, title)
