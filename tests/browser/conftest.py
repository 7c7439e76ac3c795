"""Browser journeys: Debian's Chromium, driven by Playwright, against the real server.

Each language gets one demo instance served by gunicorn with its job worker. Without a
Chromium or without Playwright the tests skip and say which is missing. Screenshots are
kept under ``test-artefacts/screenshots/<test>/`` (``QMS_ARTEFACTS`` moves them).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from qms import ROOT
from tests.faults_helpers import Server, cli, free_port, server_env

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTEFACTS = Path(os.environ.get("QMS_ARTEFACTS", ROOT / "test-artefacts")) / "screenshots"
DEMO_PASSWORDS = {
    "admin": "admin-demo",
    "mrep": "mrep-demo",
    "author": "author-demo",
    "auditor": "auditor-demo",
    "staff": "staff-demo",
}
DESK, PHONE = {"width": 1366, "height": 900}, {"width": 390, "height": 844}

pytestmark = pytest.mark.slow


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def playwright_browser():
    if CHROMIUM is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed (pip install playwright)"
    )
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


class Site:
    """A demo instance in one language, served by gunicorn and the job worker."""

    def __init__(self, root: Path, lang: str):
        self.lang, self.instance = lang, root / "instance"
        self.env = server_env(self.instance, "browser-secret")
        self.env["QMS_LANG"] = lang
        if lang.startswith("zh"):
            self.env["QMS_TIMEZONE"] = "Asia/Shanghai"
        done = cli(self.env, "init", "--demo", "--lang", lang, timeout=600)
        assert done.returncode == 0, done.stderr
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (root / "logs").mkdir()
        self.server = Server(self.env, self.port, root / "logs", with_worker=True)
        self.server.start(timeout=60)

    def cli(self, *args: str):
        return cli(self.env, *args)


@pytest.fixture(scope="session", params=["en", "zh_Hans"])
def site(request, tmp_path_factory, playwright_browser):
    """The demo served in English, then in Simplified Chinese."""
    served = Site(tmp_path_factory.mktemp(f"site-{request.param}"), request.param)
    yield served
    served.server.stop()


@pytest.fixture
def page(playwright_browser, site, request):
    """A fresh browser context at desk size in the site's language; ``page.shot(name)``."""
    locale = "zh-CN" if site.lang == "zh_Hans" else "en-GB"
    context = playwright_browser.new_context(viewport=DESK, locale=locale, base_url=site.url)
    page = context.new_page()
    folder = ARTEFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    shots = iter(range(1, 1000))

    def shot(name: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=folder / f"{next(shots):02d}-{name}.png", full_page=True)

    page.shot = shot
    yield page
    context.close()


def sign_in(page, username: str) -> None:
    """Sign in through the login form as a demo user."""
    page.goto("/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORDS[username])
    page.locator("main form[action$='/auth/login'] [type=submit]").click()
    page.wait_for_load_state()
