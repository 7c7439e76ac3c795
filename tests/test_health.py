"""/healthz: the database, the document repository and the job worker, without sign-in."""

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from qms import ROOT, create_app, jobs
from qms.gitstore import GitStore
from tests.conftest import _config
from tests.test_jobs import worker_env


def health(client, **headers):
    response = client.get("/healthz", headers=headers)
    return response.status_code, response.get_json()


@pytest.fixture
def beating(app):
    """A heartbeat left just now, as the worker leaves it at start and every minute."""
    with app.app_context():
        jobs.beat()
    return app


def test_a_healthy_instance_answers_200_without_sign_in(beating, client):
    status, body = health(client)
    assert status == 200
    assert body["status"] == "ok" and body["failed"] == []
    assert body["checks"] == {name: {"ok": True} for name in ("database", "repository", "worker")}


def test_the_health_check_keeps_no_session_and_is_never_cached(beating, client):
    response = client.get("/healthz")
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_no_worker_ever_started_is_503_naming_the_worker(app, client):
    status, body = health(client)
    assert status == 503
    assert body["status"] == "fail" and body["failed"] == ["worker"]
    assert body["checks"]["worker"] == {"ok": False, "error": "No job worker has started."}
    assert body["checks"]["database"]["ok"] and body["checks"]["repository"]["ok"]


def test_a_stale_worker_heartbeat_is_503_naming_the_worker(app, client):
    limit = app.config["QMS_WORKER_STALE_SECONDS"]
    beat = {"at": time.time() - limit - 60, "host": "app1", "pid": 1}
    jobs.queue(app).huey.put(jobs.HEARTBEAT_KEY, beat)
    status, body = health(client)
    assert status == 503 and body["failed"] == ["worker"]
    error = body["checks"]["worker"]["error"]
    assert error.startswith("The job worker has not been seen for ")
    assert int(error.split()[-2]) >= limit + 60


def test_a_heartbeat_within_the_limit_is_fine(app, client):
    app.config["QMS_WORKER_STALE_SECONDS"] = 600
    jobs.queue(app).huey.put(jobs.HEARTBEAT_KEY, {"at": time.time() - 300, "host": "a", "pid": 1})
    assert health(client)[0] == 200


def test_immediate_jobs_need_no_worker(app, client):
    app.config["QMS_JOBS_IMMEDIATE"] = True
    assert health(client)[0] == 200


def test_a_missing_repository_is_503_naming_it(beating, client):
    shutil.rmtree(beating.config["QMS_DOCUMENTS_REPO"])
    status, body = health(client)
    assert status == 503 and body["failed"] == ["repository"]
    assert body["checks"]["repository"]["error"] == "The document repository is missing."


def test_a_repository_without_main_is_503_naming_it(beating, client):
    store = GitStore(beating.config["QMS_DOCUMENTS_REPO"])
    store.git.update_ref("-d", "refs/heads/main")
    store.close()
    status, body = health(client)
    assert status == 503 and body["failed"] == ["repository"]
    assert body["checks"]["repository"]["error"] == "The document repository has no main branch."


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write whatever the mode says")
def test_a_repository_this_process_cannot_write_is_503_naming_it(beating, client):
    objects = os.path.join(beating.config["QMS_DOCUMENTS_REPO"], "objects")
    os.chmod(objects, 0o555)
    try:
        status, body = health(client)
    finally:
        os.chmod(objects, 0o755)
    assert status == 503 and body["failed"] == ["repository"]


DOWN = {
    # A SQLite file in a folder that is not there cannot be opened.
    "sqlite": "sqlite:////nonexistent-folder/qms.sqlite",
    # A PostgreSQL server that does not answer (nothing listens on port 9).
    "postgresql": "postgresql+psycopg://qms@127.0.0.1:9/qms?connect_timeout=2",
}


def database_down(app, url):
    """The test's instance (repository, queue, secret key) with a database that is down."""
    down = create_app(
        {
            **_config(Path(app.config["QMS_INSTANCE"]), url),
            "QMS_JOBS_URL": app.config["QMS_JOBS_URL"],
        }
    )
    with down.app_context():
        jobs.beat()
    return down


@pytest.mark.parametrize("url", DOWN.values(), ids=DOWN.keys())
def test_a_database_that_does_not_answer_is_503_naming_it(app, url):
    down = database_down(app, url)
    status, body = health(down.test_client())
    assert status == 503 and body["failed"] == ["database"]
    assert body["checks"]["database"]["error"] == "The database does not answer."


def test_a_database_server_that_hangs_is_503_within_the_connect_timeout(app, monkeypatch):
    # A server that takes the connection and never speaks: no refusal to fail on.
    with socket.create_server(("127.0.0.1", 0)) as hung:
        port = hung.getsockname()[1]
        monkeypatch.setenv("QMS_DB_CONNECT_TIMEOUT", "1")
        down = database_down(app, f"postgresql+psycopg://qms@127.0.0.1:{port}/qms")
        started = time.monotonic()
        status, body = health(down.test_client())
    assert status == 503 and body["failed"] == ["database"]
    assert time.monotonic() - started < 10


def test_a_signed_in_browser_gets_the_answer_too_when_the_database_is_down(
    app, auth, client, users
):
    auth.login("staff")
    session = client.get_cookie("session")
    down = database_down(app, DOWN["sqlite"]).test_client()
    # The same secret key: the cookie names a user the health check must not try to load.
    down.set_cookie("session", session.value)
    status, body = health(down)
    assert status == 503 and body["failed"] == ["database"]


def test_the_reasons_are_in_the_callers_language(app, client):
    shutil.rmtree(app.config["QMS_DOCUMENTS_REPO"])
    _status, body = health(client, **{"Accept-Language": "zh-CN,zh;q=0.9"})
    assert body["checks"]["repository"]["error"] == "文件库不存在。"
    assert body["checks"]["worker"]["error"] == "尚无作业进程启动过。"
    _status, body = health(client, **{"Accept-Language": "zh-TW"})
    assert body["checks"]["worker"]["error"] == "尚無作業程序啟動過。"


# -- a real worker ----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_real_worker_makes_the_instance_healthy_and_its_stop_is_seen(app, client, tmp_path):
    app.config["QMS_WORKER_STALE_SECONDS"] = 3
    assert health(client)[1]["failed"] == ["worker"]
    with open(tmp_path / "worker.log", "wb") as log:
        proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "qms", "worker"],
            cwd=ROOT,
            env=worker_env(app),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while health(client)[0] != 200:
            assert proc.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    time.sleep(3.5)
    status, body = health(client)
    assert status == 503 and body["failed"] == ["worker"]
