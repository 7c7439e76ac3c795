"""Tests for qms.render: front matter, Markdown safety, HTML, DOCX, PDF, cache."""

import base64
import dataclasses
import re
import shutil
import struct
import subprocess
import zipfile
import zlib
from io import BytesIO
from xml.etree import ElementTree

import pytest

from qms import render
from qms.render import (
    ControlledCopy,
    FrontMatterError,
    RenderError,
    check_markdown,
    split_front_matter,
    to_docx,
    to_html,
    to_pdf,
)

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"

CHINESE_COPY = ControlledCopy(
    code="QP-07",
    title="文件控制程序",
    revision="C",
    status="受控",
    effective_date="2025-03-01",
    signatures=(("批准", "王芳", "2025-02-27 06:05 UTC"),),
    labels={"revision": "版本", "controlled_copy": "受控文件", "page": "页"},
    lang="zh_Hans",
)
ENGLISH_COPY = ControlledCopy(
    code="QP-04",
    title="Control of Nonconforming Output",
    revision="B",
    status="Effective",
    effective_date="2024-11-15",
    signatures=(
        ("Authored", "Ada Author", "2024-11-01 09:00 UTC"),
        ("Approved", "Mara Manager", "2024-11-10 14:30 UTC"),
    ),
)
SIGN_OFF = (("prepared", "Ada Author", "2024-11-01"), ("approved", "Mara Manager", "2024-11-10"))
# Every character that means something in typst markup or code.
HOSTILE = '#sys.exit() *bold* [link] $x$ \\ <lbl> @ref ~ _u_ `c` "q" = - + #let x = 1'


def tiny_png() -> bytes:
    """Return a valid one-pixel PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


PNG_URL = "data:image/png;base64," + base64.b64encode(tiny_png()).decode()


def pdf_text(pdf: bytes, tmp_path) -> str:
    """Extract a PDF's text with pdftotext, skipping the test without it."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "copy.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    )
    return result.stdout.decode()


def docx_parts(docx: bytes) -> dict[str, str]:
    """Open a DOCX and return its XML parts by name."""
    with zipfile.ZipFile(BytesIO(docx)) as archive:
        return {
            name: archive.read(name).decode()
            for name in archive.namelist()
            if name.endswith((".xml", ".rels"))
        }


def xml_text(xml: str) -> str:
    """Return the text of a WordprocessingML part, runs joined."""
    return "".join(node.text or "" for node in ElementTree.fromstring(xml).iter(f"{W}t"))


# -- front matter -------------------------------------------------------------


def test_split_front_matter_returns_mapping_and_body():
    text = "---\ncode: QP-07\nclauses: [7.5]\n---\n# Purpose\n"

    meta, body = split_front_matter(text)

    assert meta == {"code": "QP-07", "clauses": [7.5]}
    assert body == "# Purpose\n"


@pytest.mark.parametrize(
    "text",
    ["# Purpose\n\nNo front matter.", "--- \nnot: front matter\n---\n", "----\n", ""],
)
def test_text_without_front_matter_is_all_body(text):
    assert split_front_matter(text) == ({}, text)


def test_front_matter_may_close_with_dots_and_use_crlf():
    meta, body = split_front_matter("---\r\ncode: WI-01\r\n...\r\nBody\r\n")

    assert meta == {"code": "WI-01"}
    assert body == "Body\r\n"


def test_empty_front_matter_is_an_empty_mapping():
    assert split_front_matter("---\n---\nBody") == ({}, "Body")


def test_broken_front_matter_names_the_line():
    text = "---\ncode: QP-07\ntitle: Control: of documents\n---\nBody"

    with pytest.raises(FrontMatterError, match="line 3") as caught:
        split_front_matter(text)

    assert caught.value.line == 3
    assert isinstance(caught.value, ValueError)


def test_front_matter_must_be_a_mapping():
    with pytest.raises(FrontMatterError, match="mapping.*not a list"):
        split_front_matter("---\n- code\n- title\n---\nBody")


