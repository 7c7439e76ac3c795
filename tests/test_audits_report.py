"""The signed audit report: its content, its hash, DOCX and PDF in English and Chinese."""

import re
import zipfile
from io import BytesIO
from xml.etree import ElementTree

import pytest

from qms.audits import report, services
from qms.errors import Conflict
from qms.extensions import db
from tests.builders_audits import answer_all, procedure, started
from tests.conftest import PASSWORD

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def docx_text(docx: bytes) -> str:
    with zipfile.ZipFile(BytesIO(docx)) as archive:
        xml = archive.read("word/document.xml").decode()
    return "".join(node.text or "" for node in ElementTree.fromstring(xml).iter(f"{W}t"))


def signed(users, lang, summary, evidence):
    procedure(users)
    audit = started(users)
    services.save_report_text(users["auditor"], audit, summary, "- Clear service guides", "")
    question = services.record_finding(
        users["auditor"], audit, "minor_nc", evidence, clause="8.5.1", responsible="author"
    )
    answer_all(audit)
    services.transition(users["auditor"], audit, "reported", PASSWORD, lang)
    return audit, question


def test_report_has_scope_team_summary_strengths_findings_and_distribution(users):
    audit, question = signed(users, "en", "The hall works to QP-07.", "No acceptance notice.")

    body = audit.report_body
    for expected in (
        f"Internal audit report {audit.ref}",
        "Service Hall",
        "8.5.1",
        "QP-07 rev. A",
        "Auditor",
        "The hall works to QP-07.",
        "Clear service guides",
        "No acceptance notice.",
        question.nc_number,
        "Production and service provision",
        "| Minor NC | 1 |",
    ):
        assert expected in body, expected
    assert "Signed by the lead auditor Auditor" in body


def test_report_renders_in_chinese_with_cjk_glyphs(users):
    audit, _question = signed(users, "zh_Hans", "大厅按程序受理。", "未出具受理通知书。")

    pdf, mimetype, name = report.report_file(audit, "pdf")
    docx, _m, _n = report.report_file(audit, "docx")

    assert mimetype == "application/pdf" and name == f"{audit.ref}-report.pdf"
    assert pdf.startswith(b"%PDF")
    assert re.search(rb"/(FontName|BaseFont)\s*/[A-Z]{6}\+NotoSansSC", pdf)  # the Simplified cut
    text = docx_text(docx)
    for expected in ("大厅按程序受理。", "未出具受理通知书。", "生产和服务提供", audit.ref):
        assert expected in text, expected


def test_report_renders_in_english_as_docx(users):
    audit, question = signed(users, "en", "All good.", "Notice missing.")

    text = docx_text(report.report_file(audit, "docx")[0])

    assert "Notice missing." in text
    assert question.nc_number in text


def test_report_is_regenerated_only_from_the_text_that_was_signed(users):
    audit, _question = signed(users, "en", "Original summary.", "Notice missing.")
    audit.report_body = audit.report_body.replace("Original", "Altered")
    db.session.commit()

    with pytest.raises(Conflict, match="does not match its signature"):
        report.report_file(audit, "pdf")


def test_unsigned_report_cannot_be_downloaded(users):
    audit = started(users)

    with pytest.raises(Conflict, match="not signed"):
        report.report_file(audit, "docx")
