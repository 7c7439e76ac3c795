"""Benchmark importing a real bureau's system: 700 files in one batch.

Run: ``.venv/bin/python bench/import_700.py [--files 700] [--docx 50]``

Generates a system shaped like one bureau's (1 manual, 31 procedures, work specifications
and record forms under them) as Markdown and HTML files, plus some DOCX made by pandoc
with an image each, then times the dry run and the all-or-nothing import, and checks the
result: one commit on main, one tag per document, ``qms check`` clean.
"""

import argparse
import base64
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pypandoc  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from qms import ROOT, create_app  # noqa: E402
from qms.auth.services import create_user  # noqa: E402
from qms.documents import services  # noqa: E402
from qms.documents.consistency import check  # noqa: E402
from qms.extensions import db  # noqa: E402
from qms.gitstore import MAIN, GitStore  # noqa: E402
from qms.transfer import importing  # noqa: E402

PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d7"
        "63f8cfc000000301010018dd8db00000000049454e44ae426082"
    )
).decode()
FORM = (
    "---\nfields:\n  - {key: date, label: Date, type: date}\n"
    "  - {key: note, label: Note, type: text}\n---\n\n"
)


def paragraphs(code: str, n: int = 12) -> str:
    return "\n\n".join(
        f"## {i}. Step {i}\n\nThe officer checks item {i} of {code} against the service guide."
        for i in range(1, n + 1)
    )


def generate(folder: Path, total: int, docx: int) -> None:
    """Write ``total`` files: the manual, procedures, work specifications and forms."""
    files = [("QM-01 Quality manual", "md")]
    p = w = 0
    while len(files) < total:
        p += 1
        files.append((f"QP-{p:02d} Procedure {p}", "md"))
        for w in range(1, 7):
            files.append((f"WI-{p:02d}-{w:02d} Work specification {p}.{w}", "html"))
            for f in range(1, 3):
                files.append((f"RF-{p:02d}-{w:02d}-{f:02d} Record form {p}.{w}.{f}", "md"))
    files = files[:total]
    made_docx = 0
    for stem, ext in files:
        code = stem.split(" ", 1)[0]
        if ext == "html":
            html = f"<h1>{stem}</h1><table><tr><th>Who</th><th>What</th></tr>"
            html += "<tr><td>Clerk</td><td>Checks</td></tr></table>"
            html += f"<p><img alt='seal' src='data:image/png;base64,{PNG}'></p>"
            if made_docx < docx:
                pypandoc.convert_text(
                    html, "docx", format="html", outputfile=str(folder / f"{stem}.docx")
                )
                made_docx += 1
            else:
                (folder / f"{stem}.html").write_text(html, encoding="utf-8")
        else:
            head = FORM if code.startswith("RF-") else ""
            (folder / f"{stem}.md").write_text(
                f"{head}# {stem}\n\n{paragraphs(code)}\n", encoding="utf-8"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=700)
    parser.add_argument("--docx", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qms-bench-import-") as tmp:
        root = Path(tmp)
        source = root / "system"
        source.mkdir()
        start = time.perf_counter()
        generate(source, args.files, args.docx)
        took = time.perf_counter() - start
        print(f"generated {args.files} files ({args.docx} DOCX) in {took:.1f} s")
        app = create_app(
            {
                "QMS_INSTANCE": str(root / "instance"),
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{root / 'qms.sqlite'}",
                "QMS_PASSWORD_METHOD": "pbkdf2:sha256:1000",
            }
        )
        with app.test_request_context():
            upgrade(directory=str(ROOT / "migrations"), revision="heads")
            GitStore.init(app.config["QMS_DOCUMENTS_REPO"])
            admin = create_user("admin", "bench-password-1", ["admin"], "Quality Office")
            db.session.commit()

            start = time.perf_counter()
            plan = importing.prepare(source).plan
            dry = time.perf_counter() - start
            assert plan.ok, [(i.source, i.problems) for i in plan.items if i.problems][:5]
            print(f"dry run (convert + check): {dry:.1f} s")

            stages: dict[str, float] = {}
            last = [time.perf_counter(), None]

            def progress(stage, done, total):
                now = time.perf_counter()
                if stage != last[1]:
                    last[0], last[1] = now, stage
                stages[stage] = now - last[0]

            start = time.perf_counter()
            commit, prepared = importing.run(admin, source, progress=progress)
            total = time.perf_counter() - start
            for stage, seconds in stages.items():
                print(f"  {stage:10} {seconds:6.1f} s")
            print(f"import of {len(prepared.items)} documents: {total:.1f} s")
            store = services.store()
            assert store.head(MAIN) == commit
            assert len(store.refs("refs/tags/")) == len(prepared.items)
            start = time.perf_counter()
            problems = check()
            print(f"qms check: {time.perf_counter() - start:.1f} s, {len(problems)} problems")
            assert not problems, problems[:5]


if __name__ == "__main__":
    main()
