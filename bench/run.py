"""Measure the real server through HTTP: p50, p95 and requests a second, against a floor.

Run: ``.venv/bin/python bench/run.py [--scale 1] [--database-url URL] [--out FILE]``
(``make bench`` runs it on SQLite and on PostgreSQL and writes bench/RESULTS.md).

Fills a throw-away instance with bench/fill.py, starts gunicorn (2 sync workers) on it,
signs in each demo role, and fetches every page at 1 and at 8 connections. The login
page (a template, no data) is the floor measured in the same run; each page is also
given as a multiple of it, which stays meaningful on a machine shared with other work.
"""

import argparse
import http.client
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fill import env_for, fill  # noqa: E402

ROLES = {
    "admin": "admin-demo",
    "mrep": "mrep-demo",
    "author": "author-demo",
    "auditor": "auditor-demo",
    "staff": "staff-demo",
}
YEAR = date.today().year
# (label, role, path)
PAGES = [
    ("floor: login page", None, "/auth/login"),
    *[(f"home of {role}", role, "/") for role in ROLES],
    ("register", "mrep", "/documents/"),
    ("register filtered", "mrep", "/documents/?type=procedure"),
    ("hierarchy", "mrep", "/documents/tree"),
    ("document page", "mrep", "/documents/QP-01"),
    ("register as in force on 1 January", "mrep", f"/documents/?as_of={YEAR}-01-01"),
    ("document as in force on 1 January", "mrep", f"/documents/QP-01?as_of={YEAR}-01-01"),
    ("what changed this year", "mrep", "/documents/changes"),
    ("records list", "mrep", "/records/all"),
    ("NC list", "mrep", "/improvement/"),
    ("actions list", "mrep", "/improvement/actions/"),
    ("audit programme", "mrep", f"/audits/programme/{YEAR}"),
    ("search, English", "mrep", "/search/?q=window"),
    ("search, 1 Chinese character", "mrep", "/search/?q=" + urllib.parse.quote("窗")),
    ("search, 2 Chinese characters", "mrep", "/search/?q=" + urllib.parse.quote("窗口")),
]


class Client:
    """One keep-alive connection with its session cookie."""

    def __init__(self, port: int, cookie: str | None = None):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookie = cookie

    def request(self, method: str, path: str, body: str | None = None):
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie" and value.startswith("session="):
                self.cookie = value.split(";", 1)[0]
        return response.status, data


def sign_in(port: int, username: str, password: str) -> str:
    client = Client(port)
    _status, page = client.request("GET", "/auth/login")
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
    form = {"username": username, "password": password}
    if token:
        form["csrf_token"] = token.group(1).decode()
    status, _ = client.request("POST", "/auth/login", urllib.parse.urlencode(form))
    assert status in (302, 303), (username, status)
    return client.cookie


def measure(port: int, cookie: str | None, path: str, connections: int, seconds: float):
    """Fetch ``path`` for ``seconds`` on ``connections`` connections; return the figures."""
    times, sizes, errors = [], [], []
    deadline = time.perf_counter() + seconds

    def work():
        client = Client(port, cookie)
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            status, data = client.request("GET", path)
            times.append(time.perf_counter() - start)
            sizes.append(len(data))
            if status != 200:
                errors.append(status)

    client = Client(port, cookie)
    client.request("GET", path)  # warm the workers' caches
    start = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    times.sort()
    return {
        "p50": statistics.median(times) * 1000,
        "p95": times[min(len(times) - 1, int(len(times) * 0.95))] * 1000,
        "rps": len(times) / elapsed,
        "size": statistics.median(sizes) / 1024,
        "errors": len(errors),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(scale: float, url: str | None, seconds: float) -> tuple[dict, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp) / "instance"
        fill_times = fill(instance, scale, url)
        port = free_port()
        server = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--no-control-socket",
                "--timeout",
                "120",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env_for(instance, url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(200):
                try:
                    Client(port).request("GET", "/auth/login")
                    break
                except OSError:
                    time.sleep(0.1)
            cookies = {role: sign_in(port, role, pw) for role, pw in ROLES.items()}
            results = {}
            for label, role, path in PAGES:
                results[label] = {
                    c: measure(port, cookies.get(role), path, c, seconds) for c in (1, 8)
                }
                print(label, results[label], flush=True)
        finally:
            server.terminate()
            server.wait(30)
    return fill_times, results


def table(name: str, fill_times: dict, results: dict) -> str:
    floor = {c: results["floor: login page"][c]["p50"] for c in (1, 8)}
    lines = [
        f"### {name}",
        "",
        "Fill (seconds): " + ", ".join(f"{k} {v:.1f}" for k, v in fill_times.items()),
        "",
        "| page | 1 conn p50 ms | p95 ms | req/s | × floor | 8 conn p50 ms | p95 ms | req/s "
        "| × floor | size kB | non-200 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, by in results.items():
        one, eight = by[1], by[8]
        lines.append(
            f"| {label} | {one['p50']:.1f} | {one['p95']:.1f} | {one['rps']:.0f} | "
            f"{one['p50'] / floor[1]:.1f} | {eight['p50']:.1f} | {eight['p95']:.1f} | "
            f"{eight['rps']:.0f} | {eight['p50'] / floor[8]:.1f} | {one['size']:.0f} | "
            f"{one['errors'] + eight['errors']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument(
        "--database-url",
        action="append",
        default=[],
        help="PostgreSQL URL to measure as well as SQLite (may repeat)",
    )
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    sections = []
    for url in [None, *args.database_url]:
        if url:
            # A fresh schema: the PostgreSQL database is emptied before it is filled.
            from sqlalchemy import create_engine, text

            engine = create_engine(url)
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            engine.dispose()
        name = "PostgreSQL" if url else "SQLite"
        fill_times, results = run(args.scale, url, args.seconds)
        sections.append(table(name, fill_times, results))
    header = (
        f"Machine: {platform.node()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}  \n"
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  \n"
        f"Command: `{' '.join(['bench/run.py', *sys.argv[1:]])}`  \n"
        f"Scale: {args.scale} × (6,800 documents × 8 revisions, 200,000 records, 10,000 NCs, "
        "20,000 actions, 1,000 users)  \n"
    )
    text_out = header + "\n" + "\n".join(sections)
    print(text_out)
    if args.out:
        args.out.write_text(text_out)


if __name__ == "__main__":
    main()
