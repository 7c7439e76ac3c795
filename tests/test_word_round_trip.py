"""Word round trip: download the draft as DOCX, upload the revised file, see its redline,
keep it as the next save; what the document rules refuse is refused with their messages."""

import io
import re
import struct
import zipfile
import zlib

import pytest

from qms import render
from qms.documents import services
from qms.extensions import db
from tests import builders

BODY = """# Document control

## Purpose

This procedure controls documents.

## Steps

- Draft the text
- Review the draft

| Role | Signs |
|------|-------|
| Author | prepared |
| Approver | approved |
"""


def png() -> bytes:
    """A 1×1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def draft(users):
    doc = builders.new_document(users, department="Quality Office")
    services.save_draft(users["author"], doc, builders.content("QP-07", body=BODY), "First issue")
    db.session.commit()
    return doc


def revised_docx() -> bytes:
    """What the author sends back: a heading, a list item and a table cell changed, and a
    picture added (made the way Word would hold it: pandoc writes a real DOCX)."""
    body = (
        BODY.replace("## Steps", "## How it is done")
        .replace("Review the draft", "Review the draft with the owner")
        .replace("| Approver | approved |", "| Approver | approved and released |")
        + "\n![Flow chart](QP-07/media/flow.png)\n"
    )
    return render.to_editable_docx(body, {"QP-07/media/flow.png": png()})


def test_the_draft_downloads_as_a_docx_of_its_text(draft, client, auth):
    auth.login("author")
    response = client.get("/documents/QP-07/draft/word")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith("QP-07-A-draft.docx")
    with zipfile.ZipFile(io.BytesIO(response.data)) as docx:
        xml = docx.read("word/document.xml").decode()
    assert "Review the draft" in xml and "This procedure controls documents." in xml
    assert "code: QP-07" not in xml  # the front matter stays in the application


def test_a_revised_word_file_shows_its_redline_then_becomes_the_next_save(draft, client, auth):
    auth.login("author")
    head = services.open_revision(draft).head_commit
    upload = {"file": (io.BytesIO(revised_docx()), "QP-07 revised.docx")}
    page = client.post("/documents/QP-07/draft/word", data=upload).get_data(as_text=True)
    assert "<ins> with the owner</ins>" in page
    assert re.search(r"<ins>[^<]*and released[^<]*</ins>", page)  # a table cell
    assert "<del>Steps</del>" in page and "1 picture" in page
    # Nothing is saved before the author keeps it.
    db.session.expire_all()
    assert services.open_revision(draft).head_commit == head
    token = re.search(r'name="token" value="([0-9a-f]+)"', page).group(1)
    form = {"token": token, "summary": "Steps reworded", "base_commit": head}
    response = client.post("/documents/QP-07/draft/word/keep", data=form)
    assert response.status_code == 302
    db.session.expire_all()
    rev = services.open_revision(draft)
    text = services.revision_content(rev)
    meta, body = render.split_front_matter(text)
    assert meta["code"] == "QP-07" and meta["title"] == "Document control"
    assert "## How it is done" in body
    assert "- Review the draft with the owner" in body
    assert "approved and released" in body
    [image] = re.findall(r"!\[[^\]]*\]\((QP-07/media/[^)\s]+)\)", body)
    assert services.document_media(rev)[image] == png()
    assert rev.summary == "Steps reworded"


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("notes.txt", b"hello", "Upload the Word file"),
        ("broken.docx", b"PK not really a zip", "could not be read as a Word document"),
    ],
)
def test_a_file_that_is_not_a_word_document_is_refused(draft, client, auth, name, data, message):
    auth.login("author")
    head = services.open_revision(draft).head_commit
    response = client.post(
        "/documents/QP-07/draft/word",
        data={"file": (io.BytesIO(data), name)},
        follow_redirects=True,
    )
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert services.open_revision(draft).head_commit == head


def test_the_document_rules_refuse_a_word_file_with_their_own_message(draft, app, client, auth):
    app.config["QMS_MAX_CONTENT_BYTES"] = 200
    auth.login("author")
    response = client.post(
        "/documents/QP-07/draft/word",
        data={"file": (io.BytesIO(revised_docx()), "QP-07.docx")},
        follow_redirects=True,
    )
    assert "the limit is 0 KB" in response.get_data(as_text=True)


def test_only_an_author_brings_a_word_file_back(draft, client, auth):
    auth.login("staff")
    assert client.get("/documents/QP-07/draft/word").status_code == 403
    upload = {"file": (io.BytesIO(revised_docx()), "QP-07.docx")}
    assert client.post("/documents/QP-07/draft/word", data=upload).status_code == 403
