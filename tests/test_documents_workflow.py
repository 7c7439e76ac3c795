"""The rules of the revision workflow, enforced by the services for every role."""

from datetime import timedelta

import pytest

from qms import clock
from qms.documents import services
from qms.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.gitstore import MAIN, draft_ref, tag_name
from tests.builders import approved, content, effective, in_review, new_document
from tests.conftest import PASSWORD


def test_release_puts_signed_content_on_main_with_tag_and_trailers(users):
    doc = effective(users)
    rev = services.effective_revision(doc)
    store = services.store()
    assert doc.status == "effective" and doc.current_revision == "A"
    assert store.blob_id(store.head(MAIN), doc.path) == rev.blob_id
    assert store.head(f"refs/tags/{tag_name('QP-07', 'A')}") == rev.release_commit
    info = store.commit_info(rev.release_commit)
    assert info.trailer("Document") == "QP-07"
    assert info.trailer("Revision") == "A"
    assert "Approver" in info.trailer("Approved-by")
    assert info.trailer("Content-Blob") == rev.blob_id
    # The draft branch is gone, but its saves stay in history through the merge.
    assert store.head(draft_ref("QP-07", "A")) is None
    assert rev.head_commit in info.parents


def test_one_open_draft_per_document(users):
    doc = effective(users)
    services.open_draft(users["author"], doc)
    with pytest.raises(Conflict, match="only one"):
        services.open_draft(users["author2"], doc)


def test_author_cannot_approve_own_revision(users):
    doc = in_review(users, author="approver2")
    with pytest.raises(PermissionDenied, match="author"):
        services.approve(users["approver2"], doc, PASSWORD)


def test_contributor_who_saved_the_draft_cannot_approve(users):
    doc = new_document(users)
    services.save_draft(users["author"], doc, content("QP-07"), "First")
    services.save_draft(users["approver2"], doc, content("QP-07", body="# Changed\n"), "Edit")
    services.submit(users["author"], doc)
    with pytest.raises(PermissionDenied):
        services.approve(users["approver2"], doc, PASSWORD)
    services.approve(users["approver"], doc, PASSWORD)


@pytest.mark.parametrize("username", ["staff", "author", "auditor", "admin"])
def test_only_approvers_approve(users, username):
    doc = in_review(users)
    with pytest.raises(PermissionDenied):
        services.approve(users[username], doc, PASSWORD)


@pytest.mark.parametrize("username", ["staff", "author", "auditor", "admin"])
def test_only_approvers_release(users, username):
    doc = approved(users)
    with pytest.raises(PermissionDenied):
        services.release(users[username], doc)


@pytest.mark.parametrize("username", ["staff", "auditor"])
def test_staff_and_auditors_cannot_draft(users, username):
    doc = new_document(users)
    with pytest.raises(PermissionDenied):
        services.save_draft(users[username], doc, content("QP-07"), "x")


def test_approval_needs_the_password(users):
    doc = in_review(users)
    with pytest.raises(PermissionDenied, match="password"):
        services.approve(users["approver"], doc, "wrong password")
    assert services.open_revision(doc).status == "in_review"
    assert services.open_revision(doc).signatures == []


def test_signature_names_signer_meaning_time_and_blob(users):
    doc = approved(users)
    rev = services.open_revision(doc)
    (sig,) = rev.signatures
    assert sig.user.username == "approver" and sig.meaning == "approved"
    assert sig.blob_id == rev.blob_id == services.store().blob_id(rev.head_commit, doc.path)
    assert sig.signed_at is not None


def test_submitted_content_cannot_change(users):
    doc = in_review(users)
    with pytest.raises(Conflict):
        services.save_draft(users["author"], doc, content("QP-07", body="# Sneaky\n"), "x")


def test_nothing_changes_after_release_except_by_new_revision(users):
    doc = effective(users)
    first = services.effective_revision(doc)
    services.save_draft(users["author"], doc, content("QP-07", body="# Revised\n"), "Revise")
    rev = services.open_revision(doc)
    assert rev.label == "B" and rev.status == "draft"
    # Revision A is untouched: same content, same commit on its tag.
    assert "This procedure controls documents." in services.revision_content(first)
    assert services.store().head("refs/tags/QP-07/A") == first.release_commit


