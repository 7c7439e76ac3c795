"""The formatted redline: each change shown where it is on the rendered document, and the
same redline as Word's tracked changes and as a PDF."""

import io
import re
import subprocess
import zipfile

import pytest

from qms.documents import formatted_redline as formatted
from qms.documents import services
from tests import builders

BODY_A = """# Document control

## Steps

- Draft the text
- Review the draft

| Role | Signs |
|------|-------|
| Author | prepared |
| Approver | approved |

## Records

The register is kept for five years.
"""
BODY_B = (
    BODY_A.replace("## Steps", "## How it is done")
    .replace("- Review the draft", "- Review the draft with the owner")
    .replace("| Approver | approved |", "| Approver | approved and released |")
)


@pytest.fixture
def revised(users):
    doc = builders.effective(users, text=builders.content("QP-07", body=BODY_A))
    services.open_draft(users["author"], doc)
    services.save_draft(users["author"], doc, builders.content("QP-07", body=BODY_B), "Reworded")
    services.submit(users["author"], doc)
    return doc


def element(html: str, tag: str, containing: str) -> str:
    """The first ``<tag>`` element of ``html`` whose text contains ``containing``."""
    for match in re.finditer(rf"<{tag}\b[^>]*>(.*?)</{tag}>", html, re.S):
        if containing in re.sub(r"<[^>]+>", "", match.group(1)):
            return match.group(0)
    raise AssertionError(f"no <{tag}> with {containing!r} in {html}")


def test_each_change_is_shown_where_it_is(revised):
    result = formatted.between(*revised.revisions[-2:])
    html = str(result.html)
    assert "<ins>How it is done</ins>" in element(html, "h2", "How it is done")
    assert "<del>Steps</del>" in element(html, "h2", "Steps")
    item = element(html, "li", "Review the draft")
    assert "<ins>with the owner</ins>" in item and "<del>" not in item
    cell = element(html, "td", "approved")
    assert "<ins>and released</ins>" in cell and cell.startswith("<td")
    # What did not change is there, unmarked.
    assert "<td>Author</td>" in html and "<ins>" not in element(html, "p", "five years")
    assert result.changes == 4


def test_the_redline_page_is_full_width_with_change_navigation(revised, client, auth):
    auth.login("approver")
    page = client.get("/documents/QP-07/redline?from=A&to=B").get_data(as_text=True)
    assert "redline-formatted" in page and "data-redline-next" in page
    assert "data-redline-sections" in page and "4 changes" in page
    assert client.get("/documents/QP-07/redline?from=A&to=Z").status_code == 404
    assert client.get("/documents/QP-07/redline?format=odt").status_code == 400


def test_the_redline_downloads_as_docx_with_tracked_changes(revised, client, auth):
    auth.login("approver")
    response = client.get("/documents/QP-07/redline?from=A&to=B&format=docx")
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.data)) as docx:
        xml = docx.read("word/document.xml").decode()
    inserted = re.findall(r"<w:ins [^>]*>.*?</w:ins>", xml, re.S)
    deleted = re.findall(r"<w:del [^>]*>.*?</w:del>", xml, re.S)
    assert any("released" in i for i in inserted) and any("owner" in i for i in inserted)
    assert any("Steps" in d for d in deleted)
    assert 'w:author="Author"' in xml


def test_the_redline_downloads_as_a_pdf(revised, client, auth, tmp_path):
    auth.login("approver")
    response = client.get("/documents/QP-07/redline?from=A&to=B&format=pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    pdf = tmp_path / "redline.pdf"
    pdf.write_bytes(response.data)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "How it is done" in text and "approved and released" in text


def test_approvers_reach_the_formatted_redline_from_the_document(revised, client, auth):
    auth.login("approver")
    page = client.get("/documents/QP-07").get_data(as_text=True)
    assert "/documents/QP-07/redline?from=A&amp;to=B" in page