def test_unclosed_front_matter_is_an_error():
    with pytest.raises(FrontMatterError, match="never closed"):
        split_front_matter("---\ncode: QP-07\n# Purpose\n")


# -- check_markdown -----------------------------------------------------------


@pytest.mark.parametrize(
    ("markdown", "message_id", "detail"),
    [
        ("<script>alert(1)</script>", "script", "<script>"),
        ("Text <SCRIPT src=//evil.example/x.js></SCRIPT>", "script", "<script>"),
        ('<a href="#" onclick="steal()">x</a>', "event_handler", 'onclick="steal()"'),
        ("<img src=x onerror=alert(1)>", "event_handler", "onerror"),
        ('# Purpose {onclick="steal()"}', "event_handler", "onclick"),
        ('[x]{onmouseover="steal()"}', "event_handler", "onmouseover"),
        ("[click](javascript:alert(1))", "unsafe_link", "javascript:alert(1)"),
        ("[click](JaVaScRiPt:alert(1))", "unsafe_link", "JaVaScRiPt:"),
        ('<a href="jav&#x61;script:alert(1)">x</a>', "unsafe_link", "javascript:"),
        ("<javascript:alert(1)>", "unsafe_link", "javascript:"),
        ("[x](vbscript:msgbox)", "unsafe_link", "vbscript:"),
        ("[x](data:text/html;base64,PHNjcmlwdD4=)", "unsafe_link", "data:text/html"),
        ("![x](data:image/svg+xml;base64,PHN2Zz4=)", "unsafe_link", "data:image/svg+xml"),
        ('<iframe src="https://evil.example"></iframe>', "embedded_content", "<iframe>"),
        ("<object data=x.swf></object>", "embedded_content", "<object>"),
        ("<embed src=x.swf>", "embedded_content", "<embed>"),
        ("<style>body { display: none }</style>", "embedded_content", "<style>"),
        ('<form action="https://evil.example"><input></form>', "embedded_content", "<form>"),
        ('<meta http-equiv="refresh" content="0">', "embedded_content", "<meta>"),
        ('<link rel="stylesheet" href="x.css">', "embedded_content", "<link>"),
        ('```{=typst}\n#read("/etc/passwd")\n```', "embedded_content", "{=typst}"),
    ],
)
def test_check_markdown_finds_unsafe_content(markdown, message_id, detail):
    problems = check_markdown(markdown)

    assert message_id in [found for found, _ in problems]
    assert any(detail in text for found, text in problems if found == message_id)


def test_check_markdown_passes_clean_markdown():
    markdown = f"""
# 1 Purpose 目的

Text with **strong**, *emphasis*, `<script>` in code, H~2~O and a<br>break.

| Step | Owner |
|------|-------|
| Draft | Author |

- [ISO](https://www.iso.org/) and [mail](mailto:qa@example.org)
- [relative](../procedures/QP-04.md) and [anchor](#purpose)

![flowchart]({PNG_URL})

```html
<script>alert("only an example")</script>
```
"""

    assert check_markdown(markdown) == []


def test_check_markdown_reports_each_problem_once():
    problems = check_markdown("[a](javascript:x) [b](javascript:x) <script></script>")

    assert problems == [("unsafe_link", "javascript:x"), ("script", "<script>")]


# -- HTML ---------------------------------------------------------------------


def test_to_html_keeps_structure():
    html = to_html(
        "# Purpose\n\n## Scope\n\n| Step | Owner |\n|:-----|------:|\n| Draft | Author |\n\n"
        "1. one\n2. two\n\n*em* **strong** ~~gone~~ [ISO](https://www.iso.org/)\n"
    )

    assert '<h1 id="md-purpose">Purpose</h1>' in html
    assert "<h2" in html
    for tag in ("<table>", "<thead>", "<tbody>", "<th", "<td", "<ol", "<em>", "<strong>", "<del>"):
        assert tag in html
    assert 'style="text-align:left"' in html
    assert '<a href="https://www.iso.org/" rel="noopener noreferrer">ISO</a>' in html


