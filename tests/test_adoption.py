"""Adopting standards from an upstream QMS repository: subscribe, adopt, follow its changes."""

import threading

import pytest
from flask import has_request_context

from qms import trail
from qms.adoption import services as adoption
from qms.documents import services
from qms.documents.models import Document
from qms.errors import Conflict, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.gitstore import GitStore, Person, format_message
from tests.conftest import PASSWORD

PROVINCE = Person("Province Quality Office", "quality@province.example")

QP07_A = """---
code: QP-07
title: 文件控制程序
type: procedure
clauses: ['7.5']
---

# 文件控制程序

## 目的

确保文件得到有效控制。

## 职责

质量办公室负责文件的编号和发放。
"""

QP07_B = QP07_A.replace("负责文件的编号和发放。", "负责文件的编号、发放和回收。").replace(
    "## 职责", "## 范围\n\n适用于全部受控文件。\n\n## 职责"
)


class Upstream:
    """Another installation's document repository: main plus a tag per released revision."""

    def __init__(self, path):
        self.path = path
        self.store = GitStore.init(path)

    def release(self, code, label, text, title="文件控制程序", doc_type="procedure"):
        blob = self.store.write_blob(text.encode("utf-8"))
        message = format_message(
            f"Release {code} revision {label}: {title}",
            "",
            [
                ("Document", code),
                ("Revision", label),
                ("Title", title),
                ("Type", doc_type),
                ("Effective-Date", "2026-03-01"),
                ("Content-Blob", blob),
            ],
        )
        main = self.store.head("refs/heads/main")
        commit = self.store.build_commit(main, {f"procedures/{code}.md": blob}, message, PROVINCE)
        tag = self.store.build_tag(f"{code}/{label}", commit, f"{code} revision {label}", PROVINCE)
        # Another installation's repository: published directly, outside this one's units.
        self.store.publish_refs(
            [("refs/heads/main", commit, main), (f"refs/tags/{code}/{label}", tag, None)]
        )
        return commit


@pytest.fixture
def upstream(tmp_path):
    up = Upstream(tmp_path / "province.git")
    up.release("QP-07", "A", QP07_A)
    return up


@pytest.fixture
def sub(users, upstream):
    return adoption.subscribe(users["admin"], "province", str(upstream.path))


def release(users, doc):
    services.submit(users["author"], doc)
    services.approve(users["approver"], doc, PASSWORD)
    services.release(users["approver"], doc)


def draft_trailers(doc, label):
    rev = services.get_revision(doc, label)
    return services.store().commit_info(rev.head_commit).trailers


# -- subscribing -----------------------------------------------------------------------


def test_admin_subscribes_by_path_and_sees_upstream_documents(sub, upstream):
    docs = adoption.upstream_documents(sub)
    assert [(d.code, [r.label for r in d.revisions]) for d in docs] == [("QP-07", ["A"])]
    assert docs[0].latest.title == "文件控制程序"
    assert sub.fetched_commit == upstream.store.head("refs/heads/main")


@pytest.mark.parametrize("username", ["staff", "author", "approver", "auditor"])
def test_only_an_admin_subscribes(users, upstream, username):
    with pytest.raises(PermissionDenied):
        adoption.subscribe(users[username], "province", str(upstream.path))


@pytest.mark.parametrize(
    "url",
    [
        "",
        "--upload-pack=touch /tmp/x",
        "relative/path",
        "ext::sh -c touch% /tmp/x",
        "/no/such/repo",
    ],
)
def test_subscribe_refuses_what_is_not_a_repository(users, url):
    with pytest.raises(ValidationFailed) as exc:
        adoption.subscribe(users["admin"], "province", url)
    assert exc.value.field == "url"


def test_subscribe_reports_a_repository_that_cannot_be_fetched(users, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValidationFailed) as exc:
        adoption.subscribe(users["admin"], "province", str(tmp_path / "empty"))
    assert exc.value.field == "url"


def test_a_refused_subscription_leaves_nothing_fetched(users, upstream, tmp_path):
    # Tags but no main: the fetch brings the tags, then the subscription is refused.
    bare = Upstream(tmp_path / "tags-only.git")
    bare.release("QP-07", "A", QP07_A)
    bare.store.git.update_ref("-d", "refs/heads/main")
    with pytest.raises(ValidationFailed):
        adoption.subscribe(users["admin"], "province", str(bare.path))
    assert services.store().refs("refs/upstream/") == {}
    assert adoption.subscriptions() == [] and trail.events_for("upstream", "province") == []
    # The name is free again, and holds only what the right repository offers.
    sub = adoption.subscribe(users["admin"], "province", str(upstream.path))
    assert [d.code for d in adoption.upstream_documents(sub)] == ["QP-07"]


