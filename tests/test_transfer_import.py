"""Importing an existing system: conversion, the dry run, the all-or-nothing batch."""

import base64
import io
import re
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from qms import render, trail
from qms.documents import importing as documents_importing
from qms.documents import rendering, services
from qms.documents.consistency import check
from qms.documents.models import Document, Revision, Signature
from qms.errors import PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.gitstore import MAIN
from qms.transfer import exporting, importing

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "word-qms-en"
if not CORPUS.is_dir():
    CORPUS = Path("/work/shared/corpus/word-qms-en")
needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"the Word corpus is not at {CORPUS}; real-world import untested"
)
ZH_CORPUS = Path(__file__).resolve().parent / "data" / "word-qms-zh"
# A 1x1 red PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d7"
    "63f8cfc000000301010018dd8db00000000049454e44ae426082"
)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def small_system(folder: Path, count: int = 3) -> Path:
    """A manual, procedures, work instructions and forms as Markdown and HTML files."""
    write(folder, "QM-01 Quality manual.md", "# Quality manual\n\nScope of the system.\n")
    for n in range(1, count + 1):
        write(folder, f"QP-{n:02d} Procedure {n}.md", f"# Procedure {n}\n\n- step one\n- two\n")
        write(
            folder,
            f"WI-{n:02d}-01 Instruction {n}.html",
            f"<h1>Instruction {n}</h1><table><tr><th>Who</th><th>What</th></tr>"
            f"<tr><td>Clerk</td><td>Files it</td></tr></table>",
        )
    return folder


# -- conversion ---------------------------------------------------------------------------