def test_reject_returns_to_draft_and_keeps_text(users):
    text = content("QP-07", body="# Kept\n\nEvery word kept.\n")
    doc = in_review(users, text=text)
    with pytest.raises(ValidationFailed):
        services.reject(users["approver"], doc, "  ")
    services.reject(users["approver"], doc, "Clause 7.5.3 is missing")
    rev = services.open_revision(doc)
    assert rev.status == "draft"
    assert services.revision_content(rev) == text
    assert rev.comments[-1].kind == "rejection"


def test_rejection_voids_earlier_signatures(users):
    doc = approved(users)
    services.reject(users["approver"], doc, "Found a typo after signing")
    assert services.open_revision(doc).signatures == []


def test_release_on_future_date_becomes_effective_by_itself(users):
    effective(users)
    doc = services.get_document("QP-07")
    services.save_draft(users["author"], doc, content("QP-07", body="# B\n"), "Revision B")
    services.submit(users["author"], doc)
    services.approve(users["approver"], doc, PASSWORD)
    later = clock.today() + timedelta(days=10)
    rev = services.release(users["approver"], doc, later)
    assert rev.status == "scheduled" and doc.current_revision == "A"
    assert services.apply_due_releases(clock.today()) == []
    done = services.apply_due_releases(later)
    assert [r.label for r in done] == ["B"]
    db.session.refresh(doc)
    assert doc.current_revision == "B" and doc.effective_date == later
    assert services.get_revision(doc, "A").status == "superseded"


def test_release_date_cannot_be_in_the_past(users):
    doc = approved(users)
    with pytest.raises(ValidationFailed, match="past"):
        services.release(users["approver"], doc, clock.today() - timedelta(days=1))


def test_release_supersedes_previous_revision(users):
    doc = effective(users)
    effective(users, text=content("QP-07", body="# Second\n"))
    assert [r.status for r in doc.revisions] == ["superseded", "effective"]
    assert doc.current_revision == "B"


def test_obsolete_needs_reason_and_keeps_document_retrievable(users):
    doc = effective(users)
    with pytest.raises(ValidationFailed):
        services.obsolete(users["approver"], doc, "")
    with pytest.raises(PermissionDenied):
        services.obsolete(users["author"], doc, "Replaced")
    services.obsolete(users["approver"], doc, "Merged into QP-01")
    store = services.store()
    assert doc.status == "obsolete" and doc.obsolete_reason == "Merged into QP-01"
    assert store.read(store.head(MAIN), doc.path) is None
    rev = services.get_revision(doc, "A")
    assert rev.status == "obsolete"
    assert "controls documents" in services.revision_content(rev)
    with pytest.raises(Conflict):
        services.open_draft(users["author"], doc)


def test_stale_edit_from_second_tab_is_refused(users):
    doc = new_document(users)
    rev = services.save_draft(users["author"], doc, content("QP-07"), "First")
    opened_at = rev.head_commit
    services.save_draft(
        users["author2"], doc, content("QP-07", body="# Tab one\n"), "Tab 1", base_commit=opened_at
    )
    with pytest.raises(Conflict, match="Someone saved"):
        services.save_draft(
            users["author"],
            doc,
            content("QP-07", body="# Tab two\n"),
            "Tab 2",
            base_commit=opened_at,
        )
    assert "Tab one" in services.revision_content(services.open_revision(doc))


def test_every_save_is_a_commit_on_the_draft_branch(users):
    doc = new_document(users)
    services.save_draft(users["author"], doc, content("QP-07"), "One")
    services.save_draft(users["author"], doc, content("QP-07", body="# Two\n"), "Two")
    log = services.store().log(draft_ref("QP-07", "A"))
    assert [c.subject for c in log[:2]] == ["QP-07 revision A: Two", "QP-07 revision A: One"]
    assert log[0].trailer("Document") == "QP-07"