def test_to_html_prefixes_ids_and_internal_links_alike():
    html = to_html("# Purpose\n\nSee [purpose](#purpose) and a note.[^1]\n\n[^1]: The note.")

    assert 'id="md-purpose"' in html
    assert 'href="#md-purpose"' in html
    assert 'href="#md-fn1"' in html
    assert 'id="md-fn1"' in html


@pytest.mark.parametrize(
    "markdown",
    [
        "<script>alert(1)</script>",
        '<a href="#" onclick="alert(1)">x</a>',
        "<img src=x onerror=alert(1)>",
        '<div onclick="alert(1)">x</div>',
        "[x](javascript:alert(1))",
        '<a href="jav&#x61;script:alert(1)">x</a>',
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "![x](data:image/svg+xml;base64,PHN2Zz4=)",
        '<iframe src="https://evil.example"></iframe>',
        "<style>body { display: none }</style>",
        '<form action="https://evil.example"><input name=x></form>',
        '<p style="position: fixed; inset: 0">cover</p>',
    ],
)
def test_to_html_strips_unsafe_content_given_directly(markdown):
    html = to_html(markdown).lower()

    for unsafe in (
        "<script",
        "alert(1)",
        "onclick",
        "onerror",
        "javascript:",
        "data:text",
        "data:image/svg",
        "<iframe",
        "<style",
        "<form",
        "<input",
        "position",
    ):
        assert unsafe not in html


def test_to_html_keeps_raster_data_images():
    html = to_html(f"![chart]({PNG_URL})")

    assert f'src="{PNG_URL}"' in html


# -- DOCX ---------------------------------------------------------------------


def test_docx_has_header_footer_signatures_and_body():
    docx = to_docx("# Purpose\n\nDocuments are reviewed yearly.", ENGLISH_COPY)

    parts = docx_parts(docx)
    for xml in parts.values():
        ElementTree.fromstring(xml)  # every part is well-formed
    header = xml_text(parts["word/header1.xml"])
    footer = parts["word/footer1.xml"]
    document = xml_text(parts["word/document.xml"])
    assert "QP-04" in header
    assert "Control of Nonconforming Output" in header
    assert "Revision B" in header
    assert "Controlled copy · Effective · Effective date 2024-11-15" in xml_text(footer)
    assert "PAGE" in footer
    assert "Ada Author" in document
    assert "Mara Manager" in document
    assert "Documents are reviewed yearly." in document
    assert 'r:id="rIdQmsHeader"' in parts["word/document.xml"]
    assert 'r:id="rIdQmsFooter"' in parts["word/document.xml"]


def test_docx_names_a_cjk_font_and_keeps_chinese():
    parts = docx_parts(to_docx("本程序规定了文件控制的要求。", CHINESE_COPY))

    assert 'w:eastAsia="Microsoft YaHei"' in parts["word/styles.xml"]
    assert "QP-07" in xml_text(parts["word/header1.xml"])
    assert "版本 C" in xml_text(parts["word/header1.xml"])
    assert "受控文件 · 受控" in xml_text(parts["word/footer1.xml"])
    assert "王芳" in xml_text(parts["word/document.xml"])
    assert "本程序规定了文件控制的要求。" in xml_text(parts["word/document.xml"])