@needs_corpus
def test_convert_extracts_images_from_a_word_document():
    data = (CORPUS / "DOC-602 - Tools.docx").read_bytes()
    result = render.convert_to_markdown(data, "DOC-602 - Tools.docx", "DOC-602/media")
    assert len(result.images) >= 10
    for path, blob in result.images.items():
        assert path.startswith("DOC-602/media/")
        assert f"]({path})" in result.body
        assert blob[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xe1")


def test_convert_html_keeps_headings_lists_tables_and_embedded_images():
    seal = base64.b64encode(PNG).decode()
    html = (
        "<h1>Filing</h1><ol><li>Stamp</li><li>File</li></ol>"
        "<table><tr><th>Who</th></tr><tr><td>Clerk</td></tr></table>"
        f"<p><img alt='seal' src='data:image/png;base64,{seal}'>"
        "<img alt='remote' src='https://example.org/x.png'></p><script>alert(1)</script>"
    )
    result = render.convert_to_markdown(html.encode(), "x.html", "WI-01/media")
    assert "# Filing" in result.body
    assert "1.  Stamp" in result.body
    assert "Clerk" in result.body and "Who" in result.body
    assert list(result.images.values()) == [PNG]
    assert "example.org" not in result.body and "script" not in result.body
    assert "remote" in result.body  # the alt text stands in for it


def test_convert_refuses_an_unknown_format():
    with pytest.raises(render.RenderError):
        render.convert_to_markdown(b"x", "notes.txt")


def test_convert_reports_a_broken_word_file():
    with pytest.raises(render.RenderError):
        render.convert_to_markdown(b"not a zip at all", "QP-01 Broken.docx")


# -- the dry run --------------------------------------------------------------------------


def test_codes_titles_types_and_parents_come_from_file_names(users, tmp_path):
    prepared = importing.prepare(small_system(tmp_path / "src"))
    items = {i.code: i for i in prepared.plan.items}
    assert prepared.plan.ok, prepared.plan
    assert items["QM-01"].doc_type == "manual" and items["QM-01"].parent is None
    assert items["QP-02"].doc_type == "procedure" and items["QP-02"].parent == "QM-01"
    assert items["QP-02"].title == "Procedure 2"
    assert items["WI-02-01"].doc_type == "work_instruction"
    assert items["WI-02-01"].parent == "QP-02"


def test_record_form_parent_is_its_work_instruction_or_procedure(users, tmp_path):
    src = small_system(tmp_path / "src", 1)
    form = "---\nfields:\n  - {key: date, label: Date, type: date}\n---\n\n# Log\n"
    write(src, "RF-01-01-01 Filing log.md", form)
    write(src, "RF-01-09 Other log.md", form)
    items = {i.code: i for i in importing.prepare(src).plan.items}
    assert items["RF-01-01-01"].parent == "WI-01-01"
    assert items["RF-01-09"].parent == "QP-01"


def test_dry_run_lists_every_problem_by_file_name(users, tmp_path):
    src = small_system(tmp_path / "src", 1)
    write(src, "QP-01 Duplicate.md", "# Again\n")
    write(src, "Notes without code.md", "# Notes\n")
    (src / "QP-05 Broken.docx").write_bytes(b"not a word file")
    write(src, "QP-06 Unsafe.md", "# X\n\n<script>alert(1)</script>\n")
    write(src, "readme.txt", "not imported")
    plan = importing.prepare(src).plan
    problems = {i.source: " ".join(i.problems) for i in plan.items if i.problems}
    # The second file to claim QP-01 is refused, naming the first.
    assert "QP-01 Duplicate.md" in problems["QP-01 Procedure 1.md"]
    assert "pattern" in problems["Notes without code.md"]
    assert "cannot be read" in problems["QP-05 Broken.docx"]
    assert "not safe" in problems["QP-06 Unsafe.md"]
    assert plan.skipped == ["readme.txt"]
    assert not plan.ok
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0


def test_mapping_csv_gives_codes_titles_types_and_parents(users, tmp_path):
    src = tmp_path / "src"
    write(src, "manual.md", "# M\n")
    write(src, "filing.html", "<h1>Filing</h1>")
    write(src, "ghost.md", "# not mapped\n")
    mapping = (
        b"file,code,title,type,parent\n"
        b"manual.md,QM-01,Quality manual,manual,\n"
        b"filing.html,QP-07,Document control,procedure,QM-01\n"
        b"gone.md,QP-08,Missing,procedure,\n"
        b"bad.md,QP-09,Bad type,handbook,\n"
    )
    write(src, "bad.md", "# B\n")
    plan = importing.prepare(src, mapping=mapping).plan
    items = {i.source: i for i in plan.items}
    assert (items["filing.html"].code, items["filing.html"].title) == ("QP-07", "Document control")
    assert items["filing.html"].parent == "QM-01"
    assert "does not name" in items["ghost.md"].problems[0]
    assert "unknown" in items["bad.md"].problems[0]
    assert any("gone.md" in p for p in plan.problems)


def test_pattern_and_type_map_are_configurable(users, tmp_path, app):
    src = tmp_path / "src"
    write(src, "PROC_7_Control.md", "# C\n")
    app.config["QMS_IMPORT_TYPES"] = {"PROC": "procedure"}
    plan = importing.prepare(src, pattern=r"^(?P<code>PROC_\d+)_(?P<title>.+)$").plan
    # The code comes out as written; the register's own rules then judge it.
    assert plan.items[0].code == "PROC_7"
    assert plan.items[0].doc_type == "procedure"
    with pytest.raises(ValidationFailed):
        importing.prepare(src, pattern=r"^(?P<title>.+)$")


# -- the import ---------------------------------------------------------------------------


def test_import_releases_each_document_with_an_imported_signature(users, tmp_path, ctx):
    commit, prepared = importing.run(users["admin"], small_system(tmp_path / "src", 2))
    docs = {d.code: d for d in db.session.scalars(select(Document))}
    assert set(docs) == {"QM-01", "QP-01", "QP-02", "WI-01-01", "WI-02-01"}
    assert docs["WI-02-01"].parent.code == "QP-02"
    gitstore = services.store()
    assert gitstore.head(MAIN) == commit
    for doc in docs.values():
        rev = services.effective_revision(doc)
        assert (doc.status, rev.label, rev.release_commit) == ("effective", "A", commit)
        assert [s.meaning for s in rev.signatures] == ["imported"]
        assert rev.signatures[0].blob_id == gitstore.blob_id(commit, doc.path)
        assert gitstore.head(f"refs/tags/{doc.code}/A") == commit
    assert "# Procedure 2" in services.revision_content(services.effective_revision(docs["QP-02"]))
    original = gitstore.read(commit, "procedures/QP-02/original/QP-02 Procedure 2.md")
    assert original.startswith(b"# Procedure 2")
    assert [e.action for e in trail.events_for("document", "QP-01")] == ["document.created"]
    assert trail.verify() == []
    assert check() == []


def test_imported_images_appear_in_controlled_copies_and_the_export(users, tmp_path, ctx):
    src = tmp_path / "src"
    image = base64.b64encode(PNG).decode()
    write(
        src,
        "QP-09 Sealing.html",
        f"<h1>Sealing</h1><p><img alt='seal' src='data:image/png;base64,{image}'></p>",
    )
    importing.run(users["admin"], src)
    rev = services.effective_revision(services.get_document("QP-09"))
    assert "](QP-09/media/" in services.revision_content(rev)

    docx, _mimetype, _name = rendering.download(rev, "docx")
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        assert [archive.read(n) for n in archive.namelist() if n.startswith("word/media/")] == [PNG]
    pdf, _mimetype, _name = rendering.download(rev, "pdf")
    assert pdf.replace(b" ", b"").count(b"/Subtype/Image") == 1

    exporting.export(tmp_path / "export.zip")
    with zipfile.ZipFile(tmp_path / "export.zip") as export:
        copy = zipfile.ZipFile(io.BytesIO(export.read("documents/QP-09-A.docx")))
        assert [copy.read(n) for n in copy.namelist() if n.startswith("word/media/")] == [PNG]


def test_import_is_one_commit_and_all_or_nothing(users, tmp_path, ctx, monkeypatch):
    src = tmp_path / "src"
    for n in range(60):
        write(src, f"QP-{n:02d} Procedure {n}.{'md' if n % 2 else 'html'}", f"# P{n}\n\ntext\n")
    gitstore = services.store()
    before = gitstore.head(MAIN)
    real = documents_importing._sign
    calls = []

    def failing(actor, rev, meaning, blob, comment):
        calls.append(rev)
        if len(calls) == 30:
            raise RuntimeError("disk full")
        return real(actor, rev, meaning, blob, comment)

    monkeypatch.setattr(documents_importing, "_sign", failing)
    with pytest.raises(RuntimeError):
        importing.run(users["admin"], src)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0
    assert db.session.scalar(select(func.count()).select_from(Signature)) == 0
    assert gitstore.head(MAIN) == before
    assert gitstore.refs("refs/tags/") == {}
    assert trail.verify() == []

    monkeypatch.setattr(documents_importing, "_sign", real)
    commit, _prepared = importing.run(users["admin"], src)
    assert db.session.scalar(select(func.count()).select_from(Revision)) == 60
    assert gitstore.log(MAIN)[0].sha == commit
    assert gitstore.log(MAIN)[1].sha == before  # one commit for the whole batch
    assert len(gitstore.refs("refs/tags/")) == 60


def test_failed_database_commit_puts_main_and_tags_back(users, tmp_path, ctx, monkeypatch):
    gitstore = services.store()
    before = gitstore.head(MAIN)

    def refuse():
        raise RuntimeError("database went away")

    monkeypatch.setattr(db.session, "commit", refuse)
    with pytest.raises(RuntimeError):
        importing.run(users["admin"], small_system(tmp_path / "src", 1))
    monkeypatch.undo()
    assert gitstore.head(MAIN) == before
    assert gitstore.refs("refs/tags/") == {}
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0


def test_import_with_problems_imports_nothing(users, tmp_path, ctx):
    src = small_system(tmp_path / "src", 1)
    write(src, "QP-01 Duplicate.md", "# Again\n")
    with pytest.raises(ValidationFailed) as info:
        importing.run(users["admin"], src)
    assert "QP-01 Duplicate.md" in str(info.value.detail)
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0


@pytest.mark.parametrize("role", ["staff", "author", "approver", "auditor"])
def test_only_an_admin_imports(users, tmp_path, ctx, role):
    with pytest.raises(PermissionDenied):
        importing.run(users[role], small_system(tmp_path / "src", 1))


def test_import_from_a_zip(users, tmp_path, ctx):
    src = small_system(tmp_path / "src", 1)
    archive = tmp_path / "system.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in src.rglob("*"):
            z.write(path, f"binder/{path.relative_to(src)}")
        z.writestr("__MACOSX/._junk", b"junk")
    importing.run(users["admin"], archive)
    assert {d.code for d in db.session.scalars(select(Document))} == {"QM-01", "QP-01", "WI-01-01"}


# -- real word processors ------------------------------------------------------------------


@needs_corpus
def test_import_of_the_word_corpus_keeps_headings_lists_tables_and_images(users, tmp_path, ctx):
    prepared = importing.prepare(CORPUS)
    plan = {i.source: i for i in prepared.plan.items}
    assert len(plan) == 7
    # Word's record forms have no field definitions: they come in printable, their fields
    # proposed from their first table's header row (confirmed later in the form builder).
    assert plan["REC-701 - DCR.docx"].problems == []
    commit, _prepared = importing.run(users["admin"], CORPUS)
    form = services.get_document("REC-701")
    meta, _body = render.split_front_matter(
        services.revision_content(services.effective_revision(form))
    )
    assert form.doc_type == "record_form" and meta["printable"] is True
    assert meta["proposed_fields"] and "fields" not in meta
    sop = services.get_document("SOP-701")
    assert (sop.title, sop.doc_type) == ("Control of Documents", "procedure")
    text = services.revision_content(services.effective_revision(sop))
    assert "# Introduction" in text and "## Purpose" in text
    assert "+----" in text or "|---" in text or "-----" in text  # a table
    tools = services.get_document("DOC-602")
    body = services.revision_content(services.effective_revision(tools))
    files = services.store().files(commit)
    images = [p for p in files if p.startswith("work-instructions/DOC-602/media/")]
    assert len(images) >= 10
    for path in images:
        assert f"]({path.removeprefix('work-instructions/')})" in body
    assert "work-instructions/DOC-602/original/DOC-602 - Tools.docx" in files
    # The controlled copies carry Word's pictures, not their alt text.
    pdf, _mimetype, _name = rendering.download(services.effective_revision(tools), "pdf")
    assert pdf.replace(b" ", b"").count(b"/Subtype/Image") >= len(images)
    assert check() == []


def test_import_of_chinese_word_documents_made_by_libreoffice(users, client, auth):
    # Saved by LibreOffice Writer as Word 2007-365 (tests/data/word-qms-zh/make.py).
    src = ZH_CORPUS
    commit, _prepared = importing.run(users["admin"], src)
    qp = services.get_document("QP-07")
    assert qp.title == "文件控制程序"
    assert services.get_document("WI-07-01").parent.code == "QP-07"
    assert services.get_document("QP-08").title == "記錄控制程序"
    body = services.revision_content(services.effective_revision(qp))
    assert "# 文件控制程序" in body and "## 1 目的" in body
    assert "1.  起草" in body and "- 审批：管理者代表" in body
    assert re.search(r"\n +审批 +管理者代表 +文件审批单\n", body)  # a table row
    files = services.store().files(commit)
    media = [p for p in files if p.startswith("procedures/QP-07/media/")]
    assert len(media) == 1 and f"]({media[0].removeprefix('procedures/')})" in body
    assert "procedures/QP-07/original/QP-07 文件控制程序.docx" in files

    auth.login("staff")
    pdf = client.get("/documents/QP-08/content?format=pdf")
    assert pdf.status_code == 200
    assert pdf.data.replace(b" ", b"").count(b"/Subtype/Image") == 1
    docx = client.get("/documents/QP-07/content?format=docx")
    with zipfile.ZipFile(io.BytesIO(docx.data)) as archive:
        pictures = [n for n in archive.namelist() if n.startswith("word/media/")]
        assert [archive.read(n) for n in pictures] == [services.store().read(commit, media[0])]
        assert "管理者代表" in archive.read("word/document.xml").decode()
