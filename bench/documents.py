"""Benchmark document control at ten times a real bureau's size.

Run: ``.venv/bin/python bench/documents.py [--documents 6780] [--releases 200]``

Seeds a throw-away instance with a register of the given size (one manual, procedures,
work specifications and record forms in their hierarchy), releases a sample through the
real workflow, and times what people wait for: the register page, the hierarchy, a
document page, a redline of a long procedure, a release, and ``qms check``.
"""

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402

from qms import ROOT, create_app  # noqa: E402
from qms.auth.services import create_user  # noqa: E402
from qms.documents import services  # noqa: E402
from qms.documents.consistency import check  # noqa: E402
from qms.documents.models import Document  # noqa: E402
from qms.extensions import db  # noqa: E402
from qms.gitstore import GitStore  # noqa: E402

PASSWORD = "bench-password-1"


@contextmanager
def timed(label: str, results: dict):
    start = time.perf_counter()
    yield
    results.setdefault(label, []).append(time.perf_counter() - start)


def body(code: str, paragraphs: int = 40) -> str:
    text = "\n\n".join(
        f"## {n}. Step {n}\n\nThe officer at the window checks item {n} of {code} against the "
        f"service guide and records the result in the register before the case moves on."
        for n in range(1, paragraphs + 1)
    )
    return (
        f"---\ncode: {code}\ntitle: Procedure {code}\ntype: procedure\n---\n\n# {code}\n\n{text}\n"
    )


def seed_register(total: int, author) -> None:
    """Insert register rows in bulk: the hierarchy of a large service centre."""
    manual = Document(
        code="QM-01", title="Quality manual", doc_type="manual", department=author.department
    )
    db.session.add(manual)
    made, p = 1, 0
    while made < total:
        p += 1
        proc = Document(
            code=f"QP-{p:03d}",
            title=f"Procedure {p}",
            doc_type="procedure",
            parent=manual,
            department=author.department,
        )
        db.session.add(proc)
        made += 1
        for w in range(1, 7):
            if made >= total:
                break
            wi = Document(
                code=f"WI-{p:03d}-{w:02d}",
                title=f"Work specification {p}.{w}",
                doc_type="work_instruction",
                parent=proc,
                department=author.department,
            )
            db.session.add(wi)
            made += 1
            for r in range(1, 3):
                if made >= total:
                    break
                db.session.add(
                    Document(
                        code=f"RF-{p:03d}-{w:02d}-{r:02d}",
                        title=f"Record form {p}.{w}.{r}",
                        doc_type="record_form",
                        parent=wi,
                        department=author.department,
                    )
                )
                made += 1
        db.session.flush()
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=6780)
    parser.add_argument("--releases", type=int, default=100)
    args = parser.parse_args()
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "QMS_INSTANCE": tmp,
                "SECRET_KEY": "bench",
                "WTF_CSRF_ENABLED": False,
                "QMS_PASSWORD_METHOD": "pbkdf2:sha256:1000",
            }
        )
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"), revision="heads")
            GitStore.init(app.config["QMS_DOCUMENTS_REPO"])
        with app.test_request_context():
            author = create_user("author", PASSWORD, ["author"], "Quality Office")
            approver = create_user("mrep", PASSWORD, ["approver"], "Quality Office")
            db.session.commit()
            seed_register(args.documents, author)
            for n in range(args.releases):
                doc = services.create_document(author, f"BP-{n:04d}", f"Bench {n}", "procedure")
                services.save_draft(author, doc, body(doc.code), "First issue")
                services.submit(author, doc)
                services.approve(approver, doc, PASSWORD)
                with timed("release one revision", results):
                    services.release(approver, doc)
            doc = services.get_document("BP-0000")
            services.save_draft(
                author, doc, body(doc.code, 60).replace("checks", "verifies"), "Revise"
            )
            services.submit(author, doc)
            services.approve(approver, doc, PASSWORD)
            services.release(approver, doc)
        client = app.test_client()
        client.post("/auth/login", data={"username": "mrep", "password": PASSWORD})
        for _ in range(5):
            with timed("register page (50 of all, sorted)", results):
                assert client.get("/documents/?sort=-title").status_code == 200
            with timed("register filtered by type and search", results):
                assert client.get("/documents/?doc_type=record_form&q=7.3").status_code == 200
            with timed("hierarchy page (every document)", results):
                assert client.get("/documents/tree").status_code == 200
            with timed("document page", results):
                assert client.get("/documents/BP-0000").status_code == 200
            with timed("redline of a 60-step procedure", results):
                assert client.get("/documents/BP-0000/diff?from=A&to=B").status_code == 200
            with timed("register CSV export", results):
                assert client.get("/documents/?format=csv").status_code == 200
        with app.test_request_context(), timed("qms check", results):
            check()
    print(f"documents in register: {args.documents + args.releases}")
    for label, values in results.items():
        print(
            f"{label:40} median {statistics.median(values) * 1000:8.1f} ms  "
            f"max {max(values) * 1000:8.1f} ms  (n={len(values)})"
        )


if __name__ == "__main__":
    main()