def test_upstream_tags_never_mix_with_local_tags(sub):
    assert services.store().head("refs/tags/QP-07/A") is None
    assert services.store().head("refs/upstream/province/tags/QP-07/A") is not None


# -- adopting --------------------------------------------------------------------------


def test_adopting_makes_a_local_draft_with_provenance_in_the_trailers(users, sub, upstream):
    rev = adoption.adopt(users["author"], sub, "QP-07", "A")
    doc = rev.document
    assert (doc.code, doc.title, rev.status) == ("QP-07", "文件控制程序", "draft")
    assert services.revision_content(rev) == QP07_A
    trailers = draft_trailers(doc, "A")
    assert trailers["Upstream-Repository"] == [str(upstream.path)]
    assert trailers["Upstream-Revision"] == ["QP-07/A"]
    assert trailers["Upstream-Commit"] == [upstream.store.head("refs/tags/QP-07/A")]
    release(users, doc)
    info = services.store().commit_info(services.effective_revision(doc).release_commit)
    assert info.trailer("Upstream-Revision") == "QP-07/A"
    assert info.trailer("Upstream-Commit") == upstream.store.head("refs/tags/QP-07/A")
    assert info.trailer("Approved-by").startswith("Approver")


def test_adopting_under_another_code_rewrites_only_the_code(users, sub):
    rev = adoption.adopt(users["author"], sub, "QP-07", "A", local_code="CX-QP-07")
    assert rev.document.code == "CX-QP-07"
    assert services.revision_content(rev) == QP07_A.replace("code: QP-07", "code: CX-QP-07")


def test_adopting_into_a_local_document_makes_its_next_revision(users, sub):
    doc = services.create_document(users["author"], "QP-20", "Local control", "procedure")
    services.save_draft(
        users["author"], doc, "---\ncode: QP-20\ntitle: Local\n---\n\n# Local\n", "First"
    )
    release(users, doc)
    rev = adoption.adopt(users["author"], sub, "QP-07", "A", into="QP-20")
    assert (rev.document.code, rev.label) == ("QP-20", "B")
    assert "code: QP-20" in services.revision_content(rev)
    assert [(a.revision_label, a.upstream_revision) for a in adoption.provenance("QP-20")] == [
        ("B", "A")
    ]


def test_adopting_into_a_document_with_an_open_draft_is_refused(users, sub):
    doc = services.create_document(users["author"], "QP-20", "Local control", "procedure")
    services.save_draft(users["author"], doc, "---\ncode: QP-20\n---\n\n# Local\n", "First")
    with pytest.raises(Conflict):
        adoption.adopt(users["author"], sub, "QP-07", "A", into="QP-20")


def test_adopting_into_a_document_of_another_type_is_refused(users, sub):
    services.create_document(users["author"], "WI-01", "Counter work", "work_instruction")
    with pytest.raises(ValidationFailed) as exc:
        adoption.adopt(users["author"], sub, "QP-07", "A", into="WI-01")
    assert exc.value.field == "into"


def test_a_refused_adoption_leaves_no_document_draft_or_trail_event(users, upstream, tmp_path):
    upstream.release("QP-09", "A", QP07_A.replace("QP-07", "QP-09") + "\n<script>x()</script>\n")
    sub = adoption.subscribe(users["admin"], "province", str(upstream.path))
    # The document is created first; its draft's text is refused after it.
    with pytest.raises(ValidationFailed):
        adoption.adopt(users["author"], sub, "QP-09", "A")
    assert db.session.scalars(db.select(Document)).all() == []
    assert services.store().refs("refs/heads/drafts/") == {}
    assert trail.events_for("document", "QP-09") == [] and adoption.provenance("QP-09") == []
    assert trail.verify() == []


@pytest.mark.parametrize("username", ["staff", "auditor"])
def test_staff_and_auditors_cannot_adopt(users, sub, username):
    with pytest.raises(PermissionDenied):
        adoption.adopt(users[username], sub, "QP-07", "A")


# -- following upstream: two repositories ----------------------------------------------