@pytest.mark.parametrize(
    ("lang", "font", "fallback"),
    [("zh_Hans", "Microsoft YaHei", "SimSun"), ("zh_Hant", "Microsoft JhengHei", "PMingLiU")],
)
def test_docx_names_fonts_that_office_pcs_have(lang, font, fallback):
    copy = dataclasses.replace(CHINESE_COPY, lang=lang)

    parts = docx_parts(to_docx("文件 and text", copy))
    styles, fonts = parts["word/styles.xml"], parts["word/fontTable.xml"]
    theme = parts["word/theme/theme1.xml"]

    assert f'w:eastAsia="{font}"' in styles
    assert 'w:ascii="Calibri"' in styles and 'w:hAnsi="Calibri"' in styles
    assert 'w:eastAsiaTheme="' not in styles and 'w:asciiTheme="' not in styles
    assert f'<w:font w:name="{font}"><w:altName w:val="{fallback}"/>' in fonts
    assert '<w:font w:name="Calibri"><w:altName w:val="Arial"/>' in fonts
    assert f'<a:ea typeface="{font}"/>' in theme and '<a:latin typeface="Calibri"/>' in theme
    # Neither pandoc's Aptos (newest Office only) nor Noto (rarely installed) is named.
    for part in (styles, fonts, theme, parts["word/document.xml"]):
        assert "Aptos" not in part and "Noto" not in part


def test_docx_prints_the_title_once_and_the_sign_off_line():
    copy = dataclasses.replace(ENGLISH_COPY, sign_off=SIGN_OFF)

    document = xml_text(
        docx_parts(to_docx(f"# {copy.title}\n\n## Purpose\n\nText.", copy))["word/document.xml"]
    )

    assert document.count("Control of Nonconforming Output") == 1
    assert "Prepared by: Ada Author (2024-11-01)" in document
    assert "Reviewed by: —" in document
    assert "Approved by: Mara Manager (2024-11-10)" in document


def test_docx_table_columns_fit_their_content():
    markdown = (
        "| Rev | Date | Description of change |\n|:--:|:--:|:--|\n"
        "| A | 2021-01-10 | First issue, with a description long enough to need wrapping. |\n"
    )

    document = ElementTree.fromstring(
        docx_parts(to_docx(markdown, ENGLISH_COPY))["word/document.xml"]
    )

    table = list(document.iter(f"{W}tbl"))[-1]
    columns = [int(column.get(f"{W}w")) for column in table.iter(f"{W}gridCol")]
    assert columns[1] / sum(columns) >= len("2021-01-10") / render._LINE_WIDTH
    assert columns[2] == max(columns)


def test_docx_escapes_hostile_fields():
    copy = ControlledCopy(
        code="QP-<&>", title='</w:t></w:r>"\x01', revision="A", status="Draft", effective_date=None
    )

    parts = docx_parts(to_docx("Body", copy))

    assert "QP-<&>" in xml_text(parts["word/header1.xml"])
    assert '</w:t></w:r>"' in xml_text(parts["word/header1.xml"])


def test_docx_drops_raw_openxml_and_local_images():
    markdown = (
        "```{=openxml}\n<w:p><w:r><w:t>INJECTED</w:t></w:r></w:p>\n```\n\n"
        f"![secret](/etc/hostname) ![chart]({PNG_URL})"
    )

    docx = to_docx(markdown, ENGLISH_COPY)

    document = docx_parts(docx)["word/document.xml"]
    assert "INJECTED" not in document
    assert "[secret]" in xml_text(document)
    with zipfile.ZipFile(BytesIO(docx)) as archive:
        media = [name for name in archive.namelist() if name.startswith("word/media/")]
    assert len(media) == 1  # the data: PNG, not the local file


def test_docx_embeds_stored_images_and_only_those_it_is_given():
    media = {"QP-07/media/seal.png": tiny_png(), "QP-07/media/chart.emf": b"\x01\x00\x00\x00EMF"}
    markdown = (
        "![seal](QP-07/media/seal.png) ![flow](QP-07/media/flow.png) "
        "![chart](QP-07/media/chart.emf)"
    )

    docx = to_docx(markdown, ENGLISH_COPY, media=media)

    with zipfile.ZipFile(BytesIO(docx)) as archive:
        embedded = [archive.read(n) for n in archive.namelist() if n.startswith("word/media/")]
    assert embedded == [tiny_png()]
    text = xml_text(docx_parts(docx)["word/document.xml"])
    # Not stored, or a format a copy cannot show: the alt text stands in.
    assert "[flow]" in text and "[chart]" in text and "[seal]" not in text


