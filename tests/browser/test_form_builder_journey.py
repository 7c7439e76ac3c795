"""An author builds a record form with the form builder (labels in Chinese, options, a
"required when" rule and a computed field), it is approved and released, and a staff
member fills it in Chinese: the rule is enforced beside its field, the days computed."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.browser.conftest import check_language, sign_in

CODE = "RF-07-09-01"
#: What the author types: the label in the site's own language and the other one.
WORDS = {
    "en": {"title": "Window quality check", "own": "en", "other": "zh_Hans"},
    "zh_Hans": {"title": "窗口质量检查记录", "own": "zh_Hans", "other": "en"},
}
LABELS = {
    "result": {"en": "Result", "zh_Hans": "检查结果"},
    "remark": {"en": "Problem found", "zh_Hans": "发现的问题"},
    "received_on": {"en": "Received on", "zh_Hans": "受理日期"},
    "checked_on": {"en": "Checked on", "zh_Hans": "检查日期"},
    "days": {"en": "Days taken", "zh_Hans": "用时（天）"},
}
OPTIONS = [("pass", "Pass", "合格"), ("fail", "Fail", "不合格")]


def label_fields(words: dict, key: str) -> dict:
    """Return the builder's label inputs for ``key`` and what goes in each."""
    own, other = words["own"], words["other"]
    return {"label": LABELS[key][own], f"label_{other}": LABELS[key][other]}


def click(page, value: str) -> None:
    page.locator(f"main form.form-builder button[value='{value}']").last.click()
    page.wait_for_load_state()


def add_field(page, n: int, key: str, kind: str, words: dict, required: bool = False) -> None:
    click(page, "add_field")
    page.fill(f"#rows-{n}-key", key)
    page.select_option(f"#rows-{n}-type", kind)
    for name, text in label_fields(words, key).items():
        page.fill(f"#rows-{n}-{name}", text)
    if required:
        page.check(f"#rows-{n}-required")


def rules_of(page, n: int):
    details = page.locator(f"#field-{n} details.builder-rules")
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    return details


