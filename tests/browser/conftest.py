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
    # A missing element fails the step in seconds, not after Playwright's default half-minute.
    context.set_default_timeout(10_000)
    page = context.new_page()
    folder = ARTEFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    shots = iter(range(1, 1000))

    def shot(name: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        # The whole page, unless it is so long that the picture would only cost time.
        tall = page.evaluate("document.documentElement.scrollHeight") > 12_000
        page.screenshot(path=folder / f"{next(shots):02d}-{name}.png", full_page=not tall)

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


# -- the Chinese pages: no English word left ------------------------------------------------

# What may stay in Latin letters on a Chinese page: codes and names that are the same in
# every language (document and record numbers are removed before the words are counted).
LATIN_ANYWHERE = {
    "ISO",  # the standard's name
    "PDF",
    "DOCX",
    "XLSX",
    "CSV",
    "Markdown",
    "Word",  # the word processor, named as Chinese names it: 在 Word 中编辑
    "SHA",
    "UTC",
    "CST",
    "English",  # the language switch names each language in its own
    "QMS",
    "IT",  # as Chinese writes it: "IT 服务商"
    # units of measurement, which Chinese writes in Latin letters: 电子天平（0.1 mg）
    "mg",
    "kg",
    "mm",
    "cm",
    "km",
    "ml",
}
CODES = re.compile(
    r"\b[A-Z]{2,}(?:-[A-Z0-9]+)*-[0-9][\w./-]*"  # QP-07, RF-03-00-01/2026/000001, NC-2026-…
    r"|\b[A-Z]{2,}-\d*"  # QP- in a list of codes
    r"|\b[A-Z]{2,5}\b"  # a document type's abbreviation: 程序文件（QP）, 外来文件（EXT）
    r"|\b[A-Z]{2,}\d[\w-]*"  # case numbers: HC2026120400012
    r"|\S+\.(?:md|pdf|docx|xlsx|csv)\b"  # paths and file names
    r"|\b[0-9a-f]{7,64}\b"  # commit and blob ids
    r"|https?://\S+"
)
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z]+")


def _words(text: str) -> set[str]:
    text = CODES.sub(" ", text)
    return {w for w in LATIN_WORD.findall(text) if w not in LATIN_ANYWHERE}


def english_left(page) -> list[str]:
    """Return the English words in the visible text of ``page`` (for a Chinese page)."""
    return sorted(_words(page.locator("body").inner_text()))


def _context(page, words: list[str]) -> list[str]:
    text = " ".join(page.locator("body").inner_text().split())
    return [m.group(0) for w in words for m in re.finditer(rf".{{0,40}}\b{w}\b.{{0,40}}", text)]


def check_language(page, site) -> None:
    """Fail when a Chinese page still shows English (beyond codes and the pending lists)."""
    if site.lang.startswith("zh"):
        left = english_left(page)
        if os.environ.get("QMS_BROWSER_COLLECT"):  # while writing a journey: list, go on
            with open(os.environ["QMS_BROWSER_COLLECT"], "a") as out:
                out.write(f"{page.url}\t{left}\t{_context(page, left)[:12]}\n")
            return
        assert not left, f"English left on {page.url}: {left}"


# -- accessibility: axe-core, served from the repository ------------------------------------

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"


def axe_violations(page) -> list[dict]:
    """Run axe-core on ``page``; return its critical and serious violations."""
    # Served as if from the site, so that its Content-Security-Policy ('self') stays on.
    page.route("**/__axe__.js", lambda r: r.fulfill(path=AXE, content_type="text/javascript"))
    page.add_script_tag(url="/__axe__.js")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"][:5]],
        }
        for v in result["violations"]
        if v["impact"] in ("critical", "serious")
    ]


def no_sideways_scroll(page) -> None:
    """Fail when the page is wider than the window (it would scroll sideways)."""
    wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 1, f"{page.url} scrolls sideways by {wide}px"