# -- PDF ----------------------------------------------------------------------


def test_pdf_embeds_the_cjk_font():
    pdf = to_pdf(
        "# 目的\n\n本程序规定了文件控制的要求。\n\n| 步骤 | 责任人 |\n|---|---|\n| 起草 | 作者 |",
        CHINESE_COPY,
    )

    assert pdf.startswith(b"%PDF")
    assert re.search(rb"/(FontName|BaseFont)\s*/[A-Z]{6}\+NotoSans", pdf)


def pdf_fonts(pdf: bytes, tmp_path) -> str:
    """List a PDF's fonts with pdffonts, skipping the test without it."""
    if shutil.which("pdffonts") is None:
        pytest.skip("pdffonts (poppler-utils) is not installed")
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdffonts", str(path)], capture_output=True, check=True).stdout.decode()


@pytest.mark.parametrize(
    ("lang", "cut", "other"),
    [("zh_Hans", "NotoSansSC-", "NotoSansCJKtc-"), ("zh_Hant", "NotoSansCJKtc-", "NotoSansSC-")],
)
def test_pdf_embeds_the_cjk_cut_of_its_language(tmp_path, lang, cut, other):
    copy = dataclasses.replace(CHINESE_COPY, lang=lang)

    fonts = pdf_fonts(to_pdf("这门课程说明。`代码`", copy), tmp_path)

    assert re.search(rf"\+{cut}Regular", fonts)
    assert other not in fonts


def test_pdf_prints_the_title_once_and_the_sign_off_line(tmp_path):
    copy = dataclasses.replace(
        CHINESE_COPY,
        labels=CHINESE_COPY.labels
        | {"prepared_by": "编制", "reviewed_by": "审核", "approved_by": "批准"},
        sign_off=(("prepared", "李明", "2025-02-20"), ("approved", "王芳", "2025-02-27")),
    )

    text = pdf_text(
        to_pdf("# 文件控制程序\n\n## 目的\n\n本程序规定了文件控制的要求。", copy), tmp_path
    )

    assert text.count("文件控制程序") == 1
    assert "编制：李明（2025-02-20）" in text
    assert "审核：—" in text
    assert "批准：王芳（2025-02-27）" in text


def test_pdf_running_header_names_the_title_from_the_second_page(tmp_path):
    body = "\n\n".join(f"Paragraph {n} of a long procedure." for n in range(120))

    text = pdf_text(to_pdf(body, ENGLISH_COPY), tmp_path)
    pages = text.split("\f")

    assert len([page for page in pages if page.strip()]) > 1
    assert pages[0].count(ENGLISH_COPY.title) == 1
    assert ENGLISH_COPY.title in pages[1]


def test_pdf_table_prose_reads_from_the_left(tmp_path):
    markdown = (
        "| Step | Who |\n|---|:--:|\n"
        "| Draft the revision and its summary of changes | Author |\n"
        "| Sign | Management representative |\n"
    )
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "table.pdf"
    path.write_bytes(to_pdf(markdown, ENGLISH_COPY))
    html = subprocess.run(
        ["pdftotext", "-bbox", str(path), "-"], capture_output=True, check=True
    ).stdout.decode()
    left = {
        word: float(x) for x, word in re.findall(r'<word xMin="([\d.]+)"[^>]*>([^<]+)</word>', html)
    }

    # The column without an alignment starts every cell at the same edge...
    assert left["Draft"] == pytest.approx(left["Sign"], abs=0.5)
    # ...while the centred one still centres its shorter cell.
    assert left["Author"] > left["Management"] + 5


def test_pdf_chinese_text_is_extractable(tmp_path):
    pdf = to_pdf("# 目的\n\n本程序规定了文件控制的要求。", CHINESE_COPY)

    text = pdf_text(pdf, tmp_path)

    for expected in (
        "QP-07",
        "文件控制程序",
        "版本 C",
        "受控文件",
        "王芳",
        "本程序规定了文件控制的要求",
    ):
        assert expected in text
    assert re.search(r"页\s*1\s*/\s*1", text)