def test_periodic_review_resets_due_date_with_signature(users):
    doc = effective(users)
    doc.next_review_due = clock.today() - timedelta(days=3)
    db.session.commit()
    assert doc in db.session.scalars(services.list_documents(due_for_review=True)).all()
    with pytest.raises(PermissionDenied):
        services.review_no_change(users["approver"], doc, "wrong")
    services.review_no_change(users["approver"], doc, PASSWORD, "Still fit")
    assert doc.next_review_due == services.add_months(clock.today(), 12)
    assert services.effective_revision(doc).signatures[-1].meaning == "periodic_review"


def test_acknowledgement_counts_staff_concerned(users):
    doc = effective(users, department="Quality Office")
    rev = services.effective_revision(doc)
    # Quality Office: staff2, author, approver, approver2.
    assert services.acknowledgement_counts(rev) == (0, 4)
    assert doc in services.reading_list(users["staff2"])
    assert doc not in services.reading_list(users["staff"])
    services.acknowledge(users["staff2"], doc)
    services.acknowledge(users["staff2"], doc)
    assert services.acknowledgement_counts(rev) == (1, 4)
    assert doc not in services.reading_list(users["staff2"])


def test_new_revision_must_be_acknowledged_again(users):
    doc = effective(users, department="Quality Office")
    services.acknowledge(users["staff2"], doc)
    effective(users, text=content("QP-07", body="# B\n"))
    assert doc in services.reading_list(users["staff2"])


def test_change_request_flow(users):
    doc = effective(users)
    cr = services.raise_change_request(
        users["staff"], "Fix step 3", "Out of date", ["QP-07"], "NC-2026-0001"
    )
    assert cr.number == f"CR-{clock.today().year}-0001" and cr.status == "open"
    with pytest.raises(ValidationFailed, match="not accepted"):
        services.open_draft(users["author"], doc, change_request=cr.number)
    with pytest.raises(PermissionDenied):
        services.decide_change_request(users["author"], cr, True)
    with pytest.raises(ValidationFailed):
        services.decide_change_request(users["approver"], cr, False, "")
    services.decide_change_request(users["approver"], cr, True)
    services.open_draft(users["author"], doc, change_request=cr.number)
    effective(users, text=content("QP-07", body="# Fixed\n"))
    assert cr.status == "implemented"
    rev = services.effective_revision(doc)
    assert services.store().commit_info(rev.release_commit).trailer("Change-Request") == cr.number


def test_document_hierarchy_is_enforced(users):
    new_document(users, "QM-01", "Manual", "manual")
    new_document(users, "QP-01", "Procedure", "procedure", parent="QM-01")
    with pytest.raises(ValidationFailed, match="cannot sit under"):
        new_document(users, "WI-01", "Instruction", "work_instruction", parent="QM-01")
    new_document(users, "WI-01", "Instruction", "work_instruction", parent="QP-01")
    assert [(d.code, depth) for d, depth in services.tree()] == [
        ("QM-01", 0),
        ("QP-01", 1),
        ("WI-01", 2),
    ]


def _hierarchy(users):
    new_document(users, "QM-01", "Manual", "manual")
    new_document(users, "QP-01", "Procedure", "procedure", parent="QM-01")
    new_document(users, "QP-02", "Procedure two", "procedure", parent="QM-01")
    new_document(users, "WI-01", "Instruction", "work_instruction", parent="QP-01")
    new_document(users, "WI-02", "Instruction two", "work_instruction", parent="QP-01")
    new_document(users, "RF-01", "Form", "record_form", parent="WI-01")
    db.session.commit()


