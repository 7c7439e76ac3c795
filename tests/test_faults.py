"""Fault injection: writers under load, the server killed with SIGKILL, restarted, checked.

Every 2xx answer is a promise. After each kill and restart, what was acknowledged is
there, nothing no one acknowledged was adopted, every draft still saves, and ``git fsck``
and ``qms check`` are clean without ``--repair``: recovery happens on its own at start-up.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from qms import create_app, uow
from qms.auth.services import create_token, create_user
from qms.documents import services as documents
from qms.extensions import db
from tests.builders_records import form_in_force
from tests.faults_helpers import (
    Http,
    RefWatcher,
    Server,
    cli,
    free_port,
    git,
    has_command,
    multipart,
    server_env,
)

pytestmark = pytest.mark.slow

PASSWORD = "correct-horse-9"
SECRET = "fault-injection-secret"
DOCS = ("QP-01", "QP-02", "QP-03", "QP-04")
FORM = "RF-01"
FORM_FIELDS = [
    {"key": "title", "label": "Title", "type": "text", "required": True},
    {"key": "file", "label": "File", "type": "attachment", "required": True},
]
CYCLES = 3
#: Bounds of one writer in one cycle: the load stops at the kill or at these.
MAX_OPS, MAX_SECONDS = 150, 10
#: How the revision statuses follow each other; none of the writers goes back.
ORDER = {"draft": 0, "in_review": 1, "approved": 2, "effective": 3, "superseded": 4}


@dataclass
class Op:
    """One request a writer sent: what it sent and what answer (if any) came back."""

    kind: str
    key: str
    sent: dict
    status: int | None = None
    answer: object = None

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Fleet:
    port: int
    tokens: dict[str, str]
    ops: list[Op] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def api(self, username: str) -> Http:
        return Http(self.port, self.tokens[username])

    def send(self, client: Http, op: Op, method: str, path: str, data=None) -> Op:
        self.ops.append(op)
        op.status, op.answer = client.json(method, path, data)
        return op


def document_text(code: str, mark: str) -> str:
    return (
        f"---\ncode: {code}\ntitle: Procedure {code}\ntype: procedure\nclauses: ['7.5']\n---\n\n"
        f"# Procedure {code}\n\n## Purpose\n\nSaved as {mark}.\n"
    )


def open_revision(detail: dict) -> dict | None:
    label = detail.get("open_revision")
    return next((r for r in detail["revisions"] if r["revision"] == label), None)


# -- setup ----------------------------------------------------------------------------------


def set_up(instance: Path) -> dict[str, str]:
    """Initialise the instance by the CLI, then add users, tokens and documents; return tokens."""
    env = server_env(instance, SECRET)
    done = cli(env, "init")
    assert done.returncode == 0, done.stderr
    app = setup_app(instance)
    with app.test_request_context():
        people = {
            "author": create_user("author", PASSWORD, ["author"], "Quality Office"),
            "approver": create_user("approver", PASSWORD, ["approver"], "Quality Office"),
            "staff": create_user("staff", PASSWORD, ["staff"], "Service Hall"),
        }
        db.session.commit()
        tokens = {name: create_token(user) for name, user in people.items()}
        db.session.commit()
        for code in DOCS:
            documents.create_document(people["author"], code, f"Procedure {code}", "procedure")
        form_in_force(people, FORM, FORM_FIELDS)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return tokens


def setup_app(instance: Path):
    return create_app(
        {
            "QMS_INSTANCE": str(instance),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'qms.sqlite'}",
            "QMS_DOCUMENTS_REPO": str(instance / "documents.git"),
            "SECRET_KEY": SECRET,
            # Users made here sign in to the server; a cheap hash keeps the load on the work.
            "QMS_PASSWORD_METHOD": "pbkdf2:sha256:1000",
        }
    )


# -- the writers ----------------------------------------------------------------------------


def document_writer(fleet: Fleet, code: str, cycle: int) -> None:
    """Take one document round its workflow: a few saves, submit, approve, release, again."""
    author, approver = fleet.api("author"), fleet.api("approver")
    deadline = time.monotonic() + MAX_SECONDS
    saves = 0
    for n in range(MAX_OPS):
        if fleet.stop.is_set() or time.monotonic() > deadline:
            return
        status, detail = author.json("GET", f"/api/v1/documents/{code}")
        if status != 200:
            return  # the server is gone (or refused: the test reports what it answered)
        rev = open_revision(detail)
        path = f"/api/v1/documents/{code}/draft"
        if rev is None or (rev["status"] == "draft" and saves < 3):
            mark = f"{code}-{cycle}-{n}-{uuid.uuid4().hex[:8]}"
            sent = {"content": document_text(code, mark), "summary": f"Save {mark}"}
            op = fleet.send(author, Op("save", code, sent), "PUT", path, sent)
            saves += op.acknowledged
        elif rev["status"] == "draft":
            op = fleet.send(author, Op("submit", code, {}), "POST", f"{path}/submit")
            saves = 0
        elif rev["status"] == "in_review":
            sent = {"password": PASSWORD}
            op = fleet.send(approver, Op("approve", code, {}), "POST", f"{path}/approve", sent)
        else:
            op = fleet.send(approver, Op("release", code, {}), "POST", f"{path}/release", {})
        if op.status is None:
            return  # no answer: the server was killed with this request in flight


def evidence_file(mark: str) -> tuple[str, bytes, str]:
    """Return a picture of some size: binary, so any change to its bytes shows."""
    size = random.randint(1_000, 200_000)
    return f"{mark}.png", b"\x89PNG\r\n\x1a\n" + random.randbytes(size), "image/png"


def upload(fleet: Fleet, client: Http, op: Op, path: str) -> Op:
    """Send ``op.sent["file"]`` as multipart field ``file`` and keep the JSON answer."""
    fleet.ops.append(op)
    body, ctype = multipart({}, {"file": op.sent["file"]})
    op.status, _h, raw = client.request("POST", path, body, {"Content-Type": ctype})
    try:
        op.answer = json.loads(raw) if raw else None
    except ValueError:
        op.answer = raw.decode(errors="replace")
    return op


def record_writer(fleet: Fleet, cycle: int) -> None:
    """Submit records of the form, each with a file attached."""
    staff = fleet.api("staff")
    deadline = time.monotonic() + MAX_SECONDS
    for n in range(MAX_OPS):
        if fleet.stop.is_set() or time.monotonic() > deadline:
            return
        mark = f"record-{cycle}-{n}-{uuid.uuid4().hex[:8]}"
        stored = Op("attach", mark, {"file": evidence_file(mark)})
        if not upload(fleet, staff, stored, "/api/v1/records/attachments").acknowledged:
            return
        body = {"form": FORM, "values": {"title": mark, "file": stored.answer["id"]}}
        op = Op("record", mark, body | {"file": stored.sent["file"]})
        if not fleet.send(staff, op, "POST", "/api/v1/records", body).acknowledged:
            return


def nc_writer(fleet: Fleet, cycle: int) -> None:
    """Raise nonconformities, each with one or two files as evidence."""
    staff = fleet.api("staff")
    deadline = time.monotonic() + MAX_SECONDS
    for n in range(MAX_OPS):
        if fleet.stop.is_set() or time.monotonic() > deadline:
            return
        mark = f"nc-{cycle}-{n}-{uuid.uuid4().hex[:8]}"
        sent = {"title": mark, "description": f"Found {mark}.", "source": "staff_report"}
        raised = fleet.send(staff, Op("nc", mark, sent), "POST", "/api/v1/nonconformities", sent)
        if not raised.acknowledged:
            return
        number = raised.answer["number"]
        for k in range(random.randint(1, 2)):
            op = Op("evidence", number, {"file": evidence_file(f"{mark}-{k}")})
            path = f"/api/v1/nonconformities/{number}/evidence/file"
            if not upload(fleet, staff, op, path).acknowledged:
                return


def load(fleet: Fleet, cycle: int) -> list[threading.Thread]:
    """Start every writer; they stop at ``fleet.stop``, or at their bounds."""
    fleet.stop.clear()
    threads = [
        threading.Thread(target=document_writer, args=(fleet, code, cycle), daemon=True)
        for code in DOCS
    ]
    threads += [
        threading.Thread(target=writer, args=(fleet, cycle), daemon=True)
        for writer in (record_writer, nc_writer)
    ]
    for thread in threads:
        thread.start()
    return threads


def kill_under_load(server: Server, repo: Path, rng: random.Random, at_ref_move: bool) -> str:
    """Kill the server after a random 1-3 s of load or, when ``at_ref_move``, after some
    load at the first ref git moves: the moment between publishing refs and the database's
    commit, which a crash must not turn into an adopted write. Return how it was killed."""
    if not at_ref_move:
        time.sleep(rng.uniform(1.0, 3.0))
        server.kill()
        return "after a random time"
    time.sleep(rng.uniform(0.5, 1.5))
    moved = RefWatcher(repo).wait_for_move(timeout=3.0)
    server.kill()
    return "as a ref moved" if moved else "after the time allowed for a ref to move"


# -- the checks -----------------------------------------------------------------------------


def wait_for_recovery(instance: Path, timeout: float = 15) -> list:
    """Wait until git holds every managed ref where the database acknowledged it.

    With ``timeout`` 0, return at once what a crash left for recovery to mend.
    """
    app = setup_app(instance)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with app.app_context():
                left = uow.pending_recovery()
                db.session.remove()
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.25)
    finally:
        with app.app_context():
            db.engine.dispose()


def is_ancestor(repo: Path, older: str, newer: str) -> bool:
    return git(repo, "merge-base", "--is-ancestor", older, newer).returncode == 0


def check_documents(fleet: Fleet, repo: Path) -> list[str]:
    """Return every acknowledged document write that is not there, or unacknowledged one that is."""
    problems = []
    author = fleet.api("author")
    refs = dict(
        reversed(line.split(" ", 1))
        for line in git(repo, "for-each-ref", "--format=%(objectname) %(refname)").stdout.split(
            "\n"
        )
        if line
    )
    for code in DOCS:
        status, detail = author.json("GET", f"/api/v1/documents/{code}")
        assert status == 200, detail
        revisions = {r["revision"]: r for r in detail["revisions"]}
        ops = [op for op in fleet.ops if op.key == code]
        path = f"procedures/{code}.md"
        unanswered = {op.sent["content"] for op in ops if op.kind == "save" and op.status is None}
        last_acked: dict[str, str] = {}  # revision label -> its latest acknowledged save
        for op in ops:
            if not op.acknowledged:
                continue
            answered = op.answer
            if op.kind == "save":
                mine = open_revision(answered)
                label, commit = mine["revision"], mine["commit"]
                last_acked[label] = commit
                shown = git(repo, "show", f"{commit}:{path}").stdout
                if shown != op.sent["content"]:
                    problems.append(f"{code}: acknowledged save {commit[:10]} holds other text")
                now = revisions.get(label)
                if now is None:
                    problems.append(f"{code}/{label}: acknowledged save, revision gone")
                    continue
                if not is_ancestor(repo, commit, now["commit"]):
                    problems.append(
                        f"{code}/{label}: acknowledged save {commit[:10]} is not in the "
                        f"history of {now['commit'][:10]} ({now['status']})"
                    )
            else:
                # A submit, approval or release: no revision may be behind its answer.
                for rev in answered["revisions"]:
                    now = revisions.get(rev["revision"])
                    if now is None or ORDER[now["status"]] < ORDER[rev["status"]]:
                        problems.append(
                            f"{code}/{rev['revision']}: acknowledged as {rev['status']} "
                            f"({op.kind}), now {now and now['status']}"
                        )
        for label, rev in revisions.items():
            ref_draft = f"refs/heads/drafts/{code}/{label}"
            ref_tag = f"refs/tags/{code}/{label}"
            if rev["status"] in ("effective", "superseded"):
                tag = git(repo, "rev-parse", "--verify", "--quiet", f"{ref_tag}^{{commit}}")
                if tag.stdout.strip() != rev["commit"]:
                    problems.append(f"{code}/{label}: released at {rev['commit'][:10]}, no tag")
                if not is_ancestor(repo, rev["commit"], "refs/heads/main"):
                    problems.append(f"{code}/{label}: release {rev['commit'][:10]} not on main")
                if ref_draft in refs:
                    problems.append(f"{code}/{label}: released, draft branch still there")
            else:
                if refs.get(ref_draft) != rev["commit"]:
                    problems.append(
                        f"{code}/{label}: database at {rev['commit'][:10]}, "
                        f"git at {(refs.get(ref_draft) or 'nothing')[:10]}"
                    )
                if ref_tag in refs:
                    problems.append(f"{code}/{label}: tagged but {rev['status']}")
                # Between the last acknowledged save and the head there may only be saves
                # the database committed but whose answer the kill cut off.
                history = git(repo, "rev-list", "--first-parent", rev["commit"]).stdout.split()
                for commit in history if label in last_acked else ():
                    if commit == last_acked[label]:
                        break
                    text = git(repo, "show", f"{commit}:{path}").stdout
                    if text not in unanswered:
                        problems.append(f"{code}/{label}: {commit[:10]} is no save anyone sent")
                        break
    return problems


def check_dropped(instance: Path, leftovers: list) -> list[str]:
    """Return each ref a kill left unacknowledged that git or the database now holds."""
    problems = []
    app = setup_app(instance)
    with app.app_context():
        gitstore = uow.store()
        for ref, acknowledged, published in leftovers:
            now = gitstore.ref_value(ref)
            if now != acknowledged:
                problems.append(f"{ref}: at {now}, acknowledged {acknowledged}, not {published}")
        db.session.remove()
        db.engine.dispose()
    return problems


def check_records(fleet: Fleet, pages: Http) -> list[str]:
    """Return every acknowledged record whose values or attached file are not as sent."""
    problems = []
    staff = fleet.api("staff")
    for op in fleet.ops:
        if op.kind != "record" or not op.acknowledged:
            continue
        number = op.answer["number"]
        status, record = staff.json("GET", f"/api/v1/records/{number}")
        if status != 200:
            problems.append(f"record {number}: acknowledged, now answers {status}")
            continue
        if record["values"].get("title") != op.key:
            problems.append(f"record {number}: title {record['values'].get('title')!r}")
        ident = record["values"].get("file")
        status, _h, data = pages.request("GET", f"/records/attachments/{ident}")
        if status != 200 or data != op.sent["file"][1]:
            problems.append(f"record {number}: attached file #{ident} answers {status}, differs")
    return problems


def check_ncs(fleet: Fleet, pages: Http) -> list[str]:
    """Return every acknowledged NC or evidence file that is not there byte for byte."""
    problems = []
    staff = fleet.api("staff")
    numbers = {op.answer["number"]: op for op in fleet.ops if op.kind == "nc" and op.acknowledged}
    files = [op for op in fleet.ops if op.kind == "evidence" and op.acknowledged]
    for number, op in numbers.items():
        status, nc = staff.json("GET", f"/api/v1/nonconformities/{number}")
        if status != 200 or nc["title"] != op.key:
            problems.append(f"NC {number}: acknowledged, now answers {status}")
    for op in files:
        name, data, _type = op.sent["file"]
        status, nc = staff.json("GET", f"/api/v1/nonconformities/{op.key}")
        listed = [e for e in nc.get("evidence", []) if e.get("filename") == name] if nc else []
        if status != 200 or not listed:
            problems.append(f"NC {op.key}: acknowledged evidence {name} is not listed")
            continue
        if listed[0]["sha256"] != hashlib.sha256(data).hexdigest():
            problems.append(f"NC {op.key}: evidence {name} has another hash")
        status, _h, page = pages.request("GET", f"/improvement/{op.key}")
        link = re.search(rf'href="([^"]+/evidence/\d+)">{re.escape(name)}<', page.decode())
        status, _h, got = pages.request("GET", link.group(1)) if link else (None, {}, b"")
        if got != data:
            problems.append(f"NC {op.key}: evidence {name} downloads as other bytes ({status})")
    return problems


def assert_clean(
    instance: Path, fleet: Fleet, server: Server, when: str, leftovers: list = ()
) -> None:
    repo = instance / "documents.git"
    env = server_env(instance, SECRET)
    left = wait_for_recovery(instance)
    assert not left, f"{when}: refs not recovered on restart: {left}\n" + "\n".join(server.exited())
    assert not server.exited(), f"{when}: " + "\n".join(server.exited())
    fsck = git(repo, "fsck", "--strict", "--no-dangling", "--no-progress")
    assert fsck.returncode == 0 and not fsck.stdout.strip(), f"{when}: {fsck.stdout}{fsck.stderr}"
    checked = cli(env, "check")
    assert checked.returncode == 0, f"{when}: qms check: {checked.stdout}{checked.stderr}"
    pages = Http(fleet.port)
    pages.login("staff", PASSWORD)
    problems = check_dropped(instance, leftovers) + check_documents(fleet, repo)
    problems += check_records(fleet, pages) + check_ncs(fleet, pages)
    assert not problems, f"{when}:\n" + "\n".join(problems)


def save_every_draft(fleet: Fleet) -> None:
    """Bring each document to a draft and save it: no draft may be blocked."""
    author, approver = fleet.api("author"), fleet.api("approver")
    for code in DOCS:
        path = f"/api/v1/documents/{code}/draft"
        for _step in range(4):
            status, detail = author.json("GET", f"/api/v1/documents/{code}")
            rev = open_revision(detail)
            if rev is None or rev["status"] == "draft":
                break
            if rev["status"] == "in_review":
                status, detail = approver.json("POST", f"{path}/approve", {"password": PASSWORD})
            else:
                status, detail = approver.json("POST", f"{path}/release", {})
            assert status == 200, (code, detail)
        sent = {"content": document_text(code, f"final {uuid.uuid4().hex}"), "summary": "Final"}
        op = fleet.send(author, Op("save", code, sent), "PUT", path, sent)
        assert op.acknowledged, (code, op.status, op.answer)


# -- the test -------------------------------------------------------------------------------


def test_every_acknowledged_write_survives_sigkill_and_nothing_else_is_adopted(tmp_path):
    instance = tmp_path / "instance"
    logs = tmp_path / "logs"
    logs.mkdir()
    tokens = set_up(instance)
    env = server_env(instance, SECRET)
    port = free_port()
    server = Server(env, port, logs, with_worker=has_command(env, "worker"))
    fleet = Fleet(port, tokens)
    leftovers: list = []
    kills: list[str] = []
    repo = instance / "documents.git"
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    counts: Counter = Counter()
    try:
        server.start()
        for cycle in range(CYCLES):
            threads = load(fleet, cycle)
            kills.append(kill_under_load(server, repo, rng, at_ref_move=cycle > 0))
            fleet.stop.set()
            for thread in threads:
                thread.join(timeout=30)
            # What the kill left half done, for recovery to drop (a random kill seldom
            # leaves anything: the moment between publishing refs and committing is short).
            left = wait_for_recovery(instance, timeout=0)
            leftovers.extend(left)
            server.start()
            when = f"cycle {cycle}, killed {kills[-1]} (seed {seed})"
            assert_clean(instance, fleet, server, when, left)
        save_every_draft(fleet)
        assert_clean(instance, fleet, server, f"after the final saves (seed {seed})")
        # The writers only ask what the workflow allows: any refusal is a blocked draft,
        # a lost row or a fault the kill caused.
        counts.update((op.kind, op.status) for op in fleet.ops)
        refused = [op for op in fleet.ops if op.status is not None and op.status >= 400]
        assert not refused, [(op.kind, op.key, op.status, op.answer) for op in refused]
        # Each kind of write was acknowledged at least once, or the test proved little.
        kinds = {op.kind for op in fleet.ops if op.acknowledged}
        assert kinds >= {"save", "record", "nc", "evidence"}, kinds
        print(f"killed {kills}; refs left for recovery: {leftovers}; answers: {dict(counts)}")
    except BaseException:
        counts = Counter((op.kind, op.status) for op in fleet.ops)
        print(f"requests by kind and answer: {dict(counts)}")
        print(f"seed {seed}; killed {kills}; left for recovery by the kills: {leftovers}")
        print(server.log_text())
        raise
    finally:
        server.stop()
