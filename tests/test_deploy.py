"""The deployment files (deploy/, docs/deploy.md) and the script that follows the guide."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from qms import ROOT

DEPLOY = ROOT / "deploy"
BIN = ROOT / ".venv/bin"


def unit_command(unit: str) -> list[str]:
    """The ExecStart of a unit, with the guide's /srv/qms/app read as this checkout."""
    text = (DEPLOY / "systemd" / unit).read_text()
    (line,) = re.findall(r"^ExecStart=(.*)$", text, re.MULTILINE)
    return line.replace("/srv/qms/app", str(ROOT)).split()


def test_every_setting_in_the_environment_file_is_one_something_reads():
    readers = "\n".join(
        path.read_text()
        for path in [*ROOT.joinpath("qms").rglob("*.py"), DEPLOY / "gunicorn.conf.py"]
    )
    keys = re.findall(r"^([A-Z_]+)=", (DEPLOY / "qms.env").read_text(), re.MULTILINE)
    assert "QMS_DATABASE_URL" in keys and "QMS_PROXIES" in keys
    unread = [k for k in keys if k.startswith("QMS_") and f'"{k}"' not in readers]
    assert unread == []


@pytest.mark.parametrize("unit", ["qms-web.service", "qms-worker.service"])
def test_each_unit_runs_what_the_checkout_has(unit):
    command = unit_command(unit)
    assert Path(command[0]).is_file() and command[0].startswith(str(BIN))
    for arg in command:
        if arg.startswith(str(ROOT)):
            assert Path(arg).exists(), arg
    text = (DEPLOY / "systemd" / unit).read_text()
    assert "EnvironmentFile=/etc/qms/qms.env" in text and "User=qms" in text


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd here")
def test_systemd_accepts_the_units(tmp_path):
    for unit in ("qms-web.service", "qms-worker.service"):
        text = (DEPLOY / "systemd" / unit).read_text().replace("/srv/qms/app", str(ROOT))
        (tmp_path / unit).write_text(text)
    done = subprocess.run(
        ["systemd-analyze", "verify", *sorted(map(str, tmp_path.glob("*.service")))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def gunicorn_settings(monkeypatch, instance: str) -> dict:
    """What deploy/gunicorn.conf.py sets for an instance (gunicorn executes it likewise)."""
    monkeypatch.setenv("QMS_INSTANCE", instance)
    monkeypatch.delenv("QMS_BIND", raising=False)
    monkeypatch.delenv("QMS_CONTROL_SOCKET", raising=False)
    namespace: dict = {}
    exec((DEPLOY / "gunicorn.conf.py").read_text(), namespace)
    return namespace


def test_each_instance_has_its_own_control_socket_and_no_second_access_log(monkeypatch):
    one = gunicorn_settings(monkeypatch, "/var/lib/qms")
    two = gunicorn_settings(monkeypatch, "/var/lib/qms-training")
    assert one["control_socket"] == "/var/lib/qms/gunicorn.ctl"
    assert two["control_socket"] == "/var/lib/qms-training/gunicorn.ctl"
    assert one["accesslog"] is None and one["bind"] == ["unix:/run/qms/gunicorn.sock"]


def test_on_shared_storage_the_control_socket_can_be_the_hosts_own(monkeypatch):
    monkeypatch.setenv("QMS_CONTROL_SOCKET", "/run/qms/gunicorn.ctl")
    monkeypatch.setenv("QMS_INSTANCE", "/mnt/qms")
    namespace: dict = {}
    exec((DEPLOY / "gunicorn.conf.py").read_text(), namespace)
    assert namespace["control_socket"] == "/run/qms/gunicorn.ctl"


def test_make_run_gives_gunicorn_the_instances_control_socket():
    shown = subprocess.run(
        ["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert '--control-socket "$QMS_INSTANCE/gunicorn.ctl"' in shown


def test_the_guide_uses_the_files_under_deploy():
    guide = (ROOT / "docs/deploy.md").read_text()
    for path in DEPLOY.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            assert str(path.relative_to(ROOT)) in guide, path


# -- real processes -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def control(socket_path: Path) -> dict:
    done = subprocess.run(
        [str(BIN / "gunicornc"), "-s", str(socket_path), "-c", "show stats", "-j"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow
def test_two_instances_on_one_host_do_not_share_a_control_socket(tmp_path):
    servers = {}
    for name in ("a", "b"):
        instance = tmp_path / name
        instance.mkdir()
        env = dict(
            os.environ,
            QMS_INSTANCE=str(instance),
            QMS_BIND=f"127.0.0.1:{free_port()}",
            QMS_WEB_WORKERS="1",
            QMS_SECRET_KEY="deploy-test",
        )
        log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115
        servers[name] = subprocess.Popen(
            unit_command("qms-web.service"), cwd=ROOT, env=env, stdout=log, stderr=log
        )
        log.close()
    try:
        for name, proc in servers.items():
            path = tmp_path / name / "gunicorn.ctl"
            deadline = time.monotonic() + 60
            while not path.exists():
                assert proc.poll() is None, (tmp_path / f"{name}.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / f"{name}.log").read_text()
                time.sleep(0.2)
            assert control(path)["pid"] == proc.pid
        # The first one's stop leaves the second one's socket in place, answering for it.
        servers["a"].send_signal(signal.SIGTERM)
        servers["a"].wait(timeout=30)
        assert not (tmp_path / "a/gunicorn.ctl").exists()
        assert control(tmp_path / "b/gunicorn.ctl")["pid"] == servers["b"].pid
    finally:
        for proc in servers.values():
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)


def postgres_answers(url: str) -> bool:
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error:
        return False
    return True


@pytest.mark.slow
def test_the_deploy_script_follows_the_guide_and_signs_in_through_nginx():
    server = os.environ.get("QMS_DEPLOY_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
    missing = []
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        missing.append("nginx (.ci/packages)")
    if not postgres_answers(server):
        missing.append(f"PostgreSQL at {server}")
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the deployment: missing {', '.join(missing)}")
        pytest.skip(f"missing {', '.join(missing)}")
    env = dict(os.environ, QMS_DEPLOY_PG=server, QMS_DEPLOY_DB=f"qms_deploy_test_{os.getpid()}")
    done = subprocess.run(
        [str(DEPLOY / "ci-deploy.sh")], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert '"status":"ok"' in out
    assert re.search(r"logged: rid=[0-9a-f]{32} user=ci-admin .* path=/ status=200", out)
    assert "Deployed, signed in through nginx and healthy" in out