def test_hierarchy_opens_one_level_below_the_top_and_the_rest_on_demand(users):
    _hierarchy(users)
    (manual,) = services.collapsed_tree()
    assert manual.doc.code == "QM-01" and manual.count == 2
    assert [(n.doc.code, n.count, n.children) for n in manual.children] == [
        ("QP-01", 2, None),
        ("QP-02", 0, None),
    ]
    (manual,) = services.collapsed_tree(["QP-01", "WI-01"])
    qp01 = manual.children[0]
    assert [(n.doc.code, n.count) for n in qp01.children] == [("WI-01", 1), ("WI-02", 0)]
    assert [n.doc.code for n in qp01.children[0].children] == ["RF-01"]
    row, children = services.subtree("WI-01")
    assert row.code == "WI-01" and [n.doc.code for n in children] == ["RF-01"]
    with pytest.raises(NotFound):
        services.subtree("NOPE")


def test_hierarchy_page_leaves_collapsed_subtrees_out_and_serves_them_apart(app, users):
    _hierarchy(users)
    client = app.test_client()
    client.post("/auth/login", data={"username": "staff", "password": PASSWORD})
    page = client.get("/documents/tree").get_data(as_text=True)
    assert "QP-01" in page and "QP-02" in page and "2 documents below" in page
    assert "WI-01" not in page and "RF-01" not in page
    assert 'data-subtree="/documents/tree/QP-01"' in page
    fragment = client.get("/documents/tree/QP-01").get_data(as_text=True)
    assert "WI-01" in fragment and "WI-02" in fragment and "RF-01" not in fragment
    assert "<html" not in fragment
    opened = client.get("/documents/tree?open=QP-01").get_data(as_text=True)
    assert "WI-01" in opened and "RF-01" not in opened
    assert client.get("/documents/tree/NOPE").status_code == 404


def test_duplicate_code_is_refused_case_insensitively(users):
    new_document(users)
    with pytest.raises(Conflict, match="already exists"):
        new_document(users, "qp-07")


def test_revision_labels_run_past_z():
    labels = [services.revision_label(n) for n in (0, 1, 25, 26, 27, 51, 52, 701, 702)]
    assert labels == ["A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA"]


def test_reading_list_is_limited_and_counted_in_sql(users):
    for n in range(3):
        effective(users, f"QP-1{n}", department="Quality Office", text=None)
    effective(users, "QP-20", department="Service Hall", text=None)
    staff2 = users["staff2"]
    assert [d.code for d in services.reading_list(staff2)] == ["QP-10", "QP-11", "QP-12"]
    assert [d.code for d in services.reading_list(staff2, limit=2)] == ["QP-10", "QP-11"]
    assert services.reading_count(staff2) == 3
    services.acknowledge(staff2, services.get_document("QP-11"))
    assert services.reading_count(staff2) == 2
    assert services.reading_count(users["staff"]) == 1


def test_acknowledge_selected_records_each_as_a_single_acknowledgement(users):
    from qms.trail import events_for

    for code in ("QP-10", "QP-11"):
        effective(users, code, department="Quality Office", text=None)
    db.session.commit()
    result = services.acknowledge_selected(users["staff2"], ["QP-10", "QP-11", "QP-10"])
    assert [d.code for d in result.done] == ["QP-10", "QP-11"] and result.refused == []
    assert services.reading_count(users["staff2"]) == 0
    for code in ("QP-10", "QP-11"):
        events = [e.action for e in events_for("revision", f"{code}/A")]
        assert events.count("revision.acknowledged") == 1


def test_acknowledge_selected_refuses_what_the_user_may_not_acknowledge(users):
    effective(users, "QP-10", department="Quality Office", text=None)
    effective(users, "QP-20", department="Service Hall", text=None)
    in_review(users, "QP-30", department="Quality Office")
    db.session.commit()
    result = services.acknowledge_selected(users["staff2"], ["QP-10", "QP-20", "QP-30", "NOPE"])
    assert [d.code for d in result.done] == ["QP-10"]
    assert result.refused == [
        "QP-20 is not distributed to your department.",
        "QP-30 has no effective revision to acknowledge.",
        "There is no document NOPE.",
    ]
    assert services.reading_count(users["staff"]) == 1  # QP-20 still unread by Service Hall
    with pytest.raises(ValidationFailed):
        services.acknowledge_selected(users["staff2"], [])


