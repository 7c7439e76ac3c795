"""A staff member fills a record form with one wrong value first (the error beside the
field, nothing typed lost), then correctly, and finds the record again by its number."""

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.browser.conftest import check_language, sign_in

FORM = "RF-06-00-01"  # the customer satisfaction survey: dates, choices, numbers, text
WORDS = {
    "en": {"matter": "Business licence change", "comment": "The queue screen was easy to follow."},
    "zh_Hans": {"matter": "营业执照变更登记", "comment": "排队叫号屏幕清楚易懂。"},
}


def test_staff_fills_a_record_corrects_one_field_and_finds_it_by_number(page, site):
    words = WORDS[site.lang]
    sign_in(page, "staff")
    page.goto("/records/")
    check_language(page, site)
    page.shot("forms")
    page.locator(f"main a[href='/records/fill/{FORM}']").click()
    page.wait_for_load_state()
    check_language(page, site)

    today = datetime.now(ZoneInfo(site.env["QMS_TIMEZONE"])).date().isoformat()
    page.fill("#survey_date", today)
    page.select_option("#respondent_type", index=1)
    page.fill("#service_item", words["matter"])
    page.fill("#visits_needed", "1")
    page.select_option("#waiting_time", index=2)
    page.check("#staff_attitude-0")
    page.check("#clarity_of_information-1")
    page.fill("#score", "150")  # the wrong one: the score runs from 0 to 100
    page.fill("#suggestions", words["comment"])
    page.shot("filled-wrong")
    page.locator("main form.record-form button[value=submit]").click()
    page.wait_for_load_state()

    # The error stands beside the score, is linked from the summary, and nothing is lost.
    score = page.locator(".field:has(#score)")
    assert score.locator(".field-error").count() == 1
    assert "100" in score.locator(".field-error").inner_text()
    assert page.locator("#score").get_attribute("aria-invalid") == "true"
    assert page.locator(".error-summary a[href='#score']").count() == 1
    assert page.locator(".field-error").count() == 1
    assert page.input_value("#survey_date") == today
    assert page.input_value("#service_item") == words["matter"]
    assert page.input_value("#visits_needed") == "1"
    assert page.input_value("#score") == "150"
    assert page.input_value("#suggestions") == words["comment"]
    assert page.is_checked("#staff_attitude-0") and page.is_checked("#clarity_of_information-1")
    assert page.locator("#respondent_type").evaluate("s => s.selectedIndex") == 1
    assert page.locator("#waiting_time").evaluate("s => s.selectedIndex") == 2
    check_language(page, site)
    page.shot("error-beside-field")

    page.fill("#score", "95")
    page.locator("main form.record-form button[value=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".alert-success").count() == 1
    number = page.locator("main h1 .mono, main h1").first.inner_text().split()[0]
    assert number.startswith(f"{FORM}/")
    assert words["matter"] in page.locator("main").inner_text()
    check_language(page, site)
    page.shot("submitted")

    # Found again by its number from the search box in the header.
    page.goto("/")
    page.fill("#header-q", number)
    page.locator("form.header-search [type=submit]").click()
    page.wait_for_load_state()
    check_language(page, site)
    page.shot("search")
    page.locator(f"main a[href$='/records/{number}']").first.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/records/{number}")
    assert words["comment"] in page.locator("main").inner_text()
    check_language(page, site)
    page.shot("found")
