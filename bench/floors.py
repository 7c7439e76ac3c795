"""What bench/run.py measures beside pages, each against its raw floor in the same run.

- a release through the real service against the bare git plumbing it needs (a blob, a
  tree from a temporary index, a signed merge commit, a signed tag, one ``update-ref``
  transaction for main, the tag and the draft branch);
- importing 700 DOCX through the real importer against pandoc converting the same files
  with the same number of threads and nothing else;
- the first render of a document against one pandoc call on its body, and the cached one.

Each runs in the bench process on the filled instance, with the server stopped.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import select

PASSWORD = {"mrep": "mrep-demo", "author": "author-demo", "admin": "admin-demo"}


def _median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def _git(repo: Path, *args: str, input: bytes | None = None, env: dict | None = None) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=repo,
        input=input,
        capture_output=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    return done.stdout.decode().strip()


def release_vs_plumbing(codes: list[str]) -> dict:
    """Release a new revision of each document in ``codes``; then do its git work raw."""
    from qms.auth.models import User
    from qms.documents import services
    from qms.extensions import db
    from qms.gitstore import MAIN
    from qms.uow import store

    author = db.session.scalar(select(User).where(User.username == "author"))
    mrep = db.session.scalar(select(User).where(User.username == "mrep"))
    releases, contents = [], []
    for n, code in enumerate(codes):
        doc = services.get_document(code)
        content = services.revision_content(services.effective_revision(doc))
        content += f"\nReleased by the benchmark, change {n}. 基准测试修改。\n"
        contents.append((doc.path, content))
        services.save_draft(author, doc, content, "Benchmark change")
        services.submit(author, doc)
        services.approve(mrep, doc, PASSWORD["mrep"])
        start = time.perf_counter()
        services.release(mrep, doc)
        releases.append(time.perf_counter() - start)
    gitstore = store()
    repo = gitstore.path
    key = gitstore.signing_key
    sign_env = gitstore._signing_config() if key else {}
    raw = []
    for n, (path, content) in enumerate(contents):
        start = time.perf_counter()
        main = _git(repo, "rev-parse", MAIN)
        blob = _git(repo, "hash-object", "-w", "--stdin", input=(content + "raw\n").encode())
        with tempfile.TemporaryDirectory() as tmp:
            index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            _git(repo, "read-tree", main, env=index)
            _git(
                repo,
                "update-index",
                "--index-info",
                input=f"100644 {blob}\t{path}\n".encode(),
                env=index,
            )
            tree = _git(repo, "write-tree", env=index)
        draft = _git(repo, "commit-tree", tree, "-p", main, "-m", "Draft", env=_ident())
        args = ["commit-tree", tree, "-p", main, "-p", draft, "-m", f"Release raw {n}"]
        commit = _git(repo, *args, *(["-S"] if key else []), env={**_ident(), **sign_env})
        tag_body = (
            f"object {commit}\ntype commit\ntag bench-raw/{n}\n"
            f"tagger QMS tracker <qms@localhost> {int(time.time())} +0000\n\nRaw {n}\n"
        ).encode()
        if key:
            tag_body += subprocess.run(
                ["ssh-keygen", "-q", "-Y", "sign", "-n", "git", "-f", key],
                input=tag_body,
                capture_output=True,
                check=True,
            ).stdout
        tag = _git(repo, "mktag", input=tag_body)
        _git(
            repo,
            "update-ref",
            "--stdin",
            input=(
                "start\n"
                f"update refs/bench/main-{n} {commit} {'0' * 40}\n"
                f"update refs/bench/tags/{n} {tag} {'0' * 40}\n"
                f"delete refs/bench/none-{n}\n"
                "prepare\ncommit\n"
            ).encode(),
        )
        raw.append(time.perf_counter() - start)
    for n in range(len(contents)):
        _git(repo, "update-ref", "-d", f"refs/bench/main-{n}")
        _git(repo, "update-ref", "-d", f"refs/bench/tags/{n}")
    return {
        "release (service)": _median_ms(releases),
        "release: raw git plumbing": _median_ms(raw),
        "signed": bool(key),
        "n": len(codes),
    }


def _ident() -> dict:
    return {
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@localhost",
        "GIT_COMMITTER_NAME": "QMS tracker",
        "GIT_COMMITTER_EMAIL": "qms@localhost",
    }


def render_vs_pandoc(codes: list[str]) -> dict:
    """First render of each document's effective revision, against one pandoc call."""
    import pypandoc

    from qms import render
    from qms.documents import rendering, services

    pandoc = pypandoc.get_pandoc_path()
    first, cached, raw = [], [], []
    for code in codes:
        rev = services.effective_revision(services.get_document(code))
        body = rendering._body(services.revision_content(rev))
        key = render._cache_key("html", body, None, {})
        shutil.rmtree(rendering.cache_dir() / "html" / key[:2], ignore_errors=True)
        start = time.perf_counter()
        rendering.html_for(rev)
        first.append(time.perf_counter() - start)
        start = time.perf_counter()
        rendering.html_for(rev)
        cached.append(time.perf_counter() - start)
        start = time.perf_counter()
        subprocess.run(
            [pandoc, "--from", "markdown", "--to", "html5"],
            input=body.encode(),
            capture_output=True,
            check=True,
        )
        raw.append(time.perf_counter() - start)
    return {
        "first render": _median_ms(first),
        "first render: one pandoc call": _median_ms(raw),
        "cached render": _median_ms(cached),
        "n": len(codes),
    }


