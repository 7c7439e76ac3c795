"""The job runner: the queue by URL, the periodic jobs, and a real worker process."""

import io
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta

import pytest
from huey import PostgresHuey, RedisHuey, SqliteHuey
from sqlalchemy import select

from qms import ROOT, clock, jobs, uow
from qms.documents import services
from qms.documents.models import Revision
from qms.extensions import db
from qms.gitstore import MAIN
from qms.transfer import services as transfer
from qms.transfer.models import ImportJob
from tests import builders
from tests.conftest import PG_URL
from tests.test_improvement_mail import smtp  # noqa: F401 (a fixture)
from tests.test_transfer_pages import drain, html_doc


@pytest.fixture
def immediate(app):
    """Jobs run at once where they are enqueued: huey's immediate mode."""
    app.config["QMS_JOBS_IMMEDIATE"] = True
    # A queue built before (a fixture's submission queued its notices) is not immediate.
    app.extensions.pop("qms.jobs", None)
    return jobs.queue(app).huey


# -- the queue ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, cls, options",
    [
        ("sqlite:////srv/qms/jobs.sqlite", SqliteHuey, {"filename": "/srv/qms/jobs.sqlite"}),
        (
            "postgresql+psycopg://qms:pw@db/qms",
            PostgresHuey,
            {"dsn": "postgresql://qms:pw@db/qms"},
        ),
        ("redis://queue:6379/0", RedisHuey, {"url": "redis://queue:6379/0"}),
    ],
)
def test_the_queue_is_chosen_by_its_url(url, cls, options):
    assert jobs.storage_for(url) == (cls, options)


def test_an_unknown_queue_url_is_refused_by_name():
    with pytest.raises(ValueError, match="QMS_JOBS_URL"):
        jobs.storage_for("amqp://rabbit")


def test_the_default_queue_is_a_file_in_the_instance(app):
    huey = jobs.queue(app).huey
    assert isinstance(huey, SqliteHuey) and not huey.immediate
    assert huey.storage.filename == os.path.join(app.config["QMS_INSTANCE"], "jobs.sqlite")
    assert set(jobs.queue(app).tasks) == set(jobs.JOBS)


def test_each_app_has_its_own_queue(app, tmp_path):
    from qms import create_app
    from tests.conftest import _config

    other = create_app(_config(tmp_path / "other", app.config["SQLALCHEMY_DATABASE_URI"]))
    assert jobs.queue(other).huey.storage.filename != jobs.queue(app).huey.storage.filename


def test_the_queue_works_on_postgres(app, tmp_path):
    if not PG_URL:
        pytest.skip("QMS_TEST_DATABASE_URL is not set")
    from qms import create_app
    from tests.conftest import _config

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    shared = create_app({**_config(tmp_path / "pg", url), "QMS_JOBS_URL": url})
    huey = jobs.queue(shared).huey
    assert isinstance(huey, PostgresHuey)
    huey.flush()
    with shared.app_context():
        jobs.enqueue("release_due")
    [task] = huey.pending()
    assert task.name == "release_due"
    huey.execute(huey.dequeue())
    huey.flush()
    huey.storage.close()
    with shared.app_context():
        db.engine.dispose()


def local_time(zone: str, hour: int, minute: int) -> datetime:
    """Return the naive UTC time huey hands a schedule when it is hour:minute in ``zone``."""
    from datetime import UTC
    from zoneinfo import ZoneInfo

    when = datetime(2026, 12, 2, hour, minute, tzinfo=ZoneInfo(zone))
    return when.astimezone(UTC).replace(tzinfo=None)


def test_schedules_are_read_in_the_organisations_zone(app):
    app.config["QMS_TIMEZONE"] = "Asia/Shanghai"
    huey = jobs.queue(app).huey

    def due_at(hour: int, minute: int) -> set[str]:
        return {t.name for t in huey.read_periodic(local_time("Asia/Shanghai", hour, minute))}

    # 08:15 at the office is 00:15 UTC: the notices go out then, not at 08:15 UTC.
    assert {"review_notices", "release_due", "mirror_sweep"} <= due_at(8, 15)
    assert due_at(23, 16) == {"mirror_sweep", "heartbeat"}
    assert "reminders" in due_at(7, 5) and "reminders" not in due_at(6, 5)


