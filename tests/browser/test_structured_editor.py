"""An author revises a work specification in the structured editor: properties as fields,
the text in TOAST UI Editor's word-processor view, the front matter written for them."""

from tests.browser.conftest import check_language, sign_in


def test_an_author_revises_a_work_specification_in_the_structured_editor(page, site):
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, "author")
    page.goto("/documents/WI-07-01")
    page.locator("form[action$='/draft/open'] [type=submit]").click()
    page.wait_for_load_state()
    assert page.url.endswith("/documents/WI-07-01/edit")
    # The editor replaced the textarea, in the user's language; the properties are fields.
    page.locator(".toastui-editor-defaultUI").wait_for()
    assert page.locator("textarea[name=body]").is_hidden()
    assert page.locator("select[name=department]").count() == 1
    check_language(page, site)
    page.shot("editor")

    sentence = "Checked twice before sealing." if site.lang == "en" else "盖章前复核两次。"
    editor = page.locator(".toastui-editor-ww-container .ProseMirror")
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.type(sentence)
    page.locator("input[name=summary]").fill("Second check" if site.lang == "en" else "增加复核")
    page.shot("typed")
    page.locator("form[data-dirty-guard] [type=submit][name=submit]").click()
    page.wait_for_load_state()
    page.shot("saved")
    errors = page.locator(".alert-error, .field-error").all_inner_texts()
    assert page.locator(".alert-success").count() == 1, errors
    check_language(page, site)

    # The saved file is Markdown with the front matter the application wrote.
    page.goto("/documents/WI-07-01/edit?mode=source")
    source = page.locator("textarea[name=content]").input_value()
    assert source.startswith("---\ncode: WI-07-01\n") and sentence in source
    assert "summary: " in source and ("Second check" in source or "增加复核" in source)
