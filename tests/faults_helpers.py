"""Real processes for the fault-injection test: a gunicorn server, the CLI, an HTTP client.

Only the standard library speaks HTTP here, so the test needs nothing the app does not.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from http.cookies import SimpleCookie
from pathlib import Path

from qms import ROOT

PYTHON = sys.executable


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(instance: Path, secret: str) -> dict:
    """Return the environment of a server on ``instance`` (SQLite and git beside it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QMS_")}
    env.update(
        QMS_INSTANCE=str(instance),
        QMS_SECRET_KEY=secret,
        QMS_TIMEZONE="UTC",
        PYTHONUNBUFFERED="1",
    )
    return env


def cli(env: dict, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``flask --app wsgi qms ARGS`` as its own process."""
    return subprocess.run(
        [PYTHON, "-m", "flask", "--app", "wsgi", "qms", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def has_command(env: dict, name: str) -> bool:
    """Return whether ``flask qms`` offers the command ``name``."""
    out = cli(env, "--help").stdout
    return re.search(rf"^\s+{re.escape(name)}\s", out, re.MULTILINE) is not None


class Server:
    """Gunicorn with two workers (and ``qms worker`` when it exists), killable at once."""

    def __init__(self, env: dict, port: int, logs: Path, with_worker: bool):
        self.env, self.port, self.logs, self.with_worker = env, port, logs, with_worker
        self.procs: list[subprocess.Popen] = []
        self.starts = 0

    def start(self, timeout: float = 30) -> None:
        self.starts += 1
        commands = [
            [
                PYTHON,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "2",
                "--threads",
                "2",
                "--timeout",
                "60",
                # The default control socket is one path per user: servers would share it.
                "--no-control-socket",
                "wsgi:app",
            ]
        ]
        if self.with_worker:
            commands.append([PYTHON, "-m", "flask", "--app", "wsgi", "qms", "worker"])
        for n, command in enumerate(commands):
            log = open(self.logs / f"server-{self.starts}-{n}.log", "wb")  # noqa: SIM115
            # Its own session: killpg then reaches the master, its workers and their git.
            proc = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=log, start_new_session=True
            )
            log.close()
            self.procs.append(proc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{proc.args[2]} exited with {proc.returncode}")
            status, _h, _b = Http(self.port).request("GET", "/auth/login", timeout=2)
            if status == 200:
                return
            time.sleep(0.1)
        raise RuntimeError("the server did not answer in time")

    def kill(self) -> None:
        """SIGKILL every process of the server at once, as a power cut would."""
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        for proc in self.procs:
            proc.wait(timeout=10)
        self.procs = []

    def stop(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        self.procs = []

    def exited(self) -> list[str]:
        """Return what each process that has exited since its start said last."""
        return [
            f"{' '.join(proc.args[2:6])} exited with {proc.returncode}:\n"
            + (self.logs / f"server-{self.starts}-{n}.log").read_text(errors="replace")[-1500:]
            for n, proc in enumerate(self.procs)
            if proc.poll() is not None
        ]

    def log_text(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}"
            for p in sorted(self.logs.glob("server-*.log"))
        )


class Http:
    """One user's client: a bearer token for the API, cookies and CSRF for the pages."""

    def __init__(self, port: int, token: str | None = None):
        self.port, self.token = port, token
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict | None = None,
        timeout: float = 15,
    ) -> tuple[int | None, dict, bytes]:
        """Return ``(status, headers, body)``; status None when no answer came."""
        headers = dict(headers or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException):
            return None, {}, b""
        finally:
            conn.close()
        for header in resp.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return resp.status, dict(resp.headers), data

    def json(self, method: str, path: str, data=None) -> tuple[int | None, object]:
        body = None if data is None else json.dumps(data).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        status, _h, raw = self.request(method, path, body, headers)
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def csrf(self, path: str, prefix: str = "") -> str:
        """Return the CSRF token of the form named by ``prefix`` on the page at ``path``."""
        status, _h, page = self.request("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}")
        found = re.search(
            rf'name="{re.escape(prefix)}csrf_token"[^>]*value="([^"]+)"', page.decode()
        )
        if found is None:
            raise RuntimeError(f"no {prefix}csrf_token on {path}")
        return found.group(1)

    def login(self, username: str, password: str) -> None:
        token = self.csrf("/auth/login")
        body, ctype = multipart({"csrf_token": token, "username": username, "password": password})
        status, _h, _b = self.request("POST", "/auth/login", body, {"Content-Type": ctype})
        if status != 302:
            raise RuntimeError(f"signing in as {username} answered {status}")

    def post_form(self, path: str, fields: dict, files: dict | None = None) -> int | None:
        body, ctype = multipart(fields, files)
        status, _h, _b = self.request("POST", path, body, {"Content-Type": ctype})
        return status


def multipart(fields: dict, files: dict | None = None) -> tuple[bytes, str]:
    """Encode ``fields`` and ``files`` ({name: (filename, bytes, type)}) as form data."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(f"{head}{value}\r\n".encode())
    for name, (filename, data, ctype) in (files or {}).items():
        parts.append(
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'
            ).encode()
            + data
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def git(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "--git-dir", str(repo), *args], capture_output=True, text=True, timeout=60
    )


class RefWatcher:
    """Notice at once when git moves a ref, by the inodes of the loose ref files.

    ``update-ref`` writes a lock file and renames it over the ref, so a moved, created or
    deleted ref changes the set of ``(path, inode)`` pairs. (Nothing here packs refs.)
    """

    def __init__(self, repo: Path):
        self.refs = repo / "refs"
        self.seen = self.snapshot()

    def snapshot(self) -> set[tuple[str, int]]:
        found = set()
        stack = [self.refs]
        while stack:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    elif not entry.name.endswith(".lock"):
                        with contextlib.suppress(FileNotFoundError):
                            found.add((entry.path, entry.inode()))
        return found

    def wait_for_move(self, timeout: float) -> bool:
        """Return True as soon as a ref moves, False when ``timeout`` passes first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.snapshot() != self.seen:
                    return True
            except FileNotFoundError:  # a folder went away while it was read: a ref moved
                return True
            time.sleep(0.0005)
        return False