def test_every_scheduled_job_is_on_the_schedule(app):
    periodic = {name for name, spec in jobs.JOBS.items() if spec.schedule}
    assert periodic == {
        "release_due",
        "reminders",
        "mirror_sweep",
        "upstream_sync",
        "review_notices",
        "recover",
        "training_reminders",
        "trail_anchor",
        "supplier_reminders",
        "equipment_due",
        "heartbeat",
        "webhook_overdue",
        "webhook_sweep",
    }


# -- due releases: in the worker, never in a request ---------------------------------------


@pytest.fixture
def due_tomorrow(users, ctx, monkeypatch):
    """A revision released for tomorrow, and a clock moved on to tomorrow."""
    doc = builders.approved(users)
    tomorrow = clock.today() + timedelta(days=1)
    services.release(users["approver"], doc, tomorrow)
    assert services.get_revision(doc, "A").status == "scheduled"
    monkeypatch.setattr(clock, "today", lambda: tomorrow)
    return doc


def test_a_request_never_releases_a_due_revision(due_tomorrow, client, auth):
    head = services.store().head(MAIN)
    auth.login("staff")
    for url in ("/", "/documents/", "/documents/QP-07", "/api/v1/documents"):
        assert client.get(url).status_code in (200, 401)
    db.session.expire_all()
    assert services.get_revision(due_tomorrow, "A").status == "scheduled"
    assert services.store().head(MAIN) == head


def test_the_due_release_job_releases_it_once(due_tomorrow, immediate):
    jobs.enqueue("release_due")
    db.session.expire_all()
    assert services.get_revision(due_tomorrow, "A").status == "effective"
    head = services.store().head(MAIN)
    jobs.enqueue("release_due")  # idempotent: nothing is due any more
    assert services.store().head(MAIN) == head


# -- the other periodic jobs -------------------------------------------------------------------


def test_the_reminder_job_sends_the_improvement_reminders(ctx, immediate, monkeypatch):
    from qms.improvement import mail

    calls = []
    monkeypatch.setattr(mail, "send_reminders", lambda: calls.append("sent") or [])
    jobs.enqueue("reminders")
    assert calls == ["sent"]


def test_the_upstream_sync_job_syncs_as_an_administrator(users, immediate, monkeypatch):
    from qms.adoption import services as adoption

    actors = []
    monkeypatch.setattr(adoption, "sync", lambda actor: actors.append(actor.username) or [])
    jobs.enqueue("upstream_sync")
    assert actors == ["admin"]


def test_the_upstream_sync_job_waits_for_an_administrator(ctx, immediate, caplog):
    with caplog.at_level("INFO", logger="qms.jobs"):
        assert jobs.run_now("upstream_sync") == []
    assert "No active administrator" in caplog.text


def test_review_notices_go_to_approvers_once_per_review_date(users, smtp, immediate):  # noqa: F811
    doc = builders.effective(users)
    doc.next_review_due = clock.today() + timedelta(days=10)
    db.session.commit()
    before = len(smtp.messages())  # the submission's and the release's notices
    assert jobs.run_now("review_notices") == [f"QP-07 {doc.next_review_due.isoformat()}"]
    sent = smtp.messages()[before:]
    to = sorted(m["To"] for m in sent)
    assert to == ["Approver <approver@example.org>", "Approver2 <approver2@example.org>"]
    message = sent[0]
    assert "due for periodic review" in message["Subject"]
    assert "QP-07" in message.get_content() and "/documents/QP-07" in message.get_content()
    # Run again (another worker, the next hour): nobody is told twice.
    assert jobs.run_now("review_notices") == []
    assert len(smtp.messages()) == before + 2
    # A new review date is news again.
    doc.next_review_due = clock.today() - timedelta(days=1)
    db.session.commit()
    assert jobs.run_now("review_notices")
    assert "overdue" in smtp.messages()[-1].get_content()


