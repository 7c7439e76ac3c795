"""The main pages in Chromium: axe-core finds nothing critical or serious, nothing scrolls
sideways on a phone, the review's section index, and the pickers of multi-choice fields."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    DESK,
    PHONE,
    axe_violations,
    check_language,
    no_sideways_scroll,
    sign_in,
)


def first_link(page, listing: str, pattern: str) -> str:
    """Return the first link on ``listing`` whose path matches ``pattern``."""
    page.goto(listing)
    hrefs = page.locator("main a[href]").evaluate_all("a => a.map(x => x.getAttribute('href'))")
    return next(h for h in hrefs if re.fullmatch(pattern, h))


def main_pages(page, site) -> dict[str, str]:
    """The main pages (as the management representative sees them), by name."""
    query = "质量" if site.lang.startswith("zh") else "quality"
    return {
        "home and dashboard": "/",
        "register": "/documents/",
        "document": "/documents/QP-01",
        "record form": "/records/fill/RF-06-00-01",
        "NC list": "/improvement/",
        "NC": first_link(page, "/improvement/", r"/improvement/NC-[\d-]+"),
        "audit programme": "/audits/",
        "management review": first_link(page, "/reviews/", r"/reviews/MR-[\d-]+"),
        "action list": "/improvement/actions/",
        "search": f"/search/?q={query}",
        # Forms with pickers (Tom Select) for their multi-choice fields.
        "audit plan": "/audits/new",
        "change request": "/documents/change-requests/new",
    }


def test_main_pages_have_no_critical_or_serious_accessibility_violations(page, site):
    sign_in(page, "mrep")
    found = {}
    for name, path in main_pages(page, site).items():
        page.goto(path)
        assert page.locator("html").get_attribute("lang") == site.lang.replace("_", "-")
        check_language(page, site)
        violations = axe_violations(page)
        if violations:
            found[name] = violations
    assert not found, found


def test_on_a_phone_no_main_page_scrolls_sideways_and_lists_become_cards(page, site):
    page.set_viewport_size(PHONE)
    sign_in(page, "mrep")
    for name, path in main_pages(page, site).items():
        page.goto(path)
        no_sideways_scroll(page)
        page.shot(re.sub(r"\W+", "-", name))
    page.goto("/improvement/actions/")
    cards = page.locator("table.table-cards")
    if cards.count():  # the demo has actions: each row is a card, each cell labelled
        cell = cards.first.locator("tbody td[data-label]").first
        assert cell.get_attribute("data-label")
        row = cards.first.locator("tbody tr").first
        assert row.evaluate("r => getComputedStyle(r).display") == "block"
    page.set_viewport_size(DESK)
    assert page.locator("table.table-cards tbody tr").first.evaluate(
        "r => getComputedStyle(r).display"
    ) in ("table-row", "none")


def test_the_review_page_has_a_section_index_sticky_on_a_desk_folded_on_a_phone(page, site):
    sign_in(page, "mrep")
    page.goto(first_link(page, "/reviews/", r"/reviews/MR-[\d-]+"))
    index = page.locator("details.section-index")
    assert index.is_visible() and index.get_attribute("open") is not None
    assert index.evaluate("d => getComputedStyle(d).position") == "sticky"
    targets = index.locator("a[href^='#']").evaluate_all("a => a.map(x => x.hash.slice(1))")
    assert {"meeting", "next-step", "inputs", "decisions"} <= set(targets)
    assert len(targets) > 8  # every input section of §9.3.2 as well
    for target in targets:
        assert page.locator(f"[id='{target}']").count() == 1, target
    index.locator("a[href='#decisions']").click()
    assert page.evaluate("window.scrollY") > 1000
    assert index.is_visible()  # it stays beside the sections while they scroll by
    check_language(page, site)
    page.shot("desk")

    page.set_viewport_size(PHONE)
    page.reload()
    index = page.locator("details.section-index")
    assert index.get_attribute("open") is None
    index.locator("summary").click()
    index.locator("a[href='#decisions']").click()
    assert page.evaluate("window.scrollY") > 1000
    no_sideways_scroll(page)
    page.shot("phone")


@pytest.mark.parametrize("scripts", [True, False], ids=["picker", "native"])
def test_multi_choice_fields_get_a_search_picker_and_stay_native_without_scripts(
    playwright_browser, site, scripts
):
    locale = "zh-CN" if site.lang == "zh_Hans" else "en-GB"
    context = playwright_browser.new_context(
        viewport=DESK, locale=locale, base_url=site.url, java_script_enabled=scripts
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        sign_in(page, "author")
        page.goto("/documents/change-requests/new")
        select = page.locator("select[multiple][data-picker]").first
        field = select.locator("xpath=ancestor::div[contains(@class, 'field')][1]")
        hint = field.locator(".picker-native-hint")
        if not scripts:
            assert select.is_visible() and hint.is_visible()
            return
        assert not hint.is_visible()
        control = field.locator(".ts-control input")
        # The field's label names the picker's text box.
        label_for = field.locator("label").first.get_attribute("for")
        assert label_for == control.get_attribute("id")
        option = select.locator("option").nth(2)
        value, text = option.get_attribute("value"), option.inner_text()
        control.click()
        page.keyboard.type(value)
        shown = field.locator(".ts-dropdown .option:visible")
        # The list narrows as one types (Tom Select filters on the next frame).
        expect(shown.filter(has_not_text=value)).to_have_count(0)
        assert shown.count() >= 1
        shown.first.click()
        assert select.evaluate("s => [...s.selectedOptions].map(o => o.value)") == [value]
        assert control.input_value() == ""  # ready to search for the next one
        assert text.split()[0] in field.locator(".ts-control .item").first.inner_text()
    finally:
        context.close()
