"""The admin import pages, the progress endpoint, the media route and the mirror."""

import io
import subprocess
import threading
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import select

from qms import jobs
from qms.documents import release as documents_release
from qms.documents import services
from qms.extensions import db
from qms.gitstore import MAIN, GitStore
from qms.models import utcnow
from qms.transfer import importing, mirror
from qms.transfer.models import ImportJob, MirrorPush
from tests import builders
from tests.test_transfer_import import PNG


def drain(app) -> None:
    """Run every job waiting in the queue here, as the worker would."""
    huey = jobs.queue(app).huey
    while (task := huey.dequeue()) is not None:
        huey.execute(task)


def run_scheduled(huey) -> list:
    """Run the retries huey scheduled, as its scheduler does once their time has come."""
    tasks = huey.scheduled()
    latest = max((t.eta for t in tasks), default=None)
    due = huey.read_schedule(latest) if latest else []
    for task in due:
        huey.execute(task, timestamp=task.eta)
    return due


def wait_for(job_id: int) -> ImportJob:
    drain(current_app._get_current_object())
    db.session.expire_all()
    return db.session.get(ImportJob, job_id)


def html_doc(title: str, image: bool = False) -> bytes:
    import base64

    img = f"<img alt='seal' src='data:image/png;base64,{base64.b64encode(PNG).decode()}'>"
    return f"<h1>{title}</h1><p>Text.</p>{img if image else ''}".encode()


@pytest.mark.parametrize("role", ["staff", "author", "approver", "auditor"])
@pytest.mark.parametrize("url", ["/transfer/", "/transfer/import"])
def test_only_admins_see_the_import_and_mirror_pages(client, auth, users, role, url):
    auth.login(role)
    assert client.get(url).status_code == 403
    auth.logout()
    auth.login("admin")
    assert client.get(url).status_code == 200


