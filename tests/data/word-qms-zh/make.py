"""Write the Chinese Word documents of this folder with LibreOffice, as a person would.

The import tests read the DOCX files committed here, so they need no word processor;
this script is how they were made (LibreOffice 7.4 from Debian's packages):

    python tests/data/word-qms-zh/make.py

Each document is written as HTML and saved by Writer as "Word 2007-365", which gives
the styles, tables and embedded pictures of a file made in a word processor.
"""

import base64
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent


def png(width: int, height: int, pixel) -> bytes:
    """Encode an RGB picture whose colour at (x, y) is pixel(x, y)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(
        b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def seal(x: int, y: int) -> tuple[int, int, int]:
    """A red ring on white, like an office's seal."""
    distance = ((x - 31.5) ** 2 + (y - 31.5) ** 2) ** 0.5
    return (200, 30, 30) if 22 <= distance <= 30 or distance <= 6 else (255, 255, 255)


def flow(x: int, y: int) -> tuple[int, int, int]:
    """Three blue boxes joined by a line: a small flowchart."""
    box = any(abs(x - cx) <= 14 and abs(y - 16) <= 9 for cx in (18, 60, 102))
    line = abs(y - 16) <= 1 and 18 <= x <= 102
    return (40, 80, 160) if box or line else (255, 255, 255)


def picture(data: bytes, alt: str, size: int) -> str:
    encoded = base64.b64encode(data).decode()
    return f"<p><img src='data:image/png;base64,{encoded}' width='{size}' alt='{alt}'></p>"


DOCUMENTS = {
    "QP-07 文件控制程序": (
        "<h1>文件控制程序</h1>"
        "<h2>1 目的</h2><p>规范质量体系文件的编制、审核、批准、发放和作废。</p>"
        "<h2>2 职责</h2><ul><li>编制：各业务科室</li><li>审批：管理者代表</li></ul>"
        "<h2>3 流程</h2><ol><li>起草</li><li>审核</li><li>批准并发布</li></ol>"
        "<table border='1'><tr><th>职责</th><th>部门</th><th>记录</th></tr>"
        "<tr><td>审批</td><td>管理者代表</td><td>文件审批单</td></tr>"
        "<tr><td>发放</td><td>综合办公室</td><td>文件发放登记表</td></tr></table>"
        + picture(png(64, 64, seal), "印章", 64)
    ),
    "WI-07-01 文件归档规范": (
        "<h1>文件归档规范</h1><p>受控文件作废后由综合办公室归档，保存期限为三年。</p>"
        "<table border='1'><tr><th>文件类别</th><th>保存期限</th></tr>"
        "<tr><td>质量手册</td><td>长期</td></tr><tr><td>程序文件</td><td>三年</td></tr></table>"
    ),
    "QP-08 記錄控制程序": (
        "<h1>記錄控制程序</h1>"
        "<h2>1 目的</h2><p>確保品質記錄的標識、貯存、保護、檢索和處置受控。</p>"
        "<table border='1'><tr><th>記錄</th><th>保存期限</th><th>保管部門</th></tr>"
        "<tr><td>檢驗報告</td><td>六年</td><td>檢驗科</td></tr></table>"
        + picture(png(120, 32, flow), "流程圖", 120)
    ),
}


def main() -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise SystemExit("LibreOffice is needed: apt-get install libreoffice-writer")
    with tempfile.TemporaryDirectory() as tmp:
        for name, body in DOCUMENTS.items():
            source = Path(tmp) / f"{name}.html"
            html = f"<html><head><meta charset='utf-8'></head><body>{body}</body></html>"
            source.write_text(html, encoding="utf-8")
            subprocess.run(
                [soffice, "--headless", "--convert-to", "docx:MS Word 2007 XML",
                 "--outdir", str(HERE), str(source)],
                check=True,
                env={"HOME": tmp, "PATH": "/usr/bin:/bin"},
            )  # fmt: skip


if __name__ == "__main__":
    main()
