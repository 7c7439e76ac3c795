"""The management representative approves a procedure in review and releases it for
tomorrow; when the day comes (the daily due-release job run for that date) it is effective."""

from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from tests.browser.conftest import check_language, sign_in


def office_today(site):
    """Return the site's date today in the office's time zone."""
    return datetime.now(ZoneInfo(site.env["QMS_TIMEZONE"])).date()


def test_representative_approves_and_releases_a_procedure_for_tomorrow(page, site):
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, "mrep")
    check_language(page, site)
    page.shot("home")

    # Home: the revision waiting for approval, with its redline beside it.
    waiting = page.locator("main li:has(a[href*='/diff'])").first
    link = waiting.locator("a[href^='/documents/']:not([href*='/diff'])").first
    code = link.get_attribute("href").rsplit("/", 1)[-1]
    redline = waiting.locator("a[href*='/diff']")
    label = parse_qs(urlsplit(redline.get_attribute("href")).query)["to"][0]
    redline.click()
    page.wait_for_load_state()
    assert "/diff" in page.url
    assert page.locator(".redline .rl-ins, .redline ins").count() > 0
    check_language(page, site)
    page.shot("redline")

    page.goto(f"/documents/{code}")
    approve = page.locator("form[action$='/approve']")
    # A wrong password signs nothing and says so.
    approve.locator("input[type=password]").fill("not-my-password")
    approve.locator("[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".alert-error").count() == 1
    assert page.locator("form[action$='/approve']").count() == 1
    check_language(page, site)
    page.shot("wrong-password")

    page.locator("form[action$='/approve'] input[type=password]").fill("mrep-demo")
    page.locator("form[action$='/approve'] [type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".alert-success").count() == 1
    assert page.locator("form[action$='/release']").count() == 1
    check_language(page, site)
    page.shot("approved")

    tomorrow = office_today(site) + timedelta(days=1)
    release = page.locator("form[action$='/release']")
    release.locator("input[type=date]").fill(tomorrow.isoformat())
    release.locator("[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".badge-scheduled").count() >= 1
    assert tomorrow.isoformat() in page.locator("main").inner_text()
    check_language(page, site)
    page.shot("scheduled")

    # Today it stays scheduled; the worker's daily job on tomorrow's date makes it effective.
    assert code not in site.cli("release-due").stdout
    done = site.cli("release-due", "--date", tomorrow.isoformat())
    assert done.returncode == 0 and code in done.stdout, done.stderr
    page.reload()
    assert page.locator(".badge-scheduled").count() == 0
    assert page.locator(".badge-effective").count() >= 1
    facts = page.locator("main dl.kv").first.locator("dd")
    # The document's facts: type, parent, owner, concerned, clauses, revision, effective date.
    assert facts.nth(5).inner_text().strip() == label
    assert facts.nth(6).inner_text().strip() == tomorrow.isoformat()
    check_language(page, site)
    page.shot("effective")