def test_upload_dry_run_then_import_with_progress(client, auth, users):
    auth.login("admin")
    response = client.post(
        "/transfer/import",
        data={
            "files": [
                (io.BytesIO(html_doc("Control", image=True)), "QP-07 Document control.html"),
                (io.BytesIO(b"# Filing\n\n- one\n"), "WI-07-01 Filing.md"),
            ],
            "pattern": "",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    job = wait_for(job_id)
    assert job.status == "checked" and job.problem_count == 0
    assert services.list_documents() is not None
    assert db.session.scalar(select(db.func.count()).select_from(ImportJob)) == 1
    page = client.get(f"/transfer/import/{job_id}").get_data(as_text=True)
    assert "QP-07" in page and "WI-07-01" in page and "Import" in page

    assert client.post(f"/transfer/import/{job_id}/run").status_code == 302
    progress = client.get(f"/transfer/import/{job_id}/progress").get_json()
    assert set(progress) == {"status", "stage", "done", "total", "finished"}
    job = wait_for(job_id)
    assert job.status == "done", job.error
    final = client.get(f"/transfer/import/{job_id}/progress").get_json()
    assert final["finished"] and final["done"] == final["total"] == 2
    page = client.get(f"/transfer/import/{job_id}").get_data(as_text=True)
    assert "2 documents were imported" in page

    # The rendered document shows its image, served from the repository.
    detail = client.get("/documents/QP-07").get_data(as_text=True)
    assert 'src="/documents/QP-07/media/' in detail
    src = detail.split('src="/documents/QP-07/media/', 1)[1].split('"', 1)[0]
    image = client.get(f"/documents/QP-07/media/{src.replace('&amp;', '&')}")
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.data == PNG
    # And the original file can be fetched by anyone who may read the document.
    original = page.split('href="/transfer/originals/', 1)[1].split('"', 1)[0]
    auth.logout()
    auth.login("staff")
    assert client.get(f"/transfer/originals/{original}").data.startswith(b"<h1>")
    # The document page links it too.
    detail = client.get("/documents/QP-07").get_data(as_text=True)
    assert f'href="/transfer/originals/{original}"' in detail
    assert "QP-07 Document control.html" in detail


def test_progress_moves_while_the_batch_is_recorded(client, auth, users, monkeypatch):
    """The bar reads the progress file while the import's transaction holds the database."""
    auth.login("admin")
    files = [(io.BytesIO(html_doc(f"Doc {n}")), f"QP-0{n} Doc {n}.html") for n in (1, 2, 3)]
    response = client.post(
        "/transfer/import", data={"files": files}, content_type="multipart/form-data"
    )
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert wait_for(job_id).status == "checked"

    reached, polled = threading.Event(), threading.Event()

    def pause_in_the_transaction(event, rev):
        if event == "effective" and rev.document.code == "QP-02":
            reached.set()
            polled.wait(30)

    monkeypatch.setattr(
        documents_release, "REVISION_HOOKS", [*services.REVISION_HOOKS, pause_in_the_transaction]
    )
    client.post(f"/transfer/import/{job_id}/run")
    # The job runs beside the requests, as in the worker.
    worker = threading.Thread(target=drain, args=(current_app._get_current_object(),))
    worker.start()
    assert reached.wait(30)
    try:
        progress = client.get(f"/transfer/import/{job_id}/progress").get_json()
        page = client.get(f"/transfer/import/{job_id}").get_data(as_text=True)
    finally:
        polled.set()
        worker.join(60)
    assert progress["stage"] == "Recording in the register" and not progress["finished"]
    assert progress["total"] == 3 and 0 <= progress["done"] < 3
    assert "Recording in the register" in page
    assert wait_for(job_id).status == "done"


def test_the_import_reports_each_recorded_document(users, ctx, tmp_path):
    for n in (1, 2, 3):
        (tmp_path / f"QP-0{n} Doc {n}.md").write_text(f"# Doc {n}\n", encoding="utf-8")
    reports = []
    importing.run(users["admin"], tmp_path, progress=lambda *report: reports.append(report))
    assert [r for r in reports if r[0] == "recording"] == [("recording", n, 3) for n in range(4)]


def test_problems_are_shown_by_file_and_block_the_import(client, auth, users):
    auth.login("admin")
    response = client.post(
        "/transfer/import",
        data={
            "files": [
                (io.BytesIO(b"# A\n"), "QP-01 First.md"),
                (io.BytesIO(b"junk"), "QP-02 Broken.docx"),
            ]
        },
        content_type="multipart/form-data",
    )
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    job = wait_for(job_id)
    assert job.status == "checked" and job.problem_count == 1
    page = client.get(f"/transfer/import/{job_id}").get_data(as_text=True)
    assert "QP-02 Broken.docx" in page and "cannot be read" in page
    client.post(f"/transfer/import/{job_id}/run")
    assert wait_for(job_id).status == "checked"
    assert db.session.scalar(select(db.func.count()).select_from(services.Document)) == 0


def test_bad_pattern_is_shown_beside_the_field_and_keeps_it(client, auth, users):
    auth.login("admin")
    response = client.post(
        "/transfer/import",
        data={"files": [(io.BytesIO(b"# A\n"), "QP-01 A.md")], "pattern": "(?P<title>["},
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "not a valid regular expression" in page and "(?P&lt;title&gt;[" in page


def test_no_file_is_refused_with_a_message(client, auth, users):
    auth.login("admin")
    response = client.post("/transfer/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 200
    assert "Choose a zip file" in response.get_data(as_text=True)


def test_media_route_refuses_paths_outside_the_document(client, auth, users, ctx):
    builders.effective(users)
    auth.login("staff")
    for path in ("../QP-07.md", "..%2FQP-07.md", "a/../../x", "missing.png"):
        assert client.get(f"/documents/QP-07/media/{path}").status_code == 404
    assert client.get("/documents/NOPE/media/x.png").status_code == 404


# -- the mirror ---------------------------------------------------------------------------


@pytest.fixture
def mirrored(app, tmp_path):
    """A mirror that does not exist yet; jobs run at once, in huey's immediate mode."""
    remote = tmp_path / "mirror.git"
    app.config["QMS_MIRROR_URL"] = str(remote)
    app.config["QMS_JOBS_IMMEDIATE"] = True
    return remote


def test_a_failed_push_never_blocks_a_release_and_is_retried(users, ctx, app, mirrored):
    doc = builders.effective(users)  # the mirror does not exist yet: the push fails
    assert doc.status == "effective"
    state = mirror.status()
    assert state["last_success"] is None
    assert "mirror.git" in state["last_failure"].last_error
    assert state["queue"][0].attempts == 1
    # The job is retried with backoff: scheduled, not run again at once.
    huey = jobs.queue(app).huey
    [retry] = huey.scheduled()
    assert retry.name == "mirror_push" and retry.retries == 7
    assert 4 <= (retry.eta - huey._get_timestamp()).total_seconds() <= 5

    # Once the backoff has passed (as if 5 s went by) and the mirror exists, it pushes.
    subprocess.run(["git", "init", "-q", "--bare", str(mirrored)], check=True)
    db.session.execute(
        db.update(MirrorPush).values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    assert [t.id for t in run_scheduled(huey)] == [retry.id]
    db.session.expire_all()
    state = mirror.status()
    assert state["queue"] == []
    assert state["last_success"].commit == services.store().head(MAIN)
    assert state["last_success"].attempts == 2
    remote = GitStore(mirrored)
    assert remote.head(MAIN) == services.store().head(MAIN)
    assert "refs/tags/QP-07/A" in remote.refs("refs/tags/")


def test_a_retry_before_the_backoff_has_passed_comes_back_later(users, ctx, app, mirrored):
    builders.effective(users)
    huey = jobs.queue(app).huey
    [retry] = huey.scheduled()
    # The scheduler's clock runs ahead of the row's backoff (another attempt failed since).
    db.session.execute(
        db.update(MirrorPush).values(next_attempt_at=utcnow() + timedelta(seconds=60))
    )
    db.session.commit()
    assert [t.id for t in run_scheduled(huey)] == [retry.id]
    db.session.expire_all()
    assert mirror.status()["queue"][0].attempts == 1  # no attempt before the backoff
    [again] = huey.scheduled()
    assert again.name == "mirror_push" and again.retries == 7
    assert 55 <= (again.eta - huey._get_timestamp()).total_seconds() <= 60


def test_releases_queue_one_push_while_one_waits(users, ctx, mirrored):
    builders.effective(users, "QP-07")
    builders.effective(users, "QP-08", text=builders.content("QP-08"))
    assert len(db.session.scalars(select(MirrorPush)).all()) == 1


def test_no_mirror_configured_queues_nothing(users, ctx, app):
    app.config["QMS_MIRROR_URL"] = None
    builders.effective(users)
    assert db.session.scalars(select(MirrorPush)).all() == []
    assert jobs.queue(app).huey.pending_count() == 0


def test_a_release_hands_the_push_to_the_worker(users, ctx, app, tmp_path):
    remote = tmp_path / "mirror.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    app.config["QMS_MIRROR_URL"] = str(remote)
    builders.effective(users)
    # The release only queued the push: nothing went over the network in its request.
    assert GitStore(remote).head(MAIN) is None
    assert [t.name for t in jobs.queue(app).huey.pending()] == ["mirror_push"]
    drain(app)
    assert GitStore(remote).head(MAIN) == services.store().head(MAIN)
    db.session.expire_all()
    assert mirror.status()["queue"] == []


def test_push_button_queues_a_push_for_the_worker(client, auth, users, ctx, app, tmp_path):
    remote = tmp_path / "mirror.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    app.config["QMS_MIRROR_URL"] = str(remote)
    auth.login("admin")
    response = client.post("/transfer/mirror/push", follow_redirects=True)
    assert "handed to the job worker" in response.get_data(as_text=True)
    assert GitStore(remote).head(MAIN) is None
    drain(app)
    assert GitStore(remote).head(MAIN) == services.store().head(MAIN)


def test_status_page_shows_the_last_failure(client, auth, users, ctx, mirrored):
    builders.effective(users)
    auth.login("admin")
    page = client.get("/transfer/").get_data(as_text=True)
    assert "Last failure" in page and "mirror.git" in page


def test_push_now_says_the_worker_has_it_when_the_worker_claimed_it(
    users, ctx, app, mirrored, monkeypatch
):
    subprocess.run(["git", "init", "-q", "--bare", str(mirrored)], check=True)
    app.config["QMS_JOBS_IMMEDIATE"] = False
    queue_push = mirror.queue_push

    def queued_then_claimed_by_the_worker():
        queue_push()
        db.session.execute(
            db.update(MirrorPush).values(next_attempt_at=utcnow() + timedelta(seconds=60))
        )
        db.session.commit()

    monkeypatch.setattr(mirror, "queue_push", queued_then_claimed_by_the_worker)
    assert mirror.push_now() is False
    assert GitStore(mirrored).head(MAIN) is None
