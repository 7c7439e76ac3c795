"""The standard-system table and the list of standards as XLSX and DOCX: each file opens in
LibreOffice and, converted to text there, reads the Chinese content it was made from."""

import shutil
import subprocess
from pathlib import Path

import pytest

from qms.extensions import db
from qms.standards import services
from tests.builders import content, effective

SOFFICE = shutil.which("soffice")
#: CSV separated by commas, quoted with ", in UTF-8 (character set 76), not the locale's.
UTF8_CSV = "csv:Text - txt - csv (StarCalc):44,34,76"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed"),
]


def convert(data: bytes, suffix: str, target: str, tmp_path: Path) -> str:
    """Save ``data`` and let LibreOffice convert it to ``target``; return the text it wrote."""
    source = tmp_path / f"export.{suffix}"
    source.write_bytes(data)
    out = tmp_path / "out"
    profile = tmp_path / "profile"
    subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            target,
            "--outdir",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    [converted] = out.iterdir()
    return converted.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def system(users):
    """The base/quality/management/work scheme with one document and two standards in ZL."""
    cats = {c.code: c for c in services.apply_preset(users["admin"], "types")}
    effective(users, "QP-07", content("QP-07", "窗口服务程序"))
    services.place(users["approver"], "types", {"QP-07": cats["ZL"].id})
    old = services.add_standard(
        users["approver"],
        "GB/T 24421.1-2009",
        "服务业组织标准化工作指南 第1部分：基本要求",
        issuing_body="国家质量监督检验检疫总局",
        category=cats["JC"].id,
    )
    services.add_standard(
        users["approver"], "GB/T 39734-2020", "政务服务中心服务规范", category=cats["ZL"].id
    )
    services.set_status(
        users["approver"],
        old,
        "replaced",
        replaced_by="GB/T 24421.1-2023",
        successor_title="服务业组织标准化工作指南 第1部分：总则",
    )
    db.session.commit()


@pytest.mark.parametrize(("fmt", "target"), [("xlsx", UTF8_CSV), ("docx", "txt:Text")])
def test_the_list_of_standards_opens_in_libreoffice_with_its_chinese_rows(
    system, client, auth, tmp_path, fmt, target
):
    auth.login("staff")
    response = client.get(f"/standards/list.{fmt}")
    assert response.status_code == 200
    text = convert(response.data, fmt, target, tmp_path)
    assert "List of standards" in text  # the title row
    assert "Standard number" in text and "Replaced by" in text  # the header row
    assert "政务服务中心服务规范" in text
    assert "国家质量监督检验检疫总局" in text and "GB/T 24421.1-2023" in text


@pytest.mark.parametrize(("fmt", "target"), [("xlsx", UTF8_CSV), ("docx", "txt:Text")])
def test_the_standard_system_table_opens_in_libreoffice_grouped_by_category(
    system, client, auth, tmp_path, fmt, target
):
    auth.login("staff")
    response = client.get(f"/standards/table.{fmt}?scheme=types")
    assert response.status_code == 200
    text = convert(response.data, fmt, target, tmp_path)
    assert "Standard system table" in text
    quality = text.index("Quality standards")
    assert text.index("Base standards") < text.index("GB/T 24421.1-2009") < quality
    assert quality < text.index("窗口服务程序") and quality < text.index("政务服务中心服务规范")
    assert "1 documents, 1 standards" in text


def test_a_format_the_lists_do_not_come_in_is_not_found(users, client, auth):
    auth.login("staff")
    assert client.get("/standards/list.pdf").status_code == 404
    assert client.get("/standards/table.csv").status_code == 404