def test_pdf_prints_hostile_fields_literally(tmp_path):
    copy = ControlledCopy(
        code="#panic()",
        title=HOSTILE,
        revision="]",
        status="$",
        effective_date=None,
        signatures=(("#sys.exit()", "[signer]", "\\"),),
    )

    # Were any of it run as typst, "#panic()" would stop the compilation.
    pdf = to_pdf(f"{HOSTILE}\n\n`#panic()` #panic()", copy)

    assert pdf.startswith(b"%PDF")
    # Typst writes the document title into the PDF's info dictionary as is.
    assert b"#panic() #sys.exit() *bold* [link] $x$" in pdf
    text = pdf_text(pdf, tmp_path)
    assert "*bold* [link] $x$" in text
    assert "[signer]" in text
    assert "#panic() #panic()" in text


def test_a_cached_copy_reads_no_stored_image(tmp_path):
    reads = []

    def read(blob_id):
        reads.append(blob_id)
        return tiny_png()

    media = render.StoredMedia({"QP-07/media/seal.png": "blob-1"}, read)
    first = render.render("![seal](QP-07/media/seal.png)", "docx", ENGLISH_COPY, tmp_path, media)
    again = render.render("![seal](QP-07/media/seal.png)", "docx", ENGLISH_COPY, tmp_path, media)

    assert again == first and b"word/media/" in first
    assert reads == ["blob-1"]


def test_tables_read_from_word_files_get_widths_that_fit_their_content(tmp_path):
    # How convert_to_markdown writes a table of a Word file: a simple table whose dashes
    # mean nothing on paper.
    markdown = (
        "  ------ ------------ -----------------\n"
        "   职责      部门           记录\n\n"
        "   审批   管理者代表     文件审批单\n"
        "  ------ ------------ -----------------\n"
    )
    doc = render._parse(markdown)
    render._size_columns(doc["blocks"])
    [table] = list(render._tables(doc["blocks"]))
    widths = [spec[1]["c"] for spec in table["c"][2]]
    assert sum(widths) == pytest.approx(1) and min(widths) > 0.15

    text = pdf_text(to_pdf(markdown, CHINESE_COPY), tmp_path)
    assert "管理者代表" in text and "文件审批单" in text


def test_pdf_embeds_stored_images(tmp_path):
    markdown = "![seal](QP-07/media/seal%20one.png)\n\n![gone](QP-07/media/gone.png)"

    pdf = to_pdf(markdown, ENGLISH_COPY, media={"QP-07/media/seal one.png": tiny_png()})

    assert pdf.replace(b" ", b"").count(b"/Subtype/Image") == 1
    text = pdf_text(pdf, tmp_path)
    assert "[gone]" in text and "[seal]" not in text


def test_stored_images_are_part_of_the_cache_key(tmp_path):
    body = "![seal](QP-07/media/seal.png)"
    first = render.render(body, "docx", ENGLISH_COPY, tmp_path, {"QP-07/media/seal.png": b"x"})
    second = render.render(
        body, "docx", ENGLISH_COPY, tmp_path, {"QP-07/media/seal.png": tiny_png()}
    )

    assert first != second
    assert b"word/media/" in second and b"word/media/" not in first


def test_pdf_survives_missing_images_anchors_and_raw_typst(tmp_path):
    markdown = (
        "# Purpose\n\n"
        "![flowchart](missing.png) ![](https://example.org/x.png)\n\n"
        "![broken](data:image/png;base64,iVBORw0KGgo=)\n\n"
        f"![chart]({PNG_URL})\n\n"
        "[nowhere](#no-such-heading) and [here](#purpose)\n\n"
        '```{=typst}\n#panic("raw typst ran")\n```\n'
    )

    pdf = to_pdf(markdown, ENGLISH_COPY)

    assert pdf.startswith(b"%PDF")
    assert b"/Subtype/Image" in pdf.replace(b" ", b"")
    text = pdf_text(pdf, tmp_path)
    assert "[flowchart]" in text
    assert "[broken]" in text
    assert "nowhere" in text