def _docx_template(folder: Path) -> bytes:
    import pypandoc

    from bench.import_700 import PNG

    html = (
        "<h1>ZZCODEZZ ZZTITLEZZ</h1><p>The officer checks ZZCODEZZ against the service "
        "guide. 窗口工作人员应当核对申请材料是否齐全。</p>"
        "<table><tr><th>Who</th><th>What</th></tr><tr><td>Clerk</td><td>Checks</td></tr>"
        f"</table><p><img alt='seal' src='data:image/png;base64,{PNG}'></p>"
        + "".join(
            f"<h2>{i}. Step {i}</h2><p>Step {i} of ZZCODEZZ: the applicant 申请人 "
            "brings the documents listed in the service guide.</p>"
            for i in range(1, 13)
        )
    )
    out = folder / "template.docx"
    pypandoc.convert_text(html, "docx", format="html", outputfile=str(out))
    return out.read_bytes()


def generate_docx(folder: Path, total: int) -> list[Path]:
    """Write ``total`` DOCX files: procedures and work specifications."""
    template = _docx_template(folder)
    # A record form's fields cannot come from Word, so the DOCX are the manual's
    # procedures and their work specifications: 31 procedures, the rest under them.
    stems = [(f"QP-{100 + p}", f"Procedure {100 + p}") for p in range(1, 32)]
    w = 0
    while len(stems) < total:
        w += 1
        p = 101 + w % 31
        stems.append((f"WI-{p}-{w:03d}", f"Work specification {p}.{w}"))
    source = folder / "system"
    source.mkdir()
    paths = []
    with zipfile.ZipFile(__import__("io").BytesIO(template)) as tz:
        entries = [(info, tz.read(info)) for info in tz.infolist()]
    for code, title in stems[:total]:
        path = source / f"{code} {title}.docx"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for info, data in entries:
                if info.filename == "word/document.xml":
                    data = data.replace(b"ZZCODEZZ", code.encode()).replace(
                        b"ZZTITLEZZ", title.encode()
                    )
                z.writestr(info, data)
        paths.append(path)
    return paths


def import_vs_pandoc(total: int = 700) -> dict:
    """Import ``total`` DOCX into the filled instance; then pandoc alone on the same files."""
    import pypandoc

    from qms.auth.models import User
    from qms.extensions import db
    from qms.transfer import importing

    admin = db.session.scalar(select(User).where(User.username == "admin"))
    with tempfile.TemporaryDirectory(prefix="qms-bench-import-") as tmp:
        paths = generate_docx(Path(tmp), total)
        stages: dict[str, float] = {}
        last = [time.perf_counter(), None]

        def progress(stage, _done, _total):
            now = time.perf_counter()
            if stage != last[1]:
                last[0], last[1] = now, stage
            stages[stage] = now - last[0]

        start = time.perf_counter()
        _commit, prepared = importing.run(admin, Path(tmp) / "system", progress=progress)
        took = time.perf_counter() - start
        assert len(prepared.items) == total, len(prepared.items)
        pandoc = pypandoc.get_pandoc_path()

        def convert(path: Path) -> None:
            with tempfile.TemporaryDirectory() as media:
                subprocess.run(
                    [pandoc, "--from", "docx", "--to", "json", f"--extract-media={media}", path],
                    capture_output=True,
                    check=True,
                )

        start = time.perf_counter()
        # The importer's own number of threads, so the floor is pandoc's work alone.
        with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 2) * 2)) as pool:
            list(pool.map(convert, paths))
        raw = time.perf_counter() - start
    return {
        "import 700 DOCX (s)": took,
        "import: pandoc alone (s)": raw,
        "n": total,
        "stages (s)": {k: round(v, 1) for k, v in stages.items()},
    }