def test_author_builds_a_form_it_is_released_and_staff_fill_it_in_chinese(page, site):
    words = WORDS[site.lang]
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, "author")

    # A new record form in the register; its draft editor links to the builder.
    page.goto("/documents/new")
    page.fill("#code", CODE)
    page.fill("#title", words["title"])
    page.select_option("#doc_type", "record_form")
    page.locator("main form[action$='/documents/new'] [type=submit]").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/documents/{CODE}/edit")
    page.shot("new-form-draft")
    page.locator(f"main a[href='/records/builder/{CODE}']").click()
    page.wait_for_load_state()
    check_language(page, site)
    page.shot("builder-empty")

    # The result, with two options labelled in both languages.
    add_field(page, 0, "result", "radio", words, required=True)
    for number, (value, english, chinese) in enumerate(OPTIONS):
        click(page, "add_option:0")
        page.fill(f"#rows-0-options-{number}-value", value)
        own = english if words["own"] == "en" else chinese
        other = chinese if words["own"] == "en" else english
        page.fill(f"#rows-0-options-{number}-label", own)
        page.fill(f"#rows-0-options-{number}-label_{words['other']}", other)
    # A problem description required unless the result is a pass.
    add_field(page, 1, "remark", "textarea", words)
    rules_of(page, 1)
    page.fill("#rows-1-rw_field", "result")
    page.select_option("#rows-1-rw_op", "not_in")
    page.fill("#rows-1-rw_values", "pass")
    # Two dates and the days between them, computed by the server.
    add_field(page, 2, "received_on", "date", words, required=True)
    add_field(page, 3, "checked_on", "date", words, required=True)
    add_field(page, 4, "days", "integer", words)
    rules_of(page, 4)
    page.fill("#rows-4-computed", "checked_on - received_of")  # a typo: no such field
    page.shot("builder-filled")
    click(page, "save")

    # Refused like a hand-edited draft, naming the field; nothing typed is lost.
    assert page.locator(".error-summary").count() == 1
    assert "received_of" in page.locator("#field-4 .field-error").inner_text()
    assert page.input_value("#rows-0-options-1-value") == "fail"
    assert (
        page.input_value(f"#rows-2-label_{words['other']}") == LABELS["received_on"][words["other"]]
    )
    # (No language check here: the message quotes the keys the author typed, in Latin.)
    page.shot("builder-refused")
    rules_of(page, 4)
    page.fill("#rows-4-computed", "checked_on - received_on")

    # The problem description goes last: three moves down.
    for n in (1, 2, 3):
        click(page, f"down:{n}")
    assert page.input_value("#rows-4-key") == "remark"
    assert page.input_value("#rows-1-key") == "received_on"
    page.shot("builder-reordered")
    click(page, "save")
    assert page.url.endswith(f"/documents/{CODE}/edit")
    assert page.locator(".alert-success").count() == 1
    preview = page.locator(".form-preview")
    assert LABELS["days"][words["own"]] in preview.inner_text()
    page.shot("draft-with-fields")

    # Summary, submission for review.
    page.fill("#summary", "首次发布" if site.lang == "zh_Hans" else "First issue")
    page.locator("main input[name=submit]").click()
    page.wait_for_load_state()
    page.goto(f"/documents/{CODE}")
    page.locator("main form[action$='/submit'] [type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".alert-success").count() == 1
    page.shot("submitted-for-review")

    # The management representative approves and releases it today.
    page.context.clear_cookies()
    sign_in(page, "mrep")
    page.goto(f"/documents/{CODE}")
    page.locator("form[action$='/approve'] input[type=password]").fill("mrep-demo")
    page.locator("form[action$='/approve'] [type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".alert-success").count() == 1
    today = datetime.now(ZoneInfo(site.env["QMS_TIMEZONE"])).date()
    page.locator("form[action$='/release'] input[type=date]").fill(today.isoformat())
    page.locator("form[action$='/release'] [type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".badge-effective").count() >= 1
    page.shot("released")

    # Staff fill it in Chinese: Chinese labels and options, the rule beside its field.
    page.context.clear_cookies()
    sign_in(page, "staff")
    if site.lang != "zh_Hans":
        page.locator("form[action='/language/zh_Hans'] button").click()
        page.wait_for_load_state()
    page.goto(f"/records/fill/{CODE}")
    form = page.locator("main form.record-form")
    text = form.inner_text()
    for key in LABELS:
        assert LABELS[key]["zh_Hans"] in text, key
    assert "合格" in text and "不合格" in text and "Pass" not in text
    assert page.locator("#days").get_attribute("readonly") is not None
    check_language(page, site)
    page.shot("fill-in-chinese")

    page.fill("#received_on", (today - timedelta(days=3)).isoformat())
    page.fill("#checked_on", today.isoformat())
    page.check("#result-1")  # 不合格: the problem must be described
    form.locator("button[value=submit]").click()
    page.wait_for_load_state()
    remark = page.locator(".field:has(#remark)")
    assert remark.locator(".field-error").count() == 1
    assert LABELS["result"]["zh_Hans"] in remark.locator(".field-error").inner_text()
    assert page.input_value("#checked_on") == today.isoformat()
    assert page.is_checked("#result-1")
    check_language(page, site)
    page.shot("rule-beside-field")

    page.fill("#remark", "叫号屏幕未显示窗口号。")
    page.locator("main form.record-form button[value=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".alert-success").count() == 1
    main = page.locator("main").inner_text()
    assert "不合格" in main and "叫号屏幕未显示窗口号。" in main
    values = page.locator("dl.record-values")
    days = values.locator(f"dt:has-text('{LABELS['days']['zh_Hans']}') + dd").inner_text()
    assert days.strip() == "3"
    check_language(page, site)
    page.shot("record-submitted")
