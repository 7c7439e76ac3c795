"""An internal auditor, on a phone, plans an audit, works three checklist questions, grades
one as a minor nonconformity, and finds that NC with every link on its page working."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.browser.conftest import PHONE, check_language, no_sideways_scroll, sign_in

WORDS = {
    "en": {
        "title": "Service hall walk-through",
        "department": "Service Hall",
        "evidence": "Queue numbers and waiting times checked at windows 3 and 4.",
        "finding": "The window 5 log of missing-material notices was not kept for 14 March.",
    },
    "zh_Hans": {
        "title": "服务大厅现场审核",
        "department": "政务服务大厅",
        "evidence": "抽查了三号、四号窗口的排队号和等候时间。",
        "finding": "五号窗口三月十四日的一次性告知登记未保存。",
    },
}


@pytest.fixture
def phone(page):
    page.set_viewport_size(PHONE)
    return page


def choose(page, field_id: str, text: str) -> None:
    """Pick ``text`` in the searchable picker of ``field_id`` by typing part of it."""
    page.locator(f"#{field_id}-ts-control").click()
    page.keyboard.type(text[:3])
    page.locator(f"#{field_id}-ts-dropdown .option", has_text=text).first.click()
    page.keyboard.press("Escape")


def test_auditor_plans_works_three_questions_on_a_phone_and_finds_the_nc(phone, site):
    page, words = phone, WORDS[site.lang]
    sign_in(page, "auditor")
    page.goto("/audits/")
    no_sideways_scroll(page)
    check_language(page, site)
    page.shot("audits")

    page.locator("main a[href$='/audits/new']").first.click()
    page.wait_for_load_state()
    no_sideways_scroll(page)
    check_language(page, site)
    page.fill("#title", words["title"])
    # The picker searches the departments; the native list behind it gets the choice.
    choose(page, "departments", words["department"])
    page.fill("#clauses", "8.5.1, 7.5")
    today = datetime.now(ZoneInfo(site.env["QMS_TIMEZONE"])).date()
    page.fill("#planned_start", today.isoformat())
    page.fill("#planned_end", (today + timedelta(days=1)).isoformat())
    assert page.locator("#departments option:checked").count() == 1
    page.shot("plan")
    page.locator("main form [name=submit]").click()
    page.wait_for_load_state()
    assert "/audits/new" not in page.url, page.locator(".error-summary").all_inner_texts()
    ref = page.url.rstrip("/").rsplit("/", 1)[-1]
    no_sideways_scroll(page)
    check_language(page, site)
    page.shot("planned")

    page.locator("form[action$='/transition'] [type=submit]").first.click()
    page.wait_for_load_state()
    page.locator(f"main a[href$='/audits/{ref}/checklist']").click()
    page.wait_for_load_state()
    assert "/checklist/" in page.url

    for n, result in enumerate(["conforming", "conforming", "minor_nc"], start=1):
        no_sideways_scroll(page)
        check_language(page, site)
        page.locator(f"label.result-tile.r-{result}").click()
        finding = result != "conforming"
        page.fill("textarea[name=evidence]", words["finding" if finding else "evidence"])
        if finding:
            page.locator("details.nc-extra > summary").click()
            page.locator("select[name=responsible]").select_option(index=1)
            page.fill("input[name=due_date]", (today + timedelta(days=30)).isoformat())
        page.shot(f"question-{n}")
        page.locator("form [name=submit]").click()
        page.wait_for_load_state()
        assert page.locator(".error-summary").count() == 0
    page.goto(f"/audits/{ref}")
    finding_link = page.locator("main a[href^='/improvement/NC-']").first
    number = finding_link.inner_text().strip()
    no_sideways_scroll(page)
    check_language(page, site)
    page.shot("audit-findings")

    # The NC list finds it, and its page links back to the audit and the question.
    page.goto("/improvement/")
    page.locator(f"main a[href='/improvement/{number}']").first.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/improvement/{number}")
    main = page.locator("main")
    assert main.locator(f"a[href*='/audits/{ref}']").count() >= 1
    assert words["finding"] in main.inner_text()
    no_sideways_scroll(page)
    check_language(page, site)
    page.shot("nc")
    # Every link on the NC's page leads somewhere (the audit, its question, the documents…).
    hrefs = main.locator("a[href]").evaluate_all("links => links.map(a => a.href)")
    own = sorted({h.split("#")[0] for h in hrefs if h.startswith(site.url)})
    assert own
    broken = [(h, s) for h in own if (s := page.request.get(h).status) >= 400]
    assert not broken, broken