def test_upstream_revision_raises_a_change_request_with_the_upstream_redline(
    users, sub, upstream, client, auth
):
    doc = adoption.adopt(users["author"], sub, "QP-07", "A").document
    release(users, doc)
    assert adoption.sync(users["admin"]) == []  # nothing new upstream yet

    new_commit = upstream.release("QP-07", "B", QP07_B)
    [change] = adoption.sync(users["admin"])
    cr = services.get_change_request(change.change_request)
    assert cr.status == "open" and [d.code for d in cr.documents] == ["QP-07"]
    assert (change.from_revision, change.to_revision, change.to_commit) == ("A", "B", new_commit)
    result = adoption.change_redline(change)
    inserted = "".join(p.text for b in result.blocks for p in b.pieces if p.kind == "ins")
    assert "适用于全部受控文件。" in inserted and "回收" in inserted
    assert result.words_removed >= 1  # "和" before 发放 became "、"
    assert adoption.sync(users["admin"]) == []  # raised once only

    auth.login("approver")
    page = client.get(f"/documents/change-requests/{cr.number}").get_data(as_text=True)
    assert "<ins>适用于全部受控文件。</ins>" in page

    services.decide_change_request(users["approver"], cr, accept=True)
    rev = adoption.take_in(users["author"], change)
    assert rev.label == "B" and rev.change_request.number == cr.number
    assert services.revision_content(rev) == QP07_B
    assert draft_trailers(doc, "B")["Upstream-Revision"] == ["QP-07/B"]
    release(users, doc)
    assert cr.status == "implemented"
    assert [a.upstream_revision for a in adoption.provenance("QP-07")] == ["B", "A"]


def test_a_declined_upstream_change_cannot_be_taken_in(users, sub, upstream):
    doc = adoption.adopt(users["author"], sub, "QP-07", "A").document
    release(users, doc)
    upstream.release("QP-07", "B", QP07_B)
    [change] = adoption.sync(users["admin"])
    cr = services.get_change_request(change.change_request)
    services.decide_change_request(users["approver"], cr, accept=False, note="Local rule differs")
    with pytest.raises(Conflict):
        adoption.take_in(users["author"], change)


def test_upstream_sync_command(users, sub, upstream, runner):
    doc = adoption.adopt(users["author"], sub, "QP-07", "A").document
    release(users, doc)
    upstream.release("QP-07", "B", QP07_B)
    result = runner.invoke(args=["qms", "upstream-sync"])
    assert result.exit_code == 0, result.output
    assert "QP-07 <- QP-07 A -> B" in result.output
    result = runner.invoke(args=["qms", "upstream-sync"])
    assert "No upstream changes" in result.output


def test_sync_all_runs_without_a_request_as_the_first_admin(app, users, sub, upstream):
    doc = adoption.adopt(users["author"], sub, "QP-07", "A").document
    release(users, doc)
    upstream.release("QP-07", "B", QP07_B)

    def job():
        # As the job runner calls it: another thread, no request, nobody signed in.
        with app.app_context():
            assert not has_request_context()
            runs.append([c.change_request for c in adoption.sync_all()])

    runs = []
    for _ in range(2):
        worker = threading.Thread(target=job)
        worker.start()
        worker.join()
    [[number], again] = runs
    assert services.get_change_request(number).raised_by.username == "admin"
    assert again == []


def test_sync_all_without_an_admin_is_refused(app, users):
    def job():
        with app.app_context():
            try:
                adoption.sync_all("author")
            except Conflict as exc:
                refusals.append(exc.message)

    refusals = []
    worker = threading.Thread(target=job)
    worker.start()
    worker.join()
    assert refusals == [
        "No active administrator to raise the change requests of the upstream sync."
    ]


def test_one_unreachable_upstream_does_not_hold_back_the_others(users, sub, upstream, tmp_path):
    other = Upstream(tmp_path / "city.git")
    other.release("QP-08", "A", QP07_A.replace("QP-07", "QP-08"))
    city = adoption.subscribe(users["admin"], "city", str(other.path))
    doc = adoption.adopt(users["author"], city, "QP-08", "A").document
    release(users, doc)
    other.release("QP-08", "B", QP07_B.replace("QP-07", "QP-08"))
    import shutil

    shutil.rmtree(upstream.path)
    [change] = adoption.sync(users["admin"])
    assert change.document_code == "QP-08"
    assert adoption.get_subscription("province").last_error
    assert adoption.get_subscription("city").last_error is None


def test_an_unreachable_upstream_is_reported_not_raised(users, sub, upstream):
    import shutil

    shutil.rmtree(upstream.path)
    assert adoption.sync(users["admin"]) == []
    assert sub.last_error