# -- render and its cache -----------------------------------------------------


@pytest.fixture
def pandoc_calls(monkeypatch):
    """Count the calls that reach pandoc."""
    calls = []
    real = render._pandoc

    def counting(args, source):
        calls.append(args)
        return real(args, source)

    monkeypatch.setattr(render, "_pandoc", counting)
    return calls


@pytest.mark.parametrize(("fmt", "magic"), [("html", b"<h1"), ("docx", b"PK"), ("pdf", b"%PDF")])
def test_cache_hit_returns_same_bytes_without_pandoc(tmp_path, pandoc_calls, fmt, magic):
    first = render.render("# Purpose\n\nText.", fmt, ENGLISH_COPY, tmp_path)
    calls = len(pandoc_calls)

    second = render.render("# Purpose\n\nText.", fmt, ENGLISH_COPY, tmp_path)

    assert second.startswith(magic)
    assert second == first
    assert len(pandoc_calls) == calls
    cached = list((tmp_path / fmt).glob(f"*/*.{fmt}"))
    assert len(cached) == 1
    assert cached[0].parent.name == cached[0].name[:2]
    assert not list(tmp_path.rglob("*.tmp"))


def test_cache_key_covers_the_copy_but_html_ignores_it(tmp_path, pandoc_calls):
    other = dataclasses.replace(ENGLISH_COPY, revision="C")

    render.render("Text.", "html", ENGLISH_COPY, tmp_path)
    render.render("Text.", "html", other, tmp_path)
    html_calls = len(pandoc_calls)
    render.render("Text.", "docx", ENGLISH_COPY, tmp_path)
    render.render("Text.", "docx", other, tmp_path)

    assert html_calls == 1
    assert len(list((tmp_path / "docx").glob("*/*.docx"))) == 2


def test_render_without_cache_dir_renders_every_time(pandoc_calls):
    render.render("Text.", "html", None, None)
    render.render("Text.", "html", None, None)

    assert len(pandoc_calls) == 2


def test_render_works_when_the_cache_cannot_be_written(tmp_path):
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache directory should be")

    assert render.render("Text.", "html", None, blocked).strip() == b"<p>Text.</p>"


@pytest.mark.parametrize(("fmt", "copy"), [("rtf", ENGLISH_COPY), ("pdf", None), ("docx", None)])
def test_render_rejects_bad_requests(fmt, copy):
    with pytest.raises(ValueError):
        render.render("Text.", fmt, copy, None)


def test_pandoc_failure_is_a_render_error():
    with pytest.raises(RenderError, match="pandoc failed"):
        render._pandoc(["--from", "no-such-format"], b"")


def test_controlled_copy_falls_back_to_english_labels():
    copy = ControlledCopy("QP-01", "Quality manual", "A", "Effective", None, labels={"page": "页"})

    assert copy.label("page") == "页"
    assert copy.label("revision") == "Revision"
    assert hash(copy) == hash(ControlledCopy("QP-01", "Quality manual", "A", "Effective", None))


def test_a_released_copy_names_who_prepared_reviewed_and_approved_it(users, app, tmp_path):
    from qms import clock
    from qms.documents import services
    from qms.documents.rendering import download
    from qms.extensions import db
    from tests.builders import effective

    doc = effective(users, "QP-07", title="Document control")
    db.session.commit()
    rev = services.effective_revision(doc)
    today = clock.today().isoformat()

    with app.test_request_context():
        pdf, mimetype, _name = download(rev, "pdf")
    text = pdf_text(pdf, tmp_path)

    assert mimetype == "application/pdf"
    assert text.count("Document control") == 1
    assert f"Prepared by: {users['author'].display_name} ({today})" in text
    assert "Reviewed by: —" in text
    assert f"Approved by: {users['approver'].display_name} ({today})" in text