def test_home_page_lists_approvals_before_reading_and_acknowledges_the_ticked(app, users):
    effective(users, "QP-10", department="Quality Office", text=None)
    effective(users, "QP-11", department="Quality Office", text=None)
    in_review(users, "QP-12", department="Quality Office")
    db.session.commit()
    client = app.test_client()
    client.post("/auth/login", data={"username": "approver", "password": PASSWORD})
    page = client.get("/").get_data(as_text=True)
    assert page.index("Waiting for your approval") < page.index("To read and acknowledge")
    assert 'name="code" value="QP-10"' in page and 'name="code" value="QP-11"' in page
    response = client.post("/documents/acknowledge", data={"code": ["QP-11", "QP-12"]})
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "your acknowledgement of QP-11 is recorded" in page
    assert "QP-12 has no effective revision to acknowledge." in page
    assert 'value="QP-11"' not in page and 'value="QP-10"' in page
    client.post("/documents/acknowledge", data={})
    assert "Select at least one document to acknowledge." in client.get("/").get_data(True)


def test_acknowledgements_count_only_active_readers_in_the_distribution(users):
    doc = effective(users, department="Quality Office")
    rev = services.effective_revision(doc)
    services.acknowledge(users["staff2"], doc)
    services.acknowledge(users["staff"], doc)  # Service Hall: not among the readers
    assert services.acknowledgement_counts(rev) == (1, 4)
    users["staff2"].active = False
    db.session.commit()
    assert services.acknowledgement_counts(rev) == (0, 3)


def test_released_html_is_kept_in_the_process_and_not_read_from_git_again(users, monkeypatch):
    from qms.documents import rendering

    doc = effective(users, text=content("QP-07", body="# Kept\n\nOnce.\n"))
    rev = services.effective_revision(doc)
    rendering._released_html.cache_clear()
    first = rendering.html_for(rev)
    assert "Kept" in first

    def no_git(*args):
        raise AssertionError("read from git again")

    monkeypatch.setattr(type(services.store()), "read_blob", no_git)
    assert rendering.html_for(rev) == first


def test_open_draft_offers_only_accepted_change_requests_naming_the_document(app, users):
    effective(users)
    effective(users, "QP-08", text=None)
    mine = services.raise_change_request(users["staff"], "Fix QP-07", "Old", ["QP-07"])
    other = services.raise_change_request(users["staff"], "Fix QP-08", "Old", ["QP-08"])
    for cr in (mine, other):
        services.decide_change_request(users["approver"], cr, True, "")
    db.session.commit()
    client = app.test_client()
    client.post("/auth/login", data={"username": "author", "password": PASSWORD})
    page = client.get("/documents/QP-07").get_data(as_text=True)
    assert f"{mine.number} Fix QP-07" in page and other.number not in page


def test_acknowledgement_totals_sum_the_counts_of_every_effective_document(users):
    effective(users, "QP-10", department="Quality Office", text=None)
    effective(users, "QP-11", department="Service Hall", distribution=["Quality Office"])
    everyone = effective(users, "QP-12", department="Service Hall", text=None)
    everyone.distribute_to_all = True
    in_review(users, "QP-13", department="Service Hall")
    for username in ("staff", "staff2", "author", "auditor"):
        for code in ("QP-10", "QP-11", "QP-12"):
            services.acknowledge(users[username], services.get_document(code))
    users["author"].active = False
    db.session.commit()
    done = expected = 0
    for doc in db.session.scalars(services.list_documents(status="effective")):
        acked, should = services.acknowledgement_counts(services.effective_revision(doc))
        done, expected = done + acked, expected + should
    assert services.acknowledgement_totals() == (done, expected)
    # QP-10: 1 of 3 in the Quality Office; QP-11: 2 of 5 there and in the Service Hall;
    # QP-12: 3 of all 7 active (the inactive author and the draft QP-13 do not count).
    assert (done, expected) == (1 + 2 + 3, 3 + 5 + 7)