def test_an_ended_upstream_is_no_longer_followed_until_resumed(users, sub, upstream):
    doc = adoption.adopt(users["author"], sub, "QP-07", "A").document
    release(users, doc)
    with pytest.raises(PermissionDenied):
        adoption.end(users["author"], sub)
    adoption.end(users["admin"], sub)
    assert not sub.active
    with pytest.raises(Conflict):
        adoption.end(users["admin"], sub)

    upstream.release("QP-07", "B", QP07_B)
    assert adoption.sync(users["admin"]) == []  # no fetch, no change request
    for refused in (
        lambda: adoption.sync(users["admin"], sub),
        lambda: adoption.fetch(users["admin"], sub),
        lambda: adoption.adopt(users["author"], sub, "QP-07", "A", local_code="QP-70"),
    ):
        with pytest.raises(Conflict):
            refused()
    # What was adopted keeps where it came from.
    assert [a.upstream_revision for a in adoption.provenance("QP-07")] == ["A"]

    adoption.resume(users["admin"], sub)
    [change] = adoption.sync(users["admin"])
    assert (change.from_revision, change.to_revision) == ("A", "B")
    actions = [e.action for e in trail.events_for("upstream", "province")]
    assert actions == ["upstream.subscribed", "upstream.ended", "upstream.resumed"]


def test_admin_stops_and_resumes_following_in_the_browser(users, sub, client, auth):
    auth.login("author")
    assert client.post("/adoption/province/end").status_code == 302
    assert sub.active  # refused: only an admin
    auth.logout()
    auth.login("admin")
    page = client.post("/adoption/province/end", follow_redirects=True).get_data(as_text=True)
    assert "province is no longer followed." in page and "Follow again" in page
    assert "/adoption/province/QP-07/A" not in page  # no adopting from it
    assert "not followed" in client.get("/adoption/").get_data(as_text=True)
    page = client.post("/adoption/province/resume", follow_redirects=True).get_data(as_text=True)
    assert "province is followed again." in page and "/adoption/province/QP-07/A" in page


# -- pages -----------------------------------------------------------------------------


def test_admin_subscribes_in_the_browser_and_keeps_input_on_error(users, upstream, client, auth):
    auth.login("admin")
    response = client.post("/adoption/", data={"name": "province", "url": "relative/x"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'value="relative/x"' in html
    response = client.post("/adoption/", data={"name": "province", "url": str(upstream.path)})
    assert response.status_code == 302
    assert "文件控制程序" in client.get("/adoption/province/").get_data(as_text=True)


def test_adopt_page_and_provenance_on_the_document_page(users, sub, client, auth):
    auth.login("author")
    page = client.get("/adoption/province/QP-07/A")
    assert page.status_code == 200 and "质量办公室" in page.get_data(as_text=True)
    response = client.post(
        "/adoption/province/QP-07/A", data={"mode": "new", "local_code": "", "parent": ""}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    detail = client.get("/documents/QP-07").get_data(as_text=True)
    assert 'id="provenance"' in detail and "QP-07/A" in detail


def test_adopt_form_shows_the_refusal_beside_the_field(users, sub, client, auth):
    auth.login("author")
    response = client.post("/adoption/province/QP-07/A", data={"mode": "revise", "into": ""})
    assert response.status_code == 200
    assert "Choose the local document to revise." in response.get_data(as_text=True)


@pytest.mark.parametrize("username", ["staff", "auditor"])
def test_staff_cannot_open_the_adoption_pages(users, sub, client, auth, username):
    auth.login(username)
    assert client.get("/adoption/").status_code == 403
    assert client.get("/adoption/province/").status_code == 403


def test_take_in_from_the_change_request_page(users, sub, upstream, client, auth):
    doc = adoption.adopt(users["author"], sub, "QP-07", "A").document
    release(users, doc)
    upstream.release("QP-07", "B", QP07_B)
    [change] = adoption.sync(users["admin"])
    services.decide_change_request(
        users["approver"], services.get_change_request(change.change_request), accept=True
    )
    auth.login("author")
    page = client.get(f"/documents/change-requests/{change.change_request}")
    assert f"/adoption/changes/{change.id}/take-in" in page.get_data(as_text=True)
    response = client.post(f"/adoption/changes/{change.id}/take-in")
    assert response.status_code == 302
    db.session.expire_all()
    assert services.open_revision(services.get_document("QP-07")).label == "B"