def test_review_notices_without_mail_are_logged(users, immediate, caplog):
    doc = builders.effective(users)
    doc.next_review_due = clock.today()
    db.session.commit()
    with caplog.at_level("INFO", logger="qms.jobs"):
        assert jobs.run_now("review_notices")
    assert "QP-07" in caplog.text


def test_the_recover_job_drops_a_ref_nobody_acknowledged(users, ctx, immediate):
    doc = builders.in_review(users)
    store = services.store()
    ref = "refs/heads/drafts/QP-07/A"
    acknowledged = store.ref_value(ref)
    # A process that died between publishing and committing left the branch ahead.
    stray = store.build_commit(
        acknowledged,
        {doc.path: store.write_blob(b"never acknowledged\n")},
        "stray",
        services.person(users["author"]),
    )
    store.publish_refs([(ref, stray, acknowledged)])
    jobs.enqueue("recover")
    assert store.ref_value(ref) == acknowledged


# -- imports as jobs ---------------------------------------------------------------------------


def start_import(client, auth) -> int:
    auth.login("admin")
    response = client.post(
        "/transfer/import",
        data={"files": [(io.BytesIO(html_doc("Control")), "QP-07 Document control.html")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_an_import_waits_for_the_worker(client, auth, users, app):
    job_id = start_import(client, auth)
    job = db.session.get(ImportJob, job_id)
    assert job.status == "queued"  # the web process only queued it
    assert [t.name for t in jobs.queue(app).huey.pending()] == ["import"]
    page = client.get(f"/transfer/import/{job_id}").get_data(as_text=True)
    assert "Checking the files" in page
    drain(app)
    db.session.expire_all()
    assert db.session.get(ImportJob, job_id).status == "checked"


def test_a_refused_upload_leaves_nothing_staged(client, auth, users, app):
    auth.login("admin")
    response = client.post(
        "/transfer/import",
        data={"files": [(io.BytesIO(b"# A\n"), "A.md"), (io.BytesIO(b"# B\n"), "A.md")]},
        content_type="multipart/form-data",
    )
    assert "Two files are named A.md" in response.get_data(as_text=True)
    assert not list((transfer_staging(app)).glob("*/files"))
    assert jobs.queue(app).huey.pending_count() == 0


def transfer_staging(app):
    with app.app_context():
        return transfer.staging_root()


def test_a_job_runs_once_even_when_queued_twice(client, auth, users, app):
    job_id = start_import(client, auth)
    with app.app_context():
        jobs.enqueue("import", job_id, "check", "en")
    drain(app)
    db.session.expire_all()
    job = db.session.get(ImportJob, job_id)
    assert job.status == "checked" and job.attempts == 1


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def cut_off(job_id: int, attempts: int) -> None:
    """Leave the job as a worker killed in the middle of it leaves it."""
    import socket

    job = db.session.get(ImportJob, job_id)
    job.status = "checking"
    job.worker = f"{socket.gethostname()}:{dead_pid()}"
    job.attempts = attempts
    db.session.commit()


def test_an_import_cut_off_by_a_dead_worker_runs_again(client, auth, users, app):
    job_id = start_import(client, auth)
    jobs.queue(app).huey.flush()  # the dead worker had taken it off the queue
    cut_off(job_id, attempts=1)
    with app.app_context():
        assert transfer.resume_interrupted(starting=True) == [job_id]
    drain(app)
    db.session.expire_all()
    job = db.session.get(ImportJob, job_id)
    assert job.status == "checked" and job.attempts == 2


def test_an_import_that_stopped_its_worker_twice_is_failed(client, auth, users, app):
    job_id = start_import(client, auth)
    jobs.queue(app).huey.flush()
    cut_off(job_id, attempts=2)
    with app.app_context():
        assert transfer.resume_interrupted(starting=True) == []
    db.session.expire_all()
    assert db.session.get(ImportJob, job_id).status == "failed"
    page = client.get(f"/transfer/import/{job_id}").get_data(as_text=True)
    assert "The job worker stopped each time this import ran (2 times)." in page


def test_a_job_of_a_live_worker_is_left_alone(client, auth, users, app):
    job_id = start_import(client, auth)
    job = db.session.get(ImportJob, job_id)
    job.status, job.worker, job.attempts = "checking", transfer.worker_id(), 1
    db.session.commit()
    with app.app_context():
        assert transfer.resume_interrupted() == []  # our own process, running it


# -- a real worker process ---------------------------------------------------------------------


def worker_env(app) -> dict:
    return {
        **os.environ,
        "QMS_INSTANCE": app.config["QMS_INSTANCE"],
        "QMS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "QMS_DOCUMENTS_REPO": app.config["QMS_DOCUMENTS_REPO"],
        "QMS_JOBS_URL": app.config["QMS_JOBS_URL"],
        "QMS_SECRET_KEY": app.config["SECRET_KEY"],
        "QMS_TIMEZONE": app.config["QMS_TIMEZONE"],
    }


@pytest.fixture
def worker(app, tmp_path):
    """Start ``flask --app wsgi qms worker`` on the test's instance; stop it after."""
    procs = []

    def start():
        log = open(tmp_path / f"worker-{len(procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "qms", "worker", "--workers", "2"],
            cwd=ROOT,
            env=worker_env(app),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append((proc, log))
        return proc

    yield start
    for proc, log in procs:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def wait_until(check, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out")


@pytest.mark.slow
def test_a_real_worker_runs_imports_and_due_releases(client, auth, users, app, worker, tmp_path):
    # An import cut off by a worker that died waits for the next worker's start.
    orphan = start_import(client, auth)
    jobs.queue(app).huey.flush()
    cut_off(orphan, attempts=1)
    job_id = start_import(client, auth)
    # A revision that fell due while no worker ran.
    doc = builders.approved(users, "QP-01", text=builders.content("QP-01"))
    services.release(users["approver"], doc, clock.today() + timedelta(days=1))
    db.session.execute(
        db.update(Revision)
        .values(effective_date=clock.today())
        .where(Revision.document_id == doc.id)
    )
    db.session.commit()

    worker()
    with app.app_context():
        jobs.enqueue("release_due")
    seen = []

    def checked():
        progress = client.get(f"/transfer/import/{job_id}/progress").get_json()
        seen.append(progress)
        return progress["finished"] and progress

    progress = wait_until(checked)
    assert progress["status"] == "checked" and progress["total"] == 1
    assert wait_until(lambda: db.session.get(ImportJob, orphan).status == "checked")
    assert wait_until(
        lambda: (
            db.session.scalar(select(Revision.status).where(Revision.document_id == doc.id))
            == "effective"
        )
    )

    # The import itself, confirmed on the page, runs in the worker and the page follows it.
    client.post(f"/transfer/import/{job_id}/run")
    assert wait_until(
        lambda: client.get(f"/transfer/import/{job_id}/progress").get_json()["finished"]
    )
    job = db.session.get(ImportJob, job_id)
    assert job.status == "done", job.error
    page = client.get(f"/transfer/import/{job_id}").get_data(as_text=True)
    assert "1 document was imported" in page
    assert services.get_document("QP-07").status == "effective"


@pytest.mark.slow
def test_the_worker_puts_back_what_a_crash_left_when_it_starts(users, ctx, app, worker):
    builders.in_review(users)
    store = services.store()
    ref = "refs/heads/drafts/QP-07/A"
    acknowledged = store.ref_value(ref)
    subprocess.run(["git", "-C", str(store.path), "update-ref", "-d", ref], check=True)
    assert store.ref_value(ref) is None
    proc = worker()
    deadline = time.monotonic() + 60
    while store.ref_value(ref) != acknowledged and time.monotonic() < deadline:
        assert proc.poll() is None
        time.sleep(0.2)
    assert store.ref_value(ref) == acknowledged
    assert uow.pending_recovery() == []
